package httpapi

import (
	"encoding/xml"
	"html/template"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

// TestRunRows checks that the runs table's rows, written in Go rather
// than by html/template, keep every value of a run as inert text: the
// rows parse as well-formed markup whose texts and attributes are the
// values given, with no element or attribute the values tried to add.
func TestRunRows(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ended := now.Add(-time.Minute)
	hostile := `<script>alert("x")</script>&amp;'"><img src=x onerror=alert(1)>`
	runs := []*auditshot.Run{
		{ID: `run"1<b>`, Workflow: hostile, Agent: auditshot.Agent{ID: "a", Name: hostile, Version: "1.0", Model: hostile},
			Subject: hostile, Principal: hostile, Status: auditshot.RunStatus(`x" onclick="alert(1)`), StartedAt: now.Add(-2 * time.Minute), EndedAt: &ended},
		{ID: "run-2", Workflow: "refund", Agent: auditshot.Agent{ID: "agent-7"}, Status: auditshot.RunRunning, StartedAt: now.Add(-3 * time.Second)},
	}
	for _, selectable := range []bool{true, false} {
		out := runRows(runs, now, selectable)
		var texts []string
		attrs := map[string][]string{}
		var elems []string
		// The rows are well-formed XML but for HTML's void <input>
		// (every other element closed, every attribute quoted), so
		// encoding/xml reads them, closing only <input> itself.
		d := xml.NewDecoder(strings.NewReader("<tbody>" + string(out) + "</tbody>"))
		d.Strict, d.AutoClose, d.Entity = false, []string{"input"}, xml.HTMLEntity
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("selectable=%v: rows do not parse: %v\n%s", selectable, err, out)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				elems = append(elems, tok.Name.Local)
				for _, a := range tok.Attr {
					attrs[a.Name.Local] = append(attrs[a.Name.Local], a.Value)
				}
			case xml.CharData:
				if s := strings.TrimSpace(string(tok)); s != "" {
					texts = append(texts, s)
				}
			}
		}
		for _, e := range elems {
			switch e {
			case "tbody", "tr", "td", "a", "div", "span", "input":
			default:
				t.Errorf("selectable=%v: element <%s> in the rows", selectable, e)
			}
		}
		for name := range attrs {
			switch name {
			case "class", "href", "type", "name", "value", "id", "aria-label":
			default:
				t.Errorf("selectable=%v: attribute %s in the rows", selectable, name)
			}
		}
		want := []string{hostile, `run"1<b>`, hostile + " 1.0", hostile, hostile, "for " + hostile, `x" onclick="alert(1)`,
			"2026-11-27 11:58:00 UTC", "1m0s"}
		if got := texts[:len(want)]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("selectable=%v: texts\n got %q\nwant %q", selectable, got, want)
		}
		if got := attrs["href"][0]; got != "/ui/runs/run%221%3Cb%3E" {
			t.Errorf("selectable=%v: href %q", selectable, got)
		}
		if got, want := len(attrs["value"]) > 0, selectable; got != want {
			t.Errorf("selectable=%v: a checkbox: %v", selectable, got)
		} else if selectable && attrs["value"][0] != `run"1<b>` {
			t.Errorf("checkbox value %q", attrs["value"][0])
		}
		if !strings.Contains(string(out), "3.0 s (running)") {
			t.Errorf("selectable=%v: the running run's duration is missing:\n%s", selectable, out)
		}
	}
	if got := runRows(nil, now, true); got != template.HTML("") {
		t.Errorf("no runs: %q", got)
	}
}
