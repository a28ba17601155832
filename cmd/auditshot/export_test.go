package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/internal/servertest"
	"github.com/auditshot/auditshot/rfc3161/rfc3161test"
)

// A run recorded in the embedded store, exported with the CLI, verifies
// with the CLI and the log's public key alone.
func TestExportThenVerify(t *testing.T) {
	ctx := t.Context()
	dir, s := mustDataDir(t)
	png, err := s.blobs.Put(ctx, strings.NewReader("pixels"), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.PutArtifact(ctx, "acme", png); err != nil {
		t.Fatal(err)
	}
	r := &auditshot.Run{TenantID: "acme", Workflow: "process_refund", Agent: auditshot.Agent{Name: "refund-bot", Version: "1.4.2"}}
	if err := s.db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.db.AddEvent(ctx, &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventAction, Name: "refund_approved",
		Artifacts: []auditshot.ArtifactRef{{Artifact: png, Role: auditshot.RoleAfter}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out := filepath.Join(t.TempDir(), "evidence.zip")
	code, stdout, stderr := run(t, "export", "--data", dir, "--name", "auditshot.test", "--tenant", "acme", "--run", r.ID, "-o", out)
	if code != 0 || !strings.Contains(stdout, "2 entries") {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	// The report, printed by a local browser.
	files := zipFiles(t, out)
	if !strings.Contains(string(files["report.html"]), "refund_approved") || !bytes.HasPrefix(files["report.pdf"], []byte("%PDF-")) {
		t.Errorf("the bundle lacks the report: html %d bytes, pdf %.8q", len(files["report.html"]), files["report.pdf"])
	}
	pub, err := os.ReadFile(filepath.Join(dir, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := run(t, "verify", out, "--key", strings.TrimSpace(string(pub))); code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := run(t, "export", "--data", dir, "--name", "auditshot.test", "--tenant", "acme", "--run", "nope", "-o", out+"2"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("unknown run: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out + "2"); !os.IsNotExist(err) {
		t.Errorf("a failed export left a file")
	}
	if code, _, _ := run(t, "export", "--tenant", "acme", "-o", out); code != 2 {
		t.Errorf("no selection: exit %d", code)
	}
}

// An anchored log exports a bundle whose anchors verify with the TSA root.
func TestAnchorThenVerify(t *testing.T) {
	dir, s := mustDataDir(t)
	s.Close()
	tsa := rfc3161test.New(t, rfc3161test.Options{})
	if code, stdout, stderr := run(t, "anchor", "--data", dir, "--name", "auditshot.test", "--tenant", "acme", "--tsa", tsa.URL()); code != 0 || !strings.Contains(stdout, "anchored checkpoint 1") {
		t.Fatalf("anchor: exit %d\n%s%s", code, stdout, stderr)
	}
	out := filepath.Join(t.TempDir(), "all.zip")
	if code, stdout, stderr := run(t, "export", "--data", dir, "--name", "auditshot.test", "--tenant", "acme", "--range", "0:2", "-o", out); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	root := filepath.Join(t.TempDir(), "tsa-root.pem")
	os.WriteFile(root, tsa.RootPEM(), 0o644)
	pub, _ := os.ReadFile(filepath.Join(dir, "log.pub"))
	code, stdout, stderr := run(t, "verify", out, "--key", strings.TrimSpace(string(pub)), "--tsa-root", root)
	if code != 0 || !strings.Contains(strings.ToLower(stdout), "anchor") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := run(t, "anchor", "--data", dir, "--tenant", "acme", "--tsa", "ftp://x"); code != 2 {
		t.Errorf("bad TSA URL: exit %d", code)
	}
}

// A CLI capture recorded in a tenant's ledger is exported and verified,
// image, DOM snapshot and evidence included.
func TestCaptureRecordExportVerify(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<title>recorded</title>")) }))
	defer srv.Close()
	dir, s := mustDataDir(t)
	s.Close()
	img := filepath.Join(t.TempDir(), "shot.png")
	code, _, stderr := run(t, "capture", srv.URL, "-o", img, "--allow", "127.0.0.1", "--data", dir, "--name", "auditshot.test", "--tenant", "acme", "--label", "home")
	if code != 0 || !strings.Contains(stderr, "as ledger entry 1 of acme") {
		t.Fatalf("capture: exit %d, stderr %q", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "all.zip")
	if code, stdout, stderr := run(t, "export", "--data", dir, "--name", "auditshot.test", "--tenant", "acme", "--range", "0:2", "-o", out, "--pdf=false"); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	if files := zipFiles(t, out); files["report.html"] == nil || files["report.pdf"] != nil {
		t.Errorf("--pdf=false: want report.html and no report.pdf")
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "log.pub"))
	code, stdout, _ := run(t, "verify", out, "--key", strings.TrimSpace(string(pub)))
	if code != 0 || !strings.Contains(stdout, "blobs:       3 checked") {
		t.Fatalf("verify: exit %d\n%s", code, stdout)
	}
}

// mustDataDir makes a data directory with the tenant "acme" and returns it
// with its store open (the caller closes it before running commands).
func mustDataDir(t *testing.T) (string, *store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := openStore(t.Context(), dir, "auditshot.test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.CreateTenant(t.Context(), &auditshot.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

// zipFiles returns the files of the zip archive at path by name.
func zipFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Unzip(t, b)
}
