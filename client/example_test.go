package client_test

import (
	"context"
	"log"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// The seed flow: a named screenshot, then a refund run with before and
// after screenshots and the action between them, checked offline against
// the operator's pinned log key.
func ExampleClient_Do() {
	ctx := context.Background()
	c, err := client.New(client.Config{
		BaseURL: "http://127.0.0.1:8080",
		APIKey:  "ask_...",
		// The log's verifier key, from the operator (auditshot-data/log.pub).
		TrustedKeys: []string{"auditshot+1234abcd+AUz..."},
		Origin:      "auditshot/default",
	})
	if err != nil {
		log.Fatal(err)
	}
	page := "https://shop.example.com/orders/1042"
	if _, err := c.Screenshot(ctx, client.ScreenshotRequest{
		CaptureOptions: auditshot.CaptureOptions{URL: page}, Name: "refund_start"}); err != nil {
		log.Fatal(err)
	}

	var runID string
	err = c.Do(ctx, client.RunRequest{Workflow: "process_refund", Subject: "customer-42",
		Agent: auditshot.Agent{ID: "refund-bot", Model: "claude-sonnet-4", Version: "1.2.0"}},
		func(ctx context.Context, run *client.Run) error {
			runID = run.ID
			before, err := run.Screenshot(ctx, client.ScreenshotRequest{
				CaptureOptions: auditshot.CaptureOptions{URL: page}, Role: auditshot.RoleBefore})
			if err != nil {
				return err
			}
			// Amounts as strings: the ledger takes integers only.
			if _, err := run.Event(ctx, client.EventRequest{Name: "refund_approved",
				Data:      map[string]any{"amount": "500.00", "currency": "USD"},
				Reasoning: "order arrived damaged; within the refund policy",
				Artifacts: []client.ArtifactRef{{SHA256: before.SHA256, Role: auditshot.RoleBefore}}}); err != nil {
				return err
			}
			_, err = run.Screenshot(ctx, client.ScreenshotRequest{
				CaptureOptions: auditshot.CaptureOptions{URL: page}, Role: auditshot.RoleAfter})
			return err
		})
	if err != nil {
		log.Fatal(err) // the run is recorded as failed, with the error
	}
	if _, err := c.VerifyRun(ctx, runID); err != nil {
		log.Fatal(err)
	}
}
