package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSequenceCommand(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<title>flow</title><input id=amount><button id=go onclick="document.title='sent '+document.getElementById('amount').value">Go</button>`))
	}))
	defer page.Close()
	dir := t.TempDir()
	flowFile := filepath.Join(dir, "flow.json")
	write := func(v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(flowFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string]any{"url": page.URL, "video": true, "width": 640, "height": 400, "steps": []map[string]any{
		{"action": "fill", "selector": "#amount", "value": "500"},
		{"action": "click", "selector": "#go"},
		{"action": "screenshot", "name": "sent"},
	}})
	out := filepath.Join(dir, "evidence")
	code, stdout, stderr := run(t, "sequence", flowFile, "-o", out, "--allow", "127.0.0.1")
	if code != 0 || !strings.Contains(stdout, "succeeded") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	for _, name := range []string{"result.json", "03-sent.png", "video.mp4", "chapters.json", "dom.mhtml"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	var result struct {
		Status string
		Steps  []struct{ Status string }
	}
	b, _ := os.ReadFile(filepath.Join(out, "result.json"))
	if err := json.Unmarshal(b, &result); err != nil || result.Status != "succeeded" || len(result.Steps) != 3 {
		t.Errorf("result.json: %+v %v", result, err)
	}

	// A failing step: exit 1, with the evidence and the failure screenshot.
	write(map[string]any{"url": page.URL, "steps": []map[string]any{{"action": "assert_text", "text": "absent", "timeout": 300}}})
	failed := filepath.Join(dir, "failed")
	if code, stdout, _ := run(t, "sequence", flowFile, "-o", failed, "--allow", "127.0.0.1"); code != 1 || !strings.Contains(stdout, "failed") {
		t.Errorf("failing flow: exit %d, %s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(failed, "01-failure.png")); err != nil {
		t.Errorf("no failure screenshot: %v", err)
	}
	// Bad input, named; an existing directory is refused.
	write(map[string]any{"url": page.URL, "stepz": []any{}})
	if code, _, stderr := run(t, "sequence", flowFile, "-o", filepath.Join(dir, "x")); code != 1 || !strings.Contains(stderr, "stepz") {
		t.Errorf("unknown field: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "sequence", flowFile, "-o", out); code != 2 || !strings.Contains(stderr, "exists") {
		t.Errorf("existing dir: exit %d, %s", code, stderr)
	}
}
