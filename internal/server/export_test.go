package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
)

// TestExport_BundleVerifies exports a run with its screenshot through the
// API, downloads the bundle and verifies it offline with the log key; a
// range export larger than the async threshold runs as a job whose result
// verifies too.
func TestExport_BundleVerifies(t *testing.T) {
	s := startServer(t)
	writer := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite)
	auditor := s.key(t, "default", auditshot.ScopeAudit)
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", writer, map[string]any{"workflow": "access_review"}).json(t, &run)
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", writer, map[string]any{"html": "<p>before</p>", "width": 200, "height": 100,
		"run_id": run.ID, "role": "before"})
	s.must(t, http.StatusCreated, "POST", "/v1/runs/"+run.ID+"/events", writer, map[string]any{"type": "decision", "name": "revoke_admin"})
	s.must(t, http.StatusOK, "POST", "/v1/runs/"+run.ID+"/finish", writer, map[string]any{})

	verify := func(download string) *bundle.Report {
		t.Helper()
		zip := s.must(t, http.StatusOK, "GET", download, auditor, nil).Body
		rep, err := bundle.Verify(t.Context(), bytes.NewReader(zip), int64(len(zip)), bundle.VerifyOptions{Keys: []string{s.LogKey}, Origin: s.Origin("default")})
		if err != nil {
			t.Fatalf("bundle from %s does not verify: %v", download, err)
		}
		return rep
	}
	var x struct {
		auditshot.Export
		Download string
	}
	r := s.must(t, http.StatusCreated, "POST", "/v1/exports", auditor, map[string]any{"runs": []string{run.ID}})
	r.json(t, &x)
	if x.Entries != 4 || r.Header.Get("X-Ledger-Index") == "" {
		t.Errorf("export of a run with 4 entries: %+v, ledger %q", x.Export, r.Header.Get("X-Ledger-Index"))
	}
	rep := verify(x.Download)
	if rep.Entries != 4 || rep.Blobs != 3 {
		t.Errorf("bundle has %d entries and %d blobs, want 4 and 3 (image, DOM, evidence)", rep.Entries, rep.Blobs)
	}

	// A write key may not export; an auditor may not write.
	if r := s.call(t, "POST", "/v1/exports", writer, map[string]any{"runs": []string{run.ID}}); r.Status != http.StatusForbidden {
		t.Errorf("export with a write key: %d", r.Status)
	}
	// A range export as a job.
	size, _ := s.DB.LogSize(t.Context(), "default")
	var accepted, job auditshot.Job
	s.must(t, http.StatusAccepted, "POST", "/v1/exports", auditor, map[string]any{"range": map[string]any{"start": 0, "end": size}, "async": true}).json(t, &accepted)
	eventually(t, 30*time.Second, "the export job to finish", func() bool {
		job = auditshot.Job{}
		s.must(t, http.StatusOK, "GET", "/v1/jobs/"+accepted.ID, auditor, nil).json(t, &job)
		return job.Status.Done()
	})
	if job.Status != auditshot.JobSucceeded {
		t.Fatalf("export job %s: %+v", job.Status, job.Error)
	}
	var res struct {
		Entries  int
		Download string
	}
	if err := json.Unmarshal(job.Result, &res); err != nil {
		t.Fatal(err)
	}
	if rep := verify(res.Download); int64(rep.Entries) != size || !rep.OK() {
		t.Errorf("range bundle: %d entries (log size %d), problems %v", rep.Entries, size, rep.Problems)
	}
}
