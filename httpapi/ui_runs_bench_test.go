package httpapi

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

// BenchmarkRunsPage measures making the runs page of 50 runs: the rows
// (Go) and the rest of the page (html/template).
func BenchmarkRunsPage(b *testing.B) {
	now := time.Now()
	var runs []*auditshot.Run
	for i := range 50 {
		end := now.Add(-time.Duration(i) * time.Minute)
		runs = append(runs, &auditshot.Run{ID: fmt.Sprintf("run-%06d", i), Workflow: "refund_approval",
			Agent: auditshot.Agent{ID: "agent-07", Name: "bench agent", Version: "1.0", Model: "model-1"}, Subject: "customer-1234",
			Principal: "user-12", Status: auditshot.RunSucceeded, StartedAt: end.Add(-3 * time.Second), EndedAt: &end})
	}
	p := runsPage{uiBase: uiBase{Title: "Runs", Nav: "runs", User: &uiUser{KeyID: "k1", KeyName: "auditor", Tenant: "default", CanExport: true}, CSRF: "csrf"},
		F: runsForm{Workflow: "refund_approval"}, CanExport: true}
	var buf bytes.Buffer
	b.Run("rows", func(b *testing.B) {
		for b.Loop() {
			p.Rows = runRows(runs, now, true)
		}
	})
	b.Run("template", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if err := uiPages["runs"].ExecuteTemplate(&buf, "layout", p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
