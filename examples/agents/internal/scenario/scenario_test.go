package scenario_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/client"
	"github.com/auditshot/auditshot/examples/agents/internal/scenario"
	"github.com/auditshot/auditshot/examples/demoapp/app"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/internal/servertest"
)

// engine is the capture engine of the test binary: Chromium starts once.
var engine *chromium.Engine

func TestMain(m *testing.M) {
	eng, err := servertest.NewEngine(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		os.Exit(1)
	}
	engine = eng
	code := m.Run()
	eng.Close()
	os.Exit(code)
}

// TestScenarios runs the three agents against the real service (SQLite,
// Chromium, ffmpeg) and the demo app on 127.0.0.1, each with a key of its
// own, and checks what they recorded: finished runs, screenshots, videos,
// the before/after diff, and evidence bundles that verify offline against
// the log's key.
func TestScenarios(t *testing.T) {
	srv := servertest.Start(t, engine)
	admin := newClient(t, srv.URL, srv.Admin)
	auditor := newClient(t, srv.URL, newKey(t, admin, "auditor", auditshot.ScopeAudit, auditshot.ScopeRead))
	// Settlement and validation as fast as the flows can watch them.
	demo := app.New(app.Config{SettleAfter: time.Second, ValidationStep: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	appSrv := httptest.NewServer(demo.Handler())
	t.Cleanup(appSrv.Close)

	for _, tc := range []struct {
		name  string
		run   func(context.Context, *client.Client, scenario.Config) (*scenario.Result, error)
		agent auditshot.Agent
		check func(t *testing.T, c *client.Client, res *scenario.Result, run *client.RunDetail)
	}{
		{"Refund", scenario.Refund, scenario.RefundAgent, checkRefund},
		{"Access", scenario.Access, scenario.AccessAgent, checkAccess},
		{"Validation", scenario.Validation, scenario.ValidationAgent, checkValidation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			c := newClient(t, srv.URL, newKey(t, admin, tc.agent.ID, auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead))
			var progress []scenario.Record
			// Small videos: encoding frames under -race is slow.
			res, err := tc.run(ctx, c, scenario.Config{AppURL: appSrv.URL, Agent: auditshot.Agent{Version: "test"},
				VideoFPS: 5, VideoWidth: 640, Progress: func(r scenario.Record) {
					progress = append(progress, r)
					t.Logf("%s ledger #%d %s %s", time.Now().Format("15:04:05.000"), r.Ledger, r.What, r.Name)
				}})
			if err != nil {
				t.Fatalf("%s: %v (records %+v)", tc.name, err, progress)
			}
			if !slices.Equal(progress, res.Records) {
				t.Errorf("progress %+v, records %+v", progress, res.Records)
			}
			run, err := c.GetRun(ctx, res.RunID())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.agent
			want.Version = "test"
			if run.Status != auditshot.RunSucceeded || run.Finished == nil || run.Agent != want {
				t.Errorf("run %+v, want succeeded by %+v", run.Run, want)
			}
			if first, last := res.Records[0], res.Records[len(res.Records)-1]; first.What != "run.started" || last.What != "run.finished" ||
				first.Ledger != run.Started.Index || last.Ledger != run.Finished.Index {
				t.Errorf("records from %+v to %+v, run %+v", first, last, run.Run)
			}
			tc.check(t, c, res, run)
			checkBundle(t, auditor, srv, res)
		})
	}
}

func checkRefund(t *testing.T, c *client.Client, res *scenario.Result, run *client.RunDetail) {
	if res.RefundID != "R-1001" {
		t.Errorf("refund id %q, want R-1001", res.RefundID)
	}
	checkVideo(t, c, res)
	ev := event(t, run, "refund_approved")
	for _, s := range []string{`"amount":"45.00"`, `"currency":"USD"`, `"refund":"R-1001"`} {
		if !strings.Contains(string(ev.Data), s) {
			t.Errorf("refund_approved data %s lacks %s", ev.Data, s)
		}
	}
	if ev.Type != auditshot.EventAction || ev.Reasoning == "" || !hasRoles(ev.Artifacts, auditshot.RoleBefore, auditshot.RoleVideo) {
		t.Errorf("refund_approved %+v", ev)
	}
	checkShots(t, res, "customer_before", "transaction_after")
}

func checkAccess(t *testing.T, c *client.Client, res *scenario.Result, run *client.RunDetail) {
	d := res.Diff
	if d == nil || d.ChangedPPM <= 0 || d.ChangedPPM >= 1_000_000 || len(d.Regions) == 0 {
		t.Fatalf("diff %+v, want some pixels changed", d)
	}
	dec := event(t, run, "access_review_decision")
	if dec.Type != auditshot.EventDecision || dec.Reasoning == "" || !strings.Contains(string(dec.Data), `"decision":"revoke"`) {
		t.Errorf("decision %+v data %s", dec, dec.Data)
	}
	act := event(t, run, "permission_revoked")
	if !hasRoles(act.Artifacts, auditshot.RoleBefore, auditshot.RoleAfter, auditshot.RoleDiff) {
		t.Errorf("permission_revoked artifacts %+v", act.Artifacts)
	}
	for _, a := range act.Artifacts {
		if a.Role == auditshot.RoleDiff {
			if b, err := c.ArtifactBytes(t.Context(), a.SHA256); err != nil || len(b) == 0 {
				t.Errorf("diff image: %d bytes, %v", len(b), err)
			}
		}
	}
	checkShots(t, res, "permissions_before", "permissions_after")
}

func checkValidation(t *testing.T, c *client.Client, res *scenario.Result, run *client.RunDetail) {
	v := res.Validation
	if v == nil || v.Passed != 18 || v.Failed != 2 || len(v.Checks) != 4 || len(v.Failures) != 2 {
		t.Fatalf("validation %+v, want 18 passed, 2 failed in 4 checks", v)
	}
	checkVideo(t, c, res)
	notes := 0
	for _, e := range run.Events {
		if e.Type == auditshot.EventNote && strings.HasPrefix(e.Name, "check_") {
			notes++
		}
	}
	if notes != 4 {
		t.Errorf("%d check notes, want 4", notes)
	}
	dec := event(t, run, "import_decision")
	for _, s := range []string{`"passed":18`, `"failed":2`, "C-2107", "C-2114"} {
		if !strings.Contains(string(dec.Data), s) {
			t.Errorf("import_decision data %s lacks %s", dec.Data, s)
		}
	}
	checkShots(t, res, "validation_final")
}

// checkVideo checks that the result has one video, an MP4 the server has.
func checkVideo(t *testing.T, c *client.Client, res *scenario.Result) {
	t.Helper()
	if len(res.Videos) != 1 {
		t.Fatalf("videos %q, want one", res.Videos)
	}
	b, err := c.ArtifactBytes(t.Context(), res.Videos[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[4:8]) != "ftyp" {
		t.Errorf("video of %d bytes is not an MP4", len(b))
	}
}

// checkShots checks that the result recorded screenshots of these names.
func checkShots(t *testing.T, res *scenario.Result, names ...string) {
	t.Helper()
	for _, n := range names {
		if !slices.ContainsFunc(res.Records, func(r scenario.Record) bool { return r.What == "screenshot" && r.Name == n && r.ID != "" }) {
			t.Errorf("no screenshot %s in %+v", n, res.Records)
		}
	}
}

// checkBundle exports the run's evidence bundle as an auditor and verifies
// it offline with the log's key.
func checkBundle(t *testing.T, auditor *client.Client, srv *servertest.Server, res *scenario.Result) {
	t.Helper()
	ctx := t.Context()
	exp, err := auditor.Export(ctx, client.ExportRequest{ExportSelection: auditshot.ExportSelection{Runs: []string{res.RunID()}}})
	if err != nil {
		t.Fatal(err)
	}
	zip, err := auditor.ArtifactBytes(ctx, exp.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bundle.Verify(ctx, bytes.NewReader(zip), int64(len(zip)),
		bundle.VerifyOptions{Keys: []string{srv.LogKey}, Origin: srv.Origin(server.OperatorTenant)})
	if err != nil {
		t.Fatalf("bundle does not verify: %v\n%s", err, rep.Summary())
	}
	if rep.Entries != len(res.Records) || rep.KeysFromBundle {
		t.Errorf("bundle verified %d entries (keys from bundle %v), the run has %d", rep.Entries, rep.KeysFromBundle, len(res.Records))
	}
}

func event(t *testing.T, run *client.RunDetail, name string) *auditshot.Event {
	t.Helper()
	for _, e := range run.Events {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("run %s has no event %s", run.ID, name)
	return nil
}

func hasRoles(refs []auditshot.ArtifactRef, roles ...string) bool {
	for _, r := range roles {
		if !slices.ContainsFunc(refs, func(a auditshot.ArtifactRef) bool { return a.Role == r && a.SHA256 != "" }) {
			return false
		}
	}
	return true
}

func newClient(t *testing.T, url, key string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: url, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newKey makes an API key of the operator tenant.
func newKey(t *testing.T, admin *client.Client, name string, scopes ...auditshot.Scope) string {
	t.Helper()
	k, err := admin.CreateKey(t.Context(), client.KeyRequest{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

// TestWrongPassword: an agent that cannot sign in to the app fails before
// it starts a run.
func TestWrongPassword(t *testing.T) {
	demo := app.New(app.Config{Logger: slog.New(slog.DiscardHandler)})
	appSrv := httptest.NewServer(demo.Handler())
	t.Cleanup(appSrv.Close)
	c := newClient(t, "http://127.0.0.1:1", "ask_unused_key") // never called
	res, err := scenario.Refund(t.Context(), c, scenario.Config{AppURL: appSrv.URL, Password: "wrong"})
	if err == nil || res != nil || !strings.Contains(err.Error(), "sign in") {
		t.Fatalf("Refund with a wrong password = %+v, %v; want a sign-in error and no result", res, err)
	}
}
