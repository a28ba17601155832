package app

import (
	"encoding/csv"
	"net/http"
	"strings"
)

// Customer is a customer account.
type Customer struct {
	ID       string
	Name     string
	Email    string
	Balance  int64 // cents
	Currency string
	Status   string // Active, Suspended, Past due
}

func (s *store) findCustomer(id string) *Customer {
	for _, c := range s.customers {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// customer returns the customer; ENOTFOUND if there is none.
func (s *store) customer(id string) (Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findCustomer(id)
	if c == nil {
		return Customer{}, errorf(ENOTFOUND, "Customer %q not found.", id)
	}
	return *c, nil
}

// searchCustomers returns the customers whose id, name or email contains
// q, case-insensitively; all of them for an empty q.
func (s *store) searchCustomers(q string) []Customer {
	q = strings.ToLower(strings.TrimSpace(q))
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Customer
	for _, c := range s.customers {
		hay := strings.ToLower(c.ID + "\x00" + c.Name + "\x00" + c.Email)
		if strings.Contains(hay, q) {
			out = append(out, *c)
		}
	}
	return out
}

type customersData struct {
	Query     string
	Customers []Customer
	CanExport bool
}

func (a *App) getCustomers(w http.ResponseWriter, r *http.Request, me User) error {
	q := r.URL.Query().Get("q")
	d := customersData{Query: q, Customers: a.store.searchCustomers(q), CanExport: me.Can(PermExport)}
	return a.render(w, http.StatusOK, "customers", page{Title: "Customers", Nav: "customers", User: &me, Data: d})
}

type customerData struct {
	Customer     Customer
	Transactions []Transaction
	CanRefund    bool
}

func (a *App) getCustomer(w http.ResponseWriter, r *http.Request, me User) error {
	c, err := a.store.customer(r.PathValue("id"))
	if err != nil {
		return err
	}
	d := customerData{Customer: c, Transactions: a.store.transactionsOf(c.ID), CanRefund: me.Can(PermRefunds)}
	return a.render(w, http.StatusOK, "customer", page{Title: c.Name, Nav: "customers", User: &me, Data: d})
}

func (a *App) exportCustomers(w http.ResponseWriter, r *http.Request, me User) error {
	if !me.Can(PermExport) {
		return errorf(EFORBIDDEN, "You need the Export data permission to export customers.")
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="customers.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "name", "email", "balance", "currency", "status"})
	for _, c := range a.store.searchCustomers("") {
		cw.Write([]string{c.ID, c.Name, c.Email, formatAmount(c.Balance), c.Currency, c.Status})
	}
	cw.Flush()
	return cw.Error()
}
