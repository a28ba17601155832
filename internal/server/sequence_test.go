package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/examples/demoapp/app"
)

// TestSequence_RefundFlowRecorded drives the demo app's refund flow as an
// agent would, through POST /v1/sequences with video: every step is
// recorded, the password is in no stored byte, and the flow's screenshots,
// video and evidence are one capture.completed entry of the run.
func TestSequence_RefundFlowRecorded(t *testing.T) {
	s := startServer(t)
	demo := httptest.NewServer(app.New(app.Config{}).Handler())
	defer demo.Close()
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead)
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "process_refund", "subject": "C-1001"}).json(t, &run)

	steps := []map[string]any{
		{"action": "fill", "selector": "#username", "value": "refund-bot"},
		{"action": "fill", "selector": "#password", "value": app.DemoPassword, "secret": true},
		{"action": "click", "selector": "#login"},
		{"action": "wait_for", "url": "/customers"},
		{"action": "navigate", "url": demo.URL + "/customers/C-1001/refund"},
		{"action": "fill", "selector": "#amount", "value": "25.00"},
		{"action": "fill", "selector": "#reason", "value": "damaged on arrival"},
		{"action": "check", "selector": "#confirm"},
		{"action": "screenshot", "name": "refund_form"},
		{"action": "click", "selector": "#submit-refund"},
		{"action": "assert_text", "selector": "#confirmation-title", "text": "submitted"},
		{"action": "screenshot", "name": "confirmation"},
	}
	var out struct {
		auditshot.Capture
		Steps []struct {
			Status           string
			Error            string
			ScreenshotSHA256 string `json:"screenshot_sha256"`
		}
		Video    *auditshot.Artifact
		Chapters []auditshot.Chapter
	}
	r := s.must(t, http.StatusCreated, "POST", "/v1/sequences", key, map[string]any{"url": demo.URL + "/login", "steps": steps,
		"video": true, "run_id": run.ID, "name": "refund_flow", "width": 1280, "height": 720})
	r.json(t, &out)
	if out.Outcome != "succeeded" || len(out.Steps) != len(steps) || out.Kind != "sequence" {
		t.Fatalf("flow %s: %+v", out.Outcome, out.Steps)
	}
	if out.Steps[8].ScreenshotSHA256 == "" || out.Steps[11].ScreenshotSHA256 == "" || out.Video == nil || len(out.Chapters) != len(steps) {
		t.Fatalf("screenshots %q %q, video %+v, %d chapters", out.Steps[8].ScreenshotSHA256, out.Steps[11].ScreenshotSHA256, out.Video, len(out.Chapters))
	}
	mp4 := s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+out.Video.SHA256, key, nil).Body
	if len(mp4) < 12 || string(mp4[4:8]) != "ftyp" || out.Video.MediaType != "video/mp4" {
		t.Errorf("video artifact %q %s", mp4[:min(12, len(mp4))], out.Video.MediaType)
	}
	// The chapters sidecar is stored with the video.
	var sidecar struct {
		Video    string
		Chapters []auditshot.Chapter
	}
	for _, a := range out.Artifacts {
		if a.Role == auditshot.RoleChapters {
			s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+a.SHA256, key, nil).json(t, &sidecar)
		}
	}
	if sidecar.Video != out.Video.SHA256 || len(sidecar.Chapters) != len(steps) || sidecar.Chapters[4].Label != out.Chapters[4].Label {
		t.Errorf("chapters sidecar %+v", sidecar)
	}
	// The capture is an entry of the run, referring to every artifact.
	e, err := s.DB.Entries(t.Context(), "default", out.Ledger.Index, out.Ledger.Index+1)
	if err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{out.Video.SHA256, out.Steps[8].ScreenshotSHA256, out.Steps[11].ScreenshotSHA256} {
		if !bytes.Contains(e[0], []byte(sha)) {
			t.Errorf("entry lacks artifact %s", sha)
		}
	}
	if !bytes.Contains(e[0], []byte(run.ID)) || !bytes.Contains(e[0], []byte(`"kind":"sequence"`)) {
		t.Errorf("entry %s", e[0])
	}
	// The password is in no answer and no stored artifact.
	if strings.Contains(string(r.Body), app.DemoPassword) {
		t.Error("the answer holds the secret")
	}
	for _, a := range out.Artifacts {
		b := s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+a.SHA256, key, nil).Body
		if bytes.Contains(b, []byte(app.DemoPassword)) {
			t.Errorf("artifact %s (%s) holds the secret", a.SHA256, a.Role)
		}
	}

	// A failing step is recorded as a failed flow with its screenshot.
	var failed struct {
		Outcome string
		Steps   []struct {
			Status           string
			Error            string
			ScreenshotSHA256 string `json:"screenshot_sha256"`
		}
	}
	s.must(t, http.StatusCreated, "POST", "/v1/sequences", key, map[string]any{"url": demo.URL + "/login", "run_id": run.ID,
		"steps": []map[string]any{{"action": "assert_text", "selector": "h1", "text": "Welcome to the moon", "timeout": 500},
			{"action": "click", "selector": "#login"}}}).json(t, &failed)
	if failed.Outcome != "failed" || failed.Steps[0].Status != "failed" || failed.Steps[0].ScreenshotSHA256 == "" || failed.Steps[1].Status != "skipped" {
		t.Errorf("failing flow: %+v", failed)
	}
	var detail struct {
		Captures []auditshot.Capture
	}
	s.must(t, http.StatusOK, "GET", "/v1/runs/"+run.ID, key, nil).json(t, &detail)
	if len(detail.Captures) != 2 || detail.Captures[1].Outcome != "failed" {
		t.Errorf("run captures %+v", detail.Captures)
	}
}
