package client_test

import (
	"strings"
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

func TestSequenceAsync(t *testing.T) {
	srv := startServer(t)
	c := srv.admin(t)
	page := testPage(t, `<title>login</title><input id=user><input id=password type=password><button id=go onclick="document.title='signed in '+document.getElementById('user').value">Go</button>`)
	const secret = "async-secret-7f3a9c"
	run, err := c.StartRun(t.Context(), client.RunRequest{Workflow: "login"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.SequenceAsync(t.Context(), client.SequenceRequest{Name: "sign-in", RunID: run.ID, SequenceOptions: auditshot.SequenceOptions{
		URL: page, Steps: []auditshot.Step{
			{Action: auditshot.ActionFill, Selector: "#user", Value: "refund-bot"},
			{Action: auditshot.ActionFill, Selector: "#password", Value: secret, Secret: true},
			{Action: auditshot.ActionClick, Selector: "#go"},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != auditshot.JobSequence || j.Status.Done() && j.Status != auditshot.JobSucceeded {
		t.Fatalf("job %+v", j)
	}
	// The job as stored keeps no secret.
	if strings.Contains(string(j.Request), secret) {
		t.Errorf("the job's stored request holds the secret: %s", j.Request)
	}
	seq, err := c.WaitSequence(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !seq.Succeeded() || seq.RunID != run.ID || seq.Kind != "sequence" || seq.Title != "signed in refund-bot" || len(seq.Steps) != 3 {
		t.Fatalf("sequence %+v", seq)
	}
	done, err := c.Job(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(done.Request)+string(done.Result), secret) {
		t.Errorf("the finished job holds the secret")
	}
	// A webhook needs async.
	_, err = c.Sequence(t.Context(), client.SequenceRequest{WebhookURL: "https://example.com/hook", SequenceOptions: auditshot.SequenceOptions{
		URL: page, Steps: []auditshot.Step{{Action: auditshot.ActionClick, Selector: "#go"}}}})
	if auditshot.ErrorCode(err) != auditshot.EINVALID || !strings.Contains(auditshot.ErrorMessage(err), "webhook_url") {
		t.Errorf("sync flow with a webhook: %v", err)
	}
}
