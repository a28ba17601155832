package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

func TestCaptureAsync(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()

	t.Run("OK", func(t *testing.T) {
		j, err := c.ScreenshotAsync(ctx, client.ScreenshotRequest{CaptureOptions: auditshot.CaptureOptions{
			URL: testPage(t, refundPage), Width: 400, Height: 300}, Name: "later"})
		if err != nil {
			t.Fatal(err)
		}
		if j.Kind != auditshot.JobScreenshot || j.ID == "" {
			t.Fatalf("job %+v", j)
		}
		got, err := c.WaitCapture(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "later" || got.Title != "Refund" || got.Width != 400 || got.MediaType != "image/png" {
			t.Errorf("capture of the job %+v", got)
		}
	})

	t.Run("ErrJobFails", func(t *testing.T) {
		// The tenant may not capture 127.0.0.2: the job fails and WaitJob
		// says why.
		j, err := c.ScreenshotAsync(ctx, client.ScreenshotRequest{CaptureOptions: auditshot.CaptureOptions{URL: "http://127.0.0.2:9/"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.WaitJob(ctx, j.ID)
		if err == nil || got == nil || got.Status != auditshot.JobFailed || got.Error == nil || auditshot.ErrorCode(err) != got.Error.Code {
			t.Errorf("WaitJob = %+v, %v; want the failed job and its error", got, err)
		}
	})
}

func TestExportAsync(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()
	run, err := c.StartRun(ctx, client.RunRequest{Workflow: "export_me"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(ctx, ""); err != nil {
		t.Fatal(err)
	}
	j, err := c.ExportAsync(ctx, client.ExportRequest{ExportSelection: auditshot.ExportSelection{Runs: []string{run.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != auditshot.JobExport || j.ID == "" {
		t.Fatalf("job %+v", j)
	}
	res, err := c.WaitExport(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 2 || len(res.SHA256) != 64 || res.Download != "/v1/artifacts/"+res.SHA256 {
		t.Errorf("export %+v", res)
	}
}

// TestWebhook_Delivered checks a real delivery of the server: an async
// capture's webhook verifies with the tenant's webhook secret.
func TestWebhook_Delivered(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()
	type delivery struct {
		header, event string
		body          []byte
	}
	got := make(chan delivery, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- delivery{r.Header.Get(client.SignatureHeader), r.Header.Get(client.EventHeader), b}:
		default:
		}
	}))
	defer receiver.Close()
	tenant, err := c.GetTenant(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.ScreenshotAsync(ctx, client.ScreenshotRequest{CaptureOptions: auditshot.CaptureOptions{URL: testPage(t, refundPage)},
		Name: "hooked", WebhookURL: receiver.URL})
	if err != nil {
		t.Fatal(err)
	}
	var d delivery
	select {
	case d = <-got:
	case <-time.After(time.Minute):
		t.Fatal("no webhook delivered in a minute")
	}
	if err := client.VerifyWebhook(tenant.WebhookSecret, d.header, d.body, client.DefaultWebhookTolerance); err != nil {
		t.Fatalf("VerifyWebhook of a real delivery: %v", err)
	}
	if err := client.VerifyWebhook(tenant.WebhookSecret, d.header, append(d.body, ' '), client.DefaultWebhookTolerance); err == nil {
		t.Error("VerifyWebhook accepted a changed body")
	}
	var ev client.WebhookEvent
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "job.succeeded" || d.event != ev.Type || ev.Job == nil || ev.Job.ID != j.ID {
		t.Errorf("webhook %s %+v, want job.succeeded of job %s", d.event, ev, j.ID)
	}
}
