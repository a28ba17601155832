package server_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/internal/servertest"
)

// TestExport_Report exports a run with before and after screenshots and
// checks the bundle's human report: report.html names the agent and links
// the images, and report.pdf, printed by Chromium, renders with poppler to
// a cover, the run and the appendix. Page 1 is saved under testoutput/.
func TestExport_Report(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm (poppler-utils) is required:", err)
	}
	s := startServer(t)
	writer := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite)
	auditor := s.key(t, "default", auditshot.ScopeAudit)
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", writer, map[string]any{"workflow": "process_refund", "principal": "alice@shop.example",
		"subject": "customer 42", "agent": map[string]any{"name": "refund-bot", "model": "claude-sonnet-4", "version": "1.4.2", "code_ref": "git:3f2c1ab"}}).json(t, &run)
	form := func(state, colour string) string {
		return `<body style="margin:0;font:16px sans-serif"><div style="background:` + colour + `;color:#fff;padding:12px">Refund #42</div>` +
			`<p style="padding:12px">Status: <b>` + state + `</b></p></body>`
	}
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", writer, map[string]any{"html": form("pending", "#1d4e89"), "width": 480, "height": 240,
		"run_id": run.ID, "role": "before", "name": "refund form"})
	s.must(t, http.StatusCreated, "POST", "/v1/runs/"+run.ID+"/events", writer, map[string]any{"type": "decision", "name": "approve_refund",
		"data": map[string]any{"amount": "500.00", "note": "<script>alert(1)</script>"}, "reasoning": "Damaged on delivery; policy allows a refund."})
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", writer, map[string]any{"html": form("refunded", "#1e7a46"), "width": 480, "height": 240,
		"run_id": run.ID, "role": "after", "name": "refund confirmed"})
	s.must(t, http.StatusOK, "POST", "/v1/runs/"+run.ID+"/finish", writer, map[string]any{"status": "succeeded"})

	var x struct {
		auditshot.Export
		Download string
	}
	s.must(t, http.StatusCreated, "POST", "/v1/exports", auditor, map[string]any{"runs": []string{run.ID}}).json(t, &x)
	b := s.must(t, http.StatusOK, "GET", x.Download, auditor, nil).Body
	rep, err := bundle.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: []string{s.LogKey}, Origin: s.Origin("default")})
	if err != nil {
		t.Fatalf("bundle does not verify: %v", err)
	}
	if len(rep.Unchecked) != 2 {
		t.Errorf("unchecked files %v, want report.html and report.pdf", rep.Unchecked)
	}
	files := servertest.Unzip(t, b)
	html := string(files[bundle.ReportHTMLFile])
	for _, want := range []string{"refund-bot", "claude-sonnet-4", "git:3f2c1ab", "alice@shop.example", "approve_refund",
		"auditshot test", `<img src="blobs/sha256/`, "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	pdf := files[bundle.ReportPDFFile]
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("report.pdf is not a PDF: %.20q", pdf)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), "pdftoppm", "-r", "60", "-png", filepath.Join(dir, "report.pdf"), filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if len(pages) < 3 {
		t.Fatalf("report.pdf has %d pages, want at least 3 (cover, run, appendix)", len(pages))
	}
	for i, p := range pages {
		if png, err := os.ReadFile(p); err == nil {
			saveArtifact(t, "report-page-"+string(rune('1'+i))+".png", png)
		}
	}
	saveArtifact(t, "report.pdf", pdf)
}

// unzipAll returns the files of a zip archive by name.
// saveArtifact writes data under testoutput/ for a person to look at.
func saveArtifact(tb testing.TB, name string, data []byte) {
	tb.Helper()
	if err := os.MkdirAll("testoutput", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("testoutput", name), data, 0o644)
	}
}
