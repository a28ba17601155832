package app

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Transaction kinds and statuses.
const (
	KindPayment = "Payment"
	KindRefund  = "Refund"

	StatusPending   = "Pending"
	StatusCompleted = "Completed"
)

// maxReason is the longest refund reason accepted, in bytes.
const maxReason = 500

// Transaction is a payment (an order) or a refund against one.
type Transaction struct {
	ID          string // T-2001 for payments, R-1001 for refunds
	Kind        string
	CustomerID  string
	OrderID     string // refunds: the payment refunded
	Description string
	Amount      int64 // cents
	Currency    string
	Refunded    int64 // payments: cents refunded so far, pending included
	Status      string
	Reason      string
	CreatedBy   string
	CreatedAt   time.Time
	Events      []Event
}

// Refundable returns the cents that can still be refunded on a payment.
func (t Transaction) Refundable() int64 {
	if t.Kind != KindPayment || t.Status != StatusCompleted {
		return 0
	}
	return t.Amount - t.Refunded
}

// Event is a line of a transaction's timeline.
type Event struct {
	At    time.Time
	Actor string
	Text  string
}

func (t *Transaction) clone() Transaction {
	c := *t
	c.Events = slices.Clone(t.Events)
	return c
}

// settle completes t if it is a pending refund older than settleAfter.
// The caller holds s.mu.
func (s *store) settle(t *Transaction) {
	if t.Kind != KindRefund || t.Status != StatusPending || s.settleAfter < 0 {
		return
	}
	at := t.CreatedAt.Add(s.settleAfter)
	if s.now().Before(at) {
		return
	}
	t.Status = StatusCompleted
	t.Events = append(t.Events, Event{At: at, Actor: "payouts", Text: "Refund settled automatically; status Completed"})
}

func (s *store) findTxn(id string) *Transaction {
	for _, t := range s.txns {
		if t.ID == id {
			s.settle(t)
			return t
		}
	}
	return nil
}

// transaction returns the transaction; ENOTFOUND if there is none.
func (s *store) transaction(id string) (Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findTxn(id)
	if t == nil {
		return Transaction{}, errorf(ENOTFOUND, "Transaction %q not found.", id)
	}
	return t.clone(), nil
}

// transactionsOf returns the customer's transactions, newest first.
func (s *store) transactionsOf(customer string) []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Transaction
	for _, t := range slices.Backward(s.txns) {
		if t.CustomerID == customer {
			s.settle(t)
			out = append(out, t.clone())
		}
	}
	return out
}

// refunds returns all refunds, newest first.
func (s *store) refunds() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Transaction
	for _, t := range slices.Backward(s.txns) {
		if t.Kind == KindRefund {
			s.settle(t)
			out = append(out, t.clone())
		}
	}
	return out
}

// RefundRequest is a submitted refund form.
type RefundRequest struct {
	CustomerID string
	OrderID    string
	Amount     string
	Currency   string
	Reason     string
	Confirm    bool
}

// FieldErrors maps a form field name to its error message.
type FieldErrors map[string]string

// createRefund validates req and records a Pending refund. Invalid input
// yields FieldErrors and no refund; ENOTFOUND if the customer is unknown.
func (s *store) createRefund(actor string, req RefundRequest) (Transaction, FieldErrors, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findCustomer(req.CustomerID) == nil {
		return Transaction{}, nil, errorf(ENOTFOUND, "Customer %q not found.", req.CustomerID)
	}
	errs := FieldErrors{}
	order := s.findTxn(req.OrderID)
	if order == nil || order.CustomerID != req.CustomerID || order.Kind != KindPayment {
		errs["order"] = "Choose an order of this customer."
	}
	cents, ok := parseAmount(req.Amount)
	switch {
	case !ok:
		errs["amount"] = "Enter an amount such as 25.00."
	case cents <= 0:
		errs["amount"] = "Amount must be greater than 0."
	case order != nil && errs["order"] == "" && cents > order.Refundable():
		errs["amount"] = "Amount exceeds the refundable " + formatMoney(order.Refundable(), order.Currency) + " on order " + order.ID + "."
	}
	switch {
	case !slices.Contains(currencies, req.Currency):
		errs["currency"] = "Choose a currency."
	case order != nil && errs["order"] == "" && req.Currency != order.Currency:
		errs["currency"] = "Currency must match the order (" + order.Currency + ")."
	}
	reason := strings.TrimSpace(req.Reason)
	switch {
	case reason == "":
		errs["reason"] = "A reason is required."
	case len(reason) > maxReason:
		errs["reason"] = "Keep the reason under 500 characters."
	}
	if !req.Confirm {
		errs["confirm"] = "Confirm that this refund complies with policy."
	}
	if len(errs) > 0 {
		return Transaction{}, errs, nil
	}
	now := s.now()
	t := &Transaction{
		ID: "R-" + itoa(s.nextRefund), Kind: KindRefund, CustomerID: req.CustomerID, OrderID: order.ID,
		Description: "Refund of " + order.ID, Amount: cents, Currency: order.Currency,
		Status: StatusPending, Reason: reason, CreatedBy: actor, CreatedAt: now,
		Events: []Event{{At: now, Actor: actor, Text: "Refund submitted; status Pending"}},
	}
	s.nextRefund++
	order.Refunded += cents
	s.txns = append(s.txns, t)
	return t.clone(), nil, nil
}

// approve completes a pending refund. Returns ENOTFOUND if there is no
// such transaction and EINVALID if it is not a pending refund.
func (s *store) approve(actor, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findTxn(id)
	if t == nil {
		return errorf(ENOTFOUND, "Transaction %q not found.", id)
	}
	if t.Kind != KindRefund || t.Status != StatusPending {
		return errorf(EINVALID, "Transaction %s is not a pending refund.", id)
	}
	t.Status = StatusCompleted
	t.Events = append(t.Events, Event{At: s.now(), Actor: actor, Text: "Refund approved; status Completed"})
	return nil
}

type refundFormData struct {
	Customer   Customer
	Orders     []Transaction // refundable payments
	Currencies []string
	Form       RefundRequest
	Errors     FieldErrors
}

func (a *App) refundForm(c Customer, form RefundRequest, errs FieldErrors) refundFormData {
	var orders []Transaction
	for _, t := range a.store.transactionsOf(c.ID) {
		if t.Refundable() > 0 {
			orders = append(orders, t)
		}
	}
	if form.OrderID == "" && len(orders) > 0 {
		form.OrderID = orders[0].ID
	}
	if form.Currency == "" {
		form.Currency = c.Currency
	}
	return refundFormData{Customer: c, Orders: orders, Currencies: currencies, Form: form, Errors: errs}
}

func (a *App) getRefundForm(w http.ResponseWriter, r *http.Request, me User) error {
	if !me.Can(PermRefunds) {
		return errorf(EFORBIDDEN, "You need the Issue refunds permission to refund customers.")
	}
	c, err := a.store.customer(r.PathValue("id"))
	if err != nil {
		return err
	}
	d := a.refundForm(c, RefundRequest{OrderID: r.URL.Query().Get("order")}, nil)
	return a.render(w, http.StatusOK, "refund", page{Title: "Refund · " + c.Name, Nav: "customers", User: &me, Data: d})
}

func (a *App) postRefund(w http.ResponseWriter, r *http.Request, me User) error {
	if !me.Can(PermRefunds) {
		return errorf(EFORBIDDEN, "You need the Issue refunds permission to refund customers.")
	}
	req := RefundRequest{
		CustomerID: r.PathValue("id"), OrderID: r.PostFormValue("order"), Amount: r.PostFormValue("amount"),
		Currency: r.PostFormValue("currency"), Reason: r.PostFormValue("reason"), Confirm: r.PostFormValue("confirm") != "",
	}
	t, errs, err := a.store.createRefund(me.Username, req)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		c, err := a.store.customer(req.CustomerID)
		if err != nil {
			return err
		}
		d := a.refundForm(c, req, errs)
		return a.render(w, http.StatusUnprocessableEntity, "refund", page{Title: "Refund · " + c.Name, Nav: "customers", User: &me, Data: d})
	}
	a.log.Info("refund submitted", "actor", me.Username, "refund", t.ID, "amount", t.Amount)
	http.Redirect(w, r, "/refunds/"+t.ID+"/confirmation", http.StatusSeeOther)
	return nil
}

type txnData struct {
	Txn        Transaction
	Customer   Customer
	CanApprove bool
	AutoSettle bool
}

func (a *App) txnData(id string, me User) (txnData, error) {
	t, err := a.store.transaction(id)
	if err != nil {
		return txnData{}, err
	}
	c, err := a.store.customer(t.CustomerID)
	if err != nil {
		return txnData{}, err
	}
	return txnData{Txn: t, Customer: c, CanApprove: me.Can(PermApproveRefunds), AutoSettle: a.cfg.SettleAfter > 0}, nil
}

func (a *App) getConfirmation(w http.ResponseWriter, r *http.Request, me User) error {
	d, err := a.txnData(r.PathValue("id"), me)
	if err != nil {
		return err
	}
	if d.Txn.Kind != KindRefund {
		return errorf(ENOTFOUND, "Refund %q not found.", d.Txn.ID)
	}
	return a.render(w, http.StatusOK, "confirmation", page{Title: "Refund " + d.Txn.ID + " submitted", Nav: "refunds", User: &me, Data: d})
}

func (a *App) getTransaction(w http.ResponseWriter, r *http.Request, me User) error {
	d, err := a.txnData(r.PathValue("id"), me)
	if err != nil {
		return err
	}
	p := page{Title: "Transaction " + d.Txn.ID, Nav: "refunds", User: &me, Data: d}
	if d.Txn.Status == StatusPending && d.AutoSettle {
		p.Refresh = 1
	}
	return a.render(w, http.StatusOK, "transaction", p)
}

func (a *App) postApprove(w http.ResponseWriter, r *http.Request, me User) error {
	if !me.Can(PermApproveRefunds) {
		return errorf(EFORBIDDEN, "You need the Approve refunds permission to approve refunds.")
	}
	id := r.PathValue("id")
	if err := a.store.approve(me.Username, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/transactions/"+id, http.StatusSeeOther)
	return nil
}

func (a *App) getRefunds(w http.ResponseWriter, r *http.Request, me User) error {
	return a.render(w, http.StatusOK, "refunds", page{Title: "Refunds", Nav: "refunds", User: &me, Data: a.store.refunds()})
}
