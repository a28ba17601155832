package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
)

// run runs the command line and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCapture_WritesImageAndEvidence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<title>cli</title><body style="margin:0;background:#00f"><p class="secret">4111</p>`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	img, ev := filepath.Join(dir, "shot.png"), filepath.Join(dir, "evidence")
	code, stdout, stderr := run(t, "capture", srv.URL, "-o", img, "--allow", "127.0.0.1", "--width", "320", "--height", "200",
		"--mask", ".secret", "--full-page", "--evidence", ev)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "cli") {
		t.Errorf("summary %q", stdout)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pic, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := pic.Bounds(); b.Dx() != 320 || b.Dy() != 200 {
		t.Errorf("image %v", b)
	}
	var e auditshot.Evidence
	b, err := os.ReadFile(filepath.Join(ev, "evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.Title != "cli" || len(e.Redactions) != 1 || e.Redactions[0].Box == nil || !e.Options.FullPage {
		t.Errorf("evidence %+v", e)
	}
	for _, name := range []string{"network.json", "console.json", "dom.mhtml"} {
		if st, err := os.Stat(filepath.Join(ev, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCapture_RefusedAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out := filepath.Join(t.TempDir(), "x.png")
	code, _, stderr := run(t, "capture", "http://"+ln.Addr().String()+"/", "-o", out, "--allow", "127.0.0.1")
	if code != 1 || !strings.Contains(stderr, "egress policy refused") || !strings.Contains(stderr, `"loopback"`) {
		t.Errorf("exit %d, stderr %q: want 1 and a message naming the loopback rule", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written for a refused capture")
	}
}

func TestCapture_Usage(t *testing.T) {
	for _, args := range [][]string{
		{"capture", "http://127.0.0.1/"},
		{"capture", "-o", "x.png"},
		{"capture", "http://127.0.0.1/", "-o", "x.png", "http://127.0.0.1/other"},
		{"verify", "a.zip", "b.zip"},
		{"nope"},
		{},
	} {
		if code, _, stderr := run(t, args...); code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	code, _, stderr := run(t, "capture", "ftp://127.0.0.1/", "-o", filepath.Join(t.TempDir(), "x.png"))
	if code != 1 || !strings.Contains(stderr, "scheme") {
		t.Errorf("ftp: exit %d, stderr %q", code, stderr)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("AUDITSHOT_ALLOW", "127.0.0.1,10.0.0.0/8")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<title>env</title>")) }))
	defer srv.Close()
	code, stdout, stderr := run(t, "capture", srv.URL, "-o", filepath.Join(t.TempDir(), "x.jpg"))
	if code != 0 || !strings.Contains(stdout, "image/jpeg") {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}
