package client_test

import (
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

func TestSequence(t *testing.T) {
	srv := startServer(t)
	c := srv.admin(t)
	page := testPage(t, `<title>form</title><input id=amount><button id=go onclick="document.title='sent '+document.getElementById('amount').value">Go</button>`)
	run, err := c.StartRun(t.Context(), client.RunRequest{Workflow: "refund"})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := run.Sequence(t.Context(), client.SequenceRequest{Name: "submit", SequenceOptions: auditshot.SequenceOptions{
		URL: page, Steps: []auditshot.Step{
			{Action: auditshot.ActionFill, Selector: "#amount", Value: "500"},
			{Action: auditshot.ActionClick, Selector: "#go"},
			{Action: auditshot.ActionScreenshot, Name: "sent"},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if !seq.Succeeded() || seq.RunID != run.ID || len(seq.Steps) != 3 || seq.Steps[2].ScreenshotSHA256 == "" || seq.Title != "sent 500" {
		t.Fatalf("sequence %+v", seq)
	}
	// A failing step is recorded, not an error.
	bad, err := c.Sequence(t.Context(), client.SequenceRequest{SequenceOptions: auditshot.SequenceOptions{
		URL: page, Steps: []auditshot.Step{{Action: auditshot.ActionAssertText, Text: "nowhere to be seen", Timeout: 300}}}})
	if err != nil || bad.Succeeded() || bad.Steps[0].Status != auditshot.StepFailed || bad.Steps[0].ScreenshotSHA256 == "" {
		t.Fatalf("failing flow %+v, %v", bad, err)
	}
	// Bad steps are refused with the field named.
	_, err = c.Sequence(t.Context(), client.SequenceRequest{SequenceOptions: auditshot.SequenceOptions{
		URL: page, Steps: []auditshot.Step{{Action: auditshot.ActionClick}}}})
	if auditshot.ErrorCode(err) != auditshot.EINVALID || auditshot.ErrorMessage(err) == "" {
		t.Errorf("click without a selector: %v", err)
	}
}
