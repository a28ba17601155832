// Package client is the Go SDK of the auditshot REST API: captures,
// runs and their events, the ledger and its proofs, exports, jobs, usage
// and tenant administration, with local verification of run proofs and
// webhook signatures.
//
// A Client sends its API key as a bearer token, retries what is safe to
// retry (429 and 503 answers after their Retry-After, and connection
// errors), and gives every POST an Idempotency-Key that its retries reuse,
// so that a retried write is done once.
//
// Errors of the API are *Error, which wraps an *auditshot.Error: branch on
// auditshot.ErrorCode(err) and show auditshot.ErrorMessage(err).
//
// The usual flow records a run with before and after screenshots:
//
//	c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:8080", APIKey: key})
//	if err != nil { ... }
//	err = c.Do(ctx, client.RunRequest{Workflow: "process_refund", Subject: "customer-42",
//		Agent: auditshot.Agent{ID: "refund-bot", Model: "claude-sonnet-4"}},
//		func(ctx context.Context, run *client.Run) error {
//			if _, err := run.Screenshot(ctx, client.ScreenshotRequest{
//				CaptureOptions: auditshot.CaptureOptions{URL: page}, Name: "refund_start", Role: "before"}); err != nil {
//				return err
//			}
//			_, err := run.Action(ctx, "refund_approved",
//				map[string]any{"amount": "500.00", "currency": "USD"}, "order arrived damaged")
//			return err
//		})
//
// Do finishes the run succeeded, or records an "error" event and finishes
// it failed when the function returns an error. VerifyRunProof then checks
// the run's entries offline against a checkpoint signed by a pinned key.
//
// Ledger entries hold integers only: a fractional JSON number in event data
// is refused with EINVALID. Send amounts and other fractions as strings
// ("500.00").
package client
