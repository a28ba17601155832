package bundle_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	stdhtml "html"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// hostile is event data and reasoning that would run script or navigate
// if the report did not escape it.
const hostile = `<script>alert("pwned")</script><a href="javascript:alert(1)">click</a><img src=x onerror=alert(2)>`

// reportLog is a log with one refund run (before and after screenshots, a
// diff, a hostile event) and administrative entries outside it.
type reportLog struct {
	*testLog
	before, after, diff, dom ledger.Artifact
}

func newReportLog(tb testing.TB) *reportLog {
	tb.Helper()
	s, vkey := newKey(tb, testOrigin)
	l := &reportLog{testLog: &testLog{tb: tb, signer: s, vkey: vkey, blobs: map[string][]byte{}}}
	l.before = l.image(color.RGBA{0x1d, 0x4e, 0x89, 0xff})
	l.after = l.image(color.RGBA{0x1e, 0x7a, 0x46, 0xff})
	l.diff = l.image(color.RGBA{0xb3, 0x26, 0x1e, 0xff})
	l.dom = l.blob("<html>dom</html>")
	l.dom.MediaType, l.dom.Role = "multipart/related", "dom"
	l.diff.Role = "diff"
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	agent := &ledger.Agent{ID: "agent_7", Name: "refund-bot", Model: "claude-sonnet-4", Version: "1.4.2", CodeRef: "git:3f2c1ab"}
	run := map[string]string{ledger.IDRun: "run_1"}
	add := func(typ ledger.Type, ids map[string]string, ag *ledger.Agent, data string, arts ...ledger.Artifact) {
		e := ledger.Entry{V: ledger.Version, Type: typ, Tenant: "acme", IDs: ids, Actor: "key_writer",
			Time: t0.Add(time.Duration(len(l.entries)) * 1500 * time.Millisecond), Agent: ag, Artifacts: arts, Data: json.RawMessage(data)}
		b, err := ledger.Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		l.append(b)
	}
	img := func(a ledger.Artifact) ledger.Artifact { a.Role = "image"; return a }
	add(ledger.TypeKeyCreated, map[string]string{ledger.IDKey: "key_writer"}, nil, `{"name":"agent writer","scopes":["write"]}`)
	add(ledger.TypeRunStarted, run, agent, `{"workflow":"process_refund","principal":"alice@shop.example","subject":"customer 42","labels":{"env":"prod","ticket":"T-981"}}`)
	add(ledger.TypeCaptureCompleted, map[string]string{ledger.IDRun: "run_1", ledger.IDCapture: "cap_1"}, nil,
		`{"name":"refund form","role":"before","url":"https://shop.example/refund/42","status":200,"title":"Refund #42"}`, img(l.before), l.dom)
	event, _ := json.Marshal(map[string]any{"type": "decision", "name": "approve_refund",
		"data":      map[string]any{"amount": "500.00", "customer": "42", "note": hostile},
		"reasoning": "Order delivered damaged; policy allows a full refund. " + hostile})
	add(ledger.TypeRunEvent, map[string]string{ledger.IDRun: "run_1", ledger.IDEvent: "ev_1"}, agent, string(event))
	add(ledger.TypeCaptureCompleted, map[string]string{ledger.IDRun: "run_1", ledger.IDCapture: "cap_2"}, nil,
		`{"name":"refund confirmed","role":"after","url":"https://shop.example/refund/42/done","status":200,"title":"Refund issued",`+
			`"diff":{"before":"cap_1","changed_pixels":1200,"total_pixels":19200,"changed_ppm":62500,"regions":[{"x":0,"y":0,"width":40,"height":30}]}}`,
		img(l.after), l.diff)
	add(ledger.TypeRunFinished, run, agent, `{"status":"succeeded"}`)
	add(ledger.TypePolicyChanged, nil, nil, `{"egress":{"allow":["10.0.0.0/8"]}}`)
	add(ledger.TypeEvidenceViewed, map[string]string{ledger.IDRun: "run_1"}, nil, `{"path":"/v1/runs/run_1"}`)
	return l
}

// image adds a small PNG of one colour with a darker band as a blob.
func (l *reportLog) image(c color.RGBA) ledger.Artifact {
	m := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := range 200 {
		for x := range 320 {
			px := c
			if y < 36 {
				px = color.RGBA{c.R / 2, c.G / 2, c.B / 2, 0xff}
			} else if x > 40 && x < 280 && y > 70 && y < 150 {
				px = color.RGBA{0xff, 0xff, 0xff, 0xff}
			}
			m.Set(x, y, px)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		l.tb.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	h := hex.EncodeToString(sum[:])
	l.blobs[h] = buf.Bytes()
	return ledger.Artifact{SHA256: h, Size: int64(buf.Len()), MediaType: "image/png"}
}

func (l *reportLog) all() bundle.Contents {
	size := int64(len(l.entries))
	c := l.contents(size, l.checkpoint(size), 0, 1, 2, 3, 4, 5, 6, 7)
	c.Selection = json.RawMessage(`{"runs":["run_1"]}`)
	return c
}

func fileOf(tb testing.TB, b []byte, name string) []byte {
	tb.Helper()
	files := unzip(tb, b)
	return files[find(tb, files, name)].data
}

func TestReport(t *testing.T) {
	l := newReportLog(t)
	var buf bytes.Buffer
	if err := bundle.Write(t.Context(), &buf, l.all(), bundle.WriteOptions{Generator: "auditshot 9.9.9-test"}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	html := string(fileOf(t, b, bundle.ReportHTMLFile))
	saveBundle(t, "report-bundle", b)

	t.Run("Listed", func(t *testing.T) {
		rep, err := verify(t, b, l.vkey)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		m := unmarshalManifest(t, fileOf(t, b, bundle.ManifestFile))
		var listed bool
		for _, f := range m.Files {
			listed = listed || f.Path == bundle.ReportHTMLFile
			if f.Path == bundle.ReportPDFFile {
				t.Errorf("report.pdf written without a printer")
			}
		}
		if !listed || len(rep.Unchecked) != 1 || rep.Unchecked[0] != bundle.ReportHTMLFile {
			t.Errorf("report.html listed %v, unchecked %v", listed, rep.Unchecked)
		}
	})
	t.Run("Content", func(t *testing.T) {
		fp, _ := ledger.KeyFingerprint(l.vkey)
		root := strings.Fields(string(l.checkpoint(int64(len(l.entries)))))
		want := []string{
			"refund-bot", "claude-sonnet-4", "1.4.2", "git:3f2c1ab", "agent_7", // identity
			"alice@shop.example", "customer 42", "process_refund", "succeeded", "6s", // run
			"approve_refund", "decision", "500.00", "Order delivered damaged", `"note": "<script>alert(\"pwned\")</script>`, // timeline
			`src="blobs/sha256/` + l.before.SHA256 + `"`, `src="blobs/sha256/` + l.after.SHA256 + `"`, `src="blobs/sha256/` + l.diff.SHA256 + `"`,
			l.before.SHA256, "multipart/related", // artifacts
			"#3", hex.EncodeToString(leafOf(l.entries[3])), // ledger index and leaf hash
			"policy.changed", "key.created", "evidence.viewed", // other entries
			fp, root[3], "auditshot 9.9.9-test", testOrigin, "2026-11-27 12:00:00.000 UTC", "2026-11-27 12:00:10.500 UTC", "run run_1",
			"auditshot verify bundle.zip --key '" + l.vkey + "'", "does not prove",
		}
		text := stdhtml.UnescapeString(html)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("report.html lacks %q", w)
			}
		}
		if i, j := strings.Index(html, `src="blobs/sha256/`+l.before.SHA256), strings.Index(html, `src="blobs/sha256/`+l.after.SHA256); i > j {
			t.Errorf("the after image comes before the before image")
		}
	})
	t.Run("HostileDataInert", func(t *testing.T) {
		for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`, "<a href=javascript"} {
			if strings.Contains(html, bad) {
				t.Errorf("report.html contains %q unescaped", bad)
			}
		}
		if !strings.Contains(html, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
			t.Errorf("the hostile data is not shown as text")
		}
		// The only elements and URLs are the template's own.
		for _, m := range regexp.MustCompile(`(?i)<script|(?:href|src)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
			if m[0] == "<script" || m[0] == "<SCRIPT" {
				t.Fatalf("report.html has a script element")
			}
			if u := m[1]; !strings.HasPrefix(u, "#run-") && !strings.HasPrefix(u, "blobs/sha256/") {
				t.Errorf("unexpected URL %q", u)
			}
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		c := l.all()
		c.Entries[0], c.Entries[5] = c.Entries[5], c.Entries[0]
		var again bytes.Buffer
		if err := bundle.Write(t.Context(), &again, c, bundle.WriteOptions{Generator: "auditshot 9.9.9-test"}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), b) {
			t.Error("the same contents gave a different bundle")
		}
	})
	t.Run("Altered", func(t *testing.T) {
		alter := func(fs []zfile) []zfile {
			i := find(t, fs, bundle.ReportHTMLFile)
			fs[i].data = bytes.Replace(fs[i].data, []byte("succeeded"), []byte("failed"), 1)
			return fs
		}
		rep, err := verify(t, tamper(t, b, false, alter), l.vkey)
		wantProblem(t, rep, err, bundle.ErrFileHash, atFile(bundle.ReportHTMLFile))
		rep, err = verify(t, tamper(t, b, false, func(fs []zfile) []zfile { return remove(fs, bundle.ReportHTMLFile) }), l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.ReportHTMLFile))
	})
}

func leafOf(entry []byte) []byte {
	h := ledger.LeafHash(entry)
	return h[:]
}

func TestReportPDF(t *testing.T) {
	l := newReportLog(t)
	t.Run("OK", func(t *testing.T) {
		var printed []byte
		pdf := []byte("%PDF-1.7 fake")
		var buf bytes.Buffer
		err := bundle.Write(t.Context(), &buf, l.all(), bundle.WriteOptions{PrintPDF: func(_ context.Context, html []byte) ([]byte, error) {
			printed = html
			return pdf, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if got := fileOf(t, b, bundle.ReportPDFFile); !bytes.Equal(got, pdf) {
			t.Errorf("report.pdf is %q, want what the printer returned", got)
		}
		s := string(printed)
		for _, w := range []string{"data:image/png;base64,", "default-src &#39;none&#39;; img-src data:", "refund-bot"} {
			if !strings.Contains(s, w) && !strings.Contains(s, strings.ReplaceAll(w, "&#39;", "'")) {
				t.Errorf("printed HTML lacks %q", w)
			}
		}
		if strings.Contains(s, `src="blobs/`) {
			t.Error("printed HTML refers to bundle files; it must need none")
		}
		rep, err := verify(t, b, l.vkey)
		if err != nil || len(rep.Unchecked) != 2 {
			t.Fatalf("Verify: %v, unchecked %v", err, rep.Unchecked)
		}
		rep, err = verify(t, tamper(t, b, false, func(fs []zfile) []zfile {
			fs[find(t, fs, bundle.ReportPDFFile)].data = []byte("%PDF-1.7 forged")
			return fs
		}), l.vkey)
		wantProblem(t, rep, err, bundle.ErrFileHash, atFile(bundle.ReportPDFFile))
	})
	t.Run("LargeImageNotInlined", func(t *testing.T) {
		big := make([]byte, bundle.MaxInlineImage+1)
		copy(big, "\x89PNG\r\n\x1a\n")
		sum := sha256.Sum256(big)
		h := hex.EncodeToString(sum[:])
		l.blobs[h] = big
		e, err := ledger.Marshal(ledger.Entry{V: ledger.Version, Type: ledger.TypeRunEvent, Tenant: "acme", Time: time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC),
			IDs:       map[string]string{ledger.IDRun: "run_2", ledger.IDEvent: "ev_9"},
			Artifacts: []ledger.Artifact{{SHA256: h, Size: int64(len(big)), MediaType: "image/png", Role: "after"}}, Data: json.RawMessage(`{"name":"huge","type":"note"}`)})
		if err != nil {
			t.Fatal(err)
		}
		l.append(e)
		size := int64(len(l.entries))
		var printed string
		err = bundle.Write(t.Context(), &bytes.Buffer{}, l.contents(size, l.checkpoint(size), size-1), bundle.WriteOptions{PrintPDF: func(_ context.Context, html []byte) ([]byte, error) {
			printed = string(html)
			return []byte("%PDF"), nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(printed, "data:image") || !strings.Contains(printed, "not embedded in the PDF") || !strings.Contains(printed, h) {
			t.Errorf("a %d-byte image: want a note naming it instead of the image", len(big))
		}
	})
	t.Run("ErrPrinter", func(t *testing.T) {
		boom := errors.New("browser gone")
		err := bundle.Write(t.Context(), &bytes.Buffer{}, l.all(), bundle.WriteOptions{PrintPDF: func(context.Context, []byte) ([]byte, error) { return nil, boom }})
		if !errors.Is(err, boom) {
			t.Errorf("Write: %v, want the printer's error", err)
		}
	})
}

// saveBundle unzips a bundle under testoutput/ for a person to open
// report.html.
func saveBundle(tb testing.TB, dir string, b []byte) {
	tb.Helper()
	for _, f := range unzip(tb, b) {
		p := filepath.Join("testoutput", dir, filepath.FromSlash(f.name))
		if os.MkdirAll(filepath.Dir(p), 0o755) == nil {
			_ = os.WriteFile(p, f.data, 0o644)
		}
	}
}

// withoutReport leaves out the report files, which every bundle has.
func withoutReport(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p != bundle.ReportHTMLFile && p != bundle.ReportPDFFile {
			out = append(out, p)
		}
	}
	return out
}
