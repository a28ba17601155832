package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/auditshot/auditshot"
)

// TestSeedFlow is the seed use case over real HTTP: a named
// screenshot, then a run with before and after screenshots and an action,
// every one a ledger entry the run's proof covers.
func TestSeedFlow(t *testing.T) {
	s := startServer(t)
	app := page(t, `<title>dashboard</title><h1>Refunds</h1>`)
	admin, _ := s.tenant(t, "acme", "unlimited", "127.0.0.1")
	_ = admin
	key := s.key(t, "acme", auditshot.ScopeCapture, auditshot.ScopeWrite)

	var shot struct {
		ID, Name, SHA256 string
		Ledger           auditshot.LedgerRef
		Artifacts        []auditshot.ArtifactRef
	}
	r := s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"url": app, "name": "refund_start"})
	r.json(t, &shot)
	if shot.Name != "refund_start" || len(shot.SHA256) != 64 || len(shot.Artifacts) != 3 || r.Header.Get("X-Ledger-Index") != strconv.FormatInt(shot.Ledger.Index, 10) {
		t.Fatalf("screenshot answer %s", r.Body)
	}

	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "process_refund", "subject": "cust_42",
		"agent": map[string]any{"name": "refund-bot", "model": "m", "version": "1.4.2", "code_ref": "abc123"}}).json(t, &run)
	if run.Status != auditshot.RunRunning || run.Agent.CodeRef != "abc123" {
		t.Fatalf("run %+v", run)
	}
	before := s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"url": app, "name": "before", "run_id": run.ID, "role": "before"})
	var ev auditshot.Event
	s.must(t, http.StatusCreated, "POST", "/v1/runs/"+run.ID+"/events", key, map[string]any{"type": "action", "name": "refund_approved",
		"data": map[string]any{"amount": 500, "currency": "USD"}, "reasoning": "policy allows"}).json(t, &ev)
	after := s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"url": app, "name": "refund_complete", "run_id": run.ID, "role": "after"})
	s.must(t, http.StatusOK, "POST", "/v1/runs/"+run.ID+"/finish", key, map[string]any{"status": "succeeded"})

	reader := s.key(t, "acme", auditshot.ScopeRead)
	var detail struct {
		auditshot.Run
		Events   []auditshot.Event
		Captures []auditshot.Capture
	}
	s.must(t, http.StatusOK, "GET", "/v1/runs/"+run.ID, reader, nil).json(t, &detail)
	if detail.Status != auditshot.RunSucceeded || len(detail.Events) != 1 || detail.Events[0].Name != "refund_approved" || detail.Finished == nil ||
		len(detail.Captures) != 2 || detail.Captures[0].Role != "before" || detail.Captures[1].Name != "refund_complete" {
		t.Fatalf("run detail %+v", detail)
	}
	var proof struct {
		Checkpoint struct {
			Size int64
		}
		Entries []struct {
			Index int64
		}
	}
	s.must(t, http.StatusOK, "GET", "/v1/runs/"+run.ID+"/proof", reader, nil).json(t, &proof)
	// run.started, the before capture, the action, the after capture, run.finished.
	want := []string{"run.started", before.Header.Get("X-Ledger-Index"), ev.Ledger.LeafHash, after.Header.Get("X-Ledger-Index"), "run.finished"}
	if len(proof.Entries) != len(want) || proof.Checkpoint.Size <= proof.Entries[len(proof.Entries)-1].Index {
		t.Fatalf("proof has %d entries (want %d) under a checkpoint of %d", len(proof.Entries), len(want), proof.Checkpoint.Size)
	}
	if strconv.FormatInt(proof.Entries[1].Index, 10) != before.Header.Get("X-Ledger-Index") ||
		proof.Entries[2].Index != ev.Ledger.Index || strconv.FormatInt(proof.Entries[3].Index, 10) != after.Header.Get("X-Ledger-Index") {
		t.Errorf("proof entries %+v, before %s, event %d, after %s", proof.Entries, before.Header.Get("X-Ledger-Index"), ev.Ledger.Index, after.Header.Get("X-Ledger-Index"))
	}
	// The image is served to the tenant, and only to it.
	img := s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+shot.SHA256, reader, nil)
	if string(img.Body[:8]) != "\x89PNG\r\n\x1a\n" || img.Header.Get("Content-Type") != "image/png" {
		t.Errorf("artifact: %q %s", img.Body[:8], img.Header.Get("Content-Type"))
	}
	s.tenant(t, "other", "unlimited")
	otherKey := s.key(t, "other", auditshot.ScopeRead)
	if r := s.call(t, "GET", "/v1/artifacts/"+shot.SHA256, otherKey, nil); r.Status != http.StatusNotFound {
		t.Errorf("another tenant's artifact: %d", r.Status)
	}
	if err := s.DB.Verify(t.Context(), "acme"); err != nil {
		t.Errorf("ledger verify: %v", err)
	}
}
