package scenario

import (
	"context"
	"fmt"
	"regexp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// The refund the refund agent issues: part of Globex's API overage order.
const (
	refundCustomer = "C-1002"
	refundOrder    = "T-2005"
	refundAmount   = "45.00"
	refundCurrency = "USD"
	refundReason   = "API overage billed during the 2026-11-03 outage (incident INC-4471); customer ticket #88123."
	refundPolicy   = "Refund policy RP-3: service credits for outage-related overage up to 100.00 USD need no human approval."
)

// RefundAgent is the refund agent's identity.
var RefundAgent = auditshot.Agent{ID: "refund-bot", Name: "Acme refund agent", Model: "claude-sonnet-4",
	Version: "1.4.0", CodeRef: "github.com/auditshot/auditshot/examples/agents/refund"}

var refundPath = regexp.MustCompile(`/refunds/([A-Za-z0-9-]+)/confirmation`)

// Refund issues a refund of 45.00 USD on order T-2005 of customer C-1002
// as the app user refund-bot and records it in a "process_refund" run: a
// screenshot of the customer before; the flow, recorded as video, that
// signs in, fills and submits the refund form, reaches the confirmation
// and waits on the transaction page until the refund has settled; a
// refund_approved action with the amount and the agent's reasoning; and a
// screenshot of the settled transaction after.
func Refund(ctx context.Context, c *client.Client, cfg Config) (*Result, error) {
	a, err := newAgent(c, cfg, "refund", "refund-bot", RefundAgent)
	if err != nil {
		return nil, err
	}
	if err := a.signIn(ctx); err != nil {
		return nil, err
	}
	req := client.RunRequest{Workflow: "process_refund", Principal: "support-queue:ticket-88123",
		Subject: "customer:" + refundCustomer, Labels: map[string]string{"order": refundOrder, "policy": "RP-3"}}
	return a.do(ctx, req, func(ctx context.Context) error {
		before, err := a.screenshot(ctx, "customer_before", auditshot.RoleBefore, "/customers/"+refundCustomer,
			auditshot.CaptureOptions{WaitFor: "#transactions", FullPage: true})
		if err != nil {
			return err
		}
		steps := append(a.signInSteps("#refund-form"),
			auditshot.Step{Action: auditshot.ActionSelect, Selector: "#order", Value: refundOrder},
			auditshot.Step{Action: auditshot.ActionFill, Selector: "#amount", Value: refundAmount},
			auditshot.Step{Action: auditshot.ActionSelect, Selector: "#currency", Value: refundCurrency},
			auditshot.Step{Action: auditshot.ActionFill, Selector: "#reason", Value: refundReason},
			auditshot.Step{Action: auditshot.ActionCheck, Selector: "#confirm"},
			auditshot.Step{Action: auditshot.ActionScreenshot, Name: "refund_form"},
			auditshot.Step{Action: auditshot.ActionClick, Selector: "#submit-refund"},
			// A click does not wait for the navigation it starts.
			auditshot.Step{Action: auditshot.ActionWaitFor, URL: "/confirmation"},
			auditshot.Step{Action: auditshot.ActionAssertText, Selector: "#confirmation-title", Text: "submitted"},
			auditshot.Step{Action: auditshot.ActionScreenshot, Name: "refund_submitted"},
			auditshot.Step{Action: auditshot.ActionClick, Selector: "#view-transaction"},
			auditshot.Step{Action: auditshot.ActionWaitFor, URL: "/transactions/"},
			// The page reloads every second while the refund is Pending.
			auditshot.Step{Action: auditshot.ActionWaitFor, Selector: "#status[data-status=Completed]", Timeout: 30_000},
			auditshot.Step{Action: auditshot.ActionScreenshot, Name: "refund_settled"},
		)
		flow, err := a.sequence(ctx, "refund_submission", "/customers/"+refundCustomer+"/refund?order="+refundOrder, true, steps)
		if err != nil {
			return err
		}
		st, ok := findStep(flow, auditshot.ActionWaitFor, "/confirmation")
		m := refundPath.FindStringSubmatch(st.URL)
		if !ok || m == nil {
			return fmt.Errorf("flow refund_submission: no refund id in the confirmation's URL %q", st.URL)
		}
		a.res.RefundID = m[1]
		if _, err := a.event(ctx, client.EventRequest{Type: auditshot.EventAction, Name: "refund_approved",
			Data: map[string]any{"customer": refundCustomer, "order": refundOrder, "refund": a.res.RefundID,
				"amount": refundAmount, "currency": refundCurrency, "status": "Completed", "policy": "RP-3"},
			Reasoning: "Globex was billed for API overage caused by our outage (" + refundReason + ") " + refundPolicy +
				" Refunded the overage share of order " + refundOrder + " and confirmed the transaction settled.",
			Artifacts: append(artifacts(before), videoRef(flow)...)}); err != nil {
			return err
		}
		_, err = a.screenshot(ctx, "transaction_after", auditshot.RoleAfter, "/transactions/"+a.res.RefundID,
			auditshot.CaptureOptions{WaitFor: "#status[data-status=Completed]", FullPage: true})
		return err
	})
}
