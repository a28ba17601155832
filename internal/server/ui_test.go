package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/ledger"
)

// The auditor console (/ui) driven by a real Chromium against a real
// server on real SQLite.

// hostile is event data an agent might record from a hostile page: the
// console must show it as text.
var hostile = map[string]any{
	"comment": "<script>alert(1)</script>",
	"link":    "javascript:alert(2)",
	"html":    `<b>bold</b><img src=x onerror="alert(3)"><a href="javascript:alert(4)">click</a>`,
}

// uiFixture is a seeded run with screenshots, a recorded flow and hostile
// data.
type uiFixture struct {
	run      auditshot.Run
	other    auditshot.Run
	before   string // SHA-256 of the before screenshot
	chapters []auditshot.Chapter
	video    string
}

// seedUI records, through the API, a run with before and after
// screenshots, a browser flow with video and an event with hostile data,
// and a second run of another workflow.
func seedUI(t *testing.T, s *testServer, key string) uiFixture {
	t.Helper()
	var f uiFixture
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "process_refund", "subject": "C-1001",
		"principal": "alice@example.com", "labels": map[string]string{"env": "test"},
		"agent": map[string]any{"id": "refund-bot", "name": "Refund bot", "model": "gpt-test-1", "version": "1.4.2", "code_ref": "git:4f2a9c1"}}).json(t, &f.run)
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "nightly_reconcile", "subject": "ledger-7"}).json(t, &f.other)
	shot := func(html, role string) auditshot.Capture {
		var c auditshot.Capture
		s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"html": html, "width": 1000, "height": 300,
			"run_id": f.run.ID, "role": role, "name": "refund_" + role}).json(t, &c)
		return c
	}
	before := shot(badgePage("#c0392b", "Pending"), "before")
	for _, a := range before.Artifacts {
		if a.Role == "image" {
			f.before = a.SHA256
		}
	}
	shot(badgePage("#27ae60", "Approved"), "after")

	flow := page(t, `<!doctype html><html><body style="font:20px sans-serif;margin:40px">
<h1 id="title">Refund C-1001</h1><button id="approve">Approve</button> <input id="note" placeholder="note">
<p id="state">Pending</p>
<script>document.getElementById('approve').onclick=function(){document.getElementById('state').textContent='Approved';document.body.style.background='#e7f6ec'}</script>
</body></html>`)
	var seq struct {
		Video    *auditshot.Artifact
		Chapters []auditshot.Chapter
		Outcome  string
	}
	s.must(t, http.StatusCreated, "POST", "/v1/sequences", key, map[string]any{"url": flow, "video": true, "run_id": f.run.ID,
		"name": "approve_flow", "width": 800, "height": 480, "steps": []map[string]any{
			{"action": "wait", "ms": 700, "label": "Look at the request"},
			{"action": "click", "selector": "#approve", "label": "Approve the refund"},
			{"action": "wait_for", "text": "Approved"},
			{"action": "fill", "selector": "#note", "value": "checked by bot"},
			{"action": "wait", "ms": 700},
			{"action": "screenshot", "name": "approved"},
		}}).json(t, &seq)
	if seq.Outcome != "succeeded" || seq.Video == nil || len(seq.Chapters) < 3 {
		t.Fatalf("flow %s, video %v, %d chapters", seq.Outcome, seq.Video, len(seq.Chapters))
	}
	f.video, f.chapters = seq.Video.SHA256, seq.Chapters
	s.must(t, http.StatusCreated, "POST", "/v1/runs/"+f.run.ID+"/events", key, map[string]any{"type": "decision",
		"name": `approve <img src=x onerror="alert(5)">`, "data": hostile,
		"reasoning": `Customer is eligible. <script>alert(6)</script> <a href="javascript:alert(7)">see policy</a>`})
	s.must(t, http.StatusOK, "POST", "/v1/runs/"+f.run.ID+"/finish", key, map[string]any{"status": "succeeded"})
	return f
}

// outputDir is where the test saves its screenshots:
// $AUDITSHOT_TEST_OUTPUT/<test>, else testoutput/<test>.
func outputDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AUDITSHOT_TEST_OUTPUT")
	if base == "" {
		base = "testoutput"
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts a headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exec, err := chromium.FindExec()
	if err != nil {
		t.Fatalf("find chromium: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exec), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser actions, failing the test on error.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript condition holds in the page, checking
// it every few milliseconds (also across navigations).
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	eventually(t, 30*time.Second, what+" ("+cond+")", func() bool {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](cond))
		return err == nil && ok
	})
}

// tabTo presses Tab until the focused element satisfies cond (a
// JavaScript expression), at most 200 times.
func tabTo(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	for range 200 {
		run(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
		if eval[bool](t, ctx, cond) {
			return
		}
	}
	t.Fatalf("200 presses of Tab do not reach %s (%s)", what, cond)
}

// screenshot saves the whole page as a PNG.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUI(t *testing.T) {
	s := startServer(t)
	access := s.DB
	writer := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead)
	auditor := s.key(t, "default", auditshot.ScopeAudit)
	auditorID, _, err := auditshot.ParseAPIKey(auditor)
	if err != nil {
		t.Fatal(err)
	}
	f := seedUI(t, s, writer)
	dir := outputDir(t)
	ctx := newBrowser(t)
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			t.Errorf("a JavaScript dialog opened: %q", d.Message)
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{})
		}
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("SignIn", func(t *testing.T) {
		run(t, ctx, "open the runs", chromedp.Navigate(s.URL+"/ui/runs?workflow=process_refund"), chromedp.WaitVisible(chromedp.ID("key")))
		loc := eval[string](t, ctx, "location.pathname + location.search")
		if !strings.HasPrefix(loc, "/ui/login?next=") || !strings.Contains(loc, url.QueryEscape("/ui/runs?workflow=process_refund")) {
			t.Errorf("without a session the browser is at %s, want the sign-in page", loc)
		}
		screenshot(t, ctx, dir, "01-login")
		run(t, ctx, "sign in", chromedp.SendKeys(chromedp.ID("key"), auditor), chromedp.Click(chromedp.CSS("form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("table.runs")))
		if loc := eval[string](t, ctx, "location.pathname + location.search"); loc != "/ui/runs?workflow=process_refund" {
			t.Errorf("after sign-in at %s, want the page asked for", loc)
		}
		if got := eval[bool](t, ctx, "document.cookie.includes('auditshot_session')"); got {
			t.Error("the session cookie is readable by scripts")
		}
	})

	t.Run("Filter", func(t *testing.T) {
		run(t, ctx, "open the runs", chromedp.Navigate(s.URL+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		waitFor(t, ctx, "both runs listed", `document.querySelectorAll('table.runs a.run-link').length == 2`)
		screenshot(t, ctx, dir, "02-runs")
		run(t, ctx, "filter by workflow", chromedp.SendKeys(chromedp.ID("workflow"), "nightly_reconcile"),
			chromedp.Click(chromedp.CSS("form.filters button[type=submit]")))
		waitFor(t, ctx, "the filtered list", `location.search.includes('workflow=nightly_reconcile') && document.readyState == 'complete' && document.querySelectorAll('table.runs a.run-link').length == 1`)
		if got := eval[string](t, ctx, `document.querySelector('table.runs a.run-link').textContent`); got != "nightly_reconcile" {
			t.Errorf("filtered list shows %q", got)
		}
		if got := eval[string](t, ctx, `document.getElementById('workflow').value`); got != "nightly_reconcile" {
			t.Errorf("the filter form lost its value: %q", got)
		}
		screenshot(t, ctx, dir, "03-runs-filtered")
		// Sorting by a column keeps the filter.
		run(t, ctx, "sort by status", chromedp.Click(chromedp.CSS(`th a[href*="sort=status"]`)))
		waitFor(t, ctx, "the sorted list", `location.search.includes('sort=status') && location.search.includes('workflow=nightly_reconcile') && document.readyState == 'complete'`)
		// The search box looks into workflows, subjects and events' data.
		run(t, ctx, "search", chromedp.Navigate(s.URL+"/ui/runs?q=ledger-7"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		if got := eval[string](t, ctx, `[...document.querySelectorAll('table.runs a.run-link')].map(a => a.textContent).join()`); got != "nightly_reconcile" {
			t.Errorf("search for ledger-7 lists %q", got)
		}
	})

	t.Run("Pages", func(t *testing.T) {
		for i := range 51 {
			s.must(t, http.StatusCreated, "POST", "/v1/runs", writer, map[string]any{"workflow": "bulk_job", "subject": fmt.Sprintf("B-%03d", i)})
		}
		run(t, ctx, "open the first page", chromedp.Navigate(s.URL+"/ui/runs?workflow=bulk_job"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		if n := eval[int](t, ctx, `document.querySelectorAll('table.runs a.run-link').length`); n != 50 {
			t.Errorf("first page lists %d runs, want 50", n)
		}
		first := eval[string](t, ctx, `document.querySelector('table.runs tbody tr td:nth-child(4)').textContent.trim()`)
		run(t, ctx, "next page", chromedp.Click(chromedp.CSS(`a[rel=next]`)))
		waitFor(t, ctx, "the second page", `location.search.includes('cursor=') && document.readyState == 'complete' && document.querySelectorAll('table.runs a.run-link').length == 1`)
		if eval[bool](t, ctx, `!!document.querySelector('a[rel=next]')`) {
			t.Error("the last page has a Next link")
		}
		last := eval[string](t, ctx, `document.querySelector('table.runs tbody tr td:nth-child(4)').textContent.trim()`)
		if first != "B-050" || last != "B-000" {
			t.Errorf("newest first: first page starts with %q, last page holds %q", first, last)
		}
		run(t, ctx, "back to the first page", chromedp.Click(chromedp.CSS(`.pager a.btn-quiet`)))
		waitFor(t, ctx, "the first page", `!location.search.includes('cursor=') && document.readyState == 'complete' && document.querySelectorAll('table.runs a.run-link').length == 50`)
	})

	t.Run("Run", func(t *testing.T) {
		run(t, ctx, "open the runs", chromedp.Navigate(s.URL+"/ui/runs?workflow=process_refund"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		run(t, ctx, "open the run", chromedp.Click(chromedp.CSS("a.run-link")), chromedp.WaitVisible(chromedp.ID("integrity")))
		if loc := eval[string](t, ctx, "location.pathname"); loc != "/ui/runs/"+f.run.ID {
			t.Fatalf("at %s, want the run's page", loc)
		}
		waitFor(t, ctx, "the before and after images", `['before-img','after-img'].every(id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0 })`)
		badge := eval[string](t, ctx, `document.getElementById('integrity').className + ' | ' + document.getElementById('integrity').innerText`)
		if !strings.Contains(badge, "ok") || !strings.Contains(badge, "Verified") || !strings.Contains(badge, "re-hashed") {
			t.Errorf("integrity badge: %s", badge)
		}
		text := eval[string](t, ctx, "document.body.innerText")
		for _, want := range []string{"Refund bot", "gpt-test-1", "1.4.2", "git:4f2a9c1", "alice@example.com", "C-1001",
			"<script>alert(1)</script>", "javascript:alert(2)", `<img src=x onerror=\"alert(3)\">`, "<script>alert(6)</script>",
			`approve <img src=x onerror="alert(5)">`, "Customer is eligible."} {
			if !strings.Contains(text, want) {
				t.Errorf("the page does not show %q as text", want)
			}
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('a[href^="javascript:"], img[src="x"], main script, b').length`); n != 0 {
			t.Errorf("%d elements made from event data", n)
		}
		// The page says who looked at the run: this view first.
		if got := eval[string](t, ctx, `document.querySelector('#run-access-h ~ .table-wrap tbody tr').innerText`); !strings.Contains(got, "test [audit]") ||
			!strings.Contains(got, "evidence.viewed") || !strings.Contains(got, "run") {
			t.Errorf("the newest access to the run is %q, want this view by the auditor's key", got)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('.ledger-ref a[href^="/ui/proof/"]').length`); n < 5 {
			t.Errorf("%d proof links, want one per entry", n)
		}
		screenshot(t, ctx, dir, "04-run")

		// The slider moves the before overlay; the toggle shows the diff.
		run(t, ctx, "slide", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](`(() => { const r = document.getElementById('compare-range'); r.value = 20; r.dispatchEvent(new Event('input')); })()`)(ctx, tg)
			return err
		}))
		if w := eval[string](t, ctx, `document.getElementById('before-overlay').style.width`); w != "20%" {
			t.Errorf("before overlay width %q after sliding to 20", w)
		}
		run(t, ctx, "show the diff", chromedp.Click(chromedp.CSS("button[data-diff-toggle]")))
		waitFor(t, ctx, "the diff image", `!document.getElementById('diff-figure').hidden && document.getElementById('diff-img').naturalWidth > 0 && document.getElementById('compare').hidden`)
		run(t, ctx, "hide the diff", chromedp.Click(chromedp.CSS("button[data-diff-toggle]")))

		// Before it plays, the video shows the flow's first step
		// screenshot, not its blank first frame.
		if poster := eval[string](t, ctx, `document.querySelector('video').getAttribute('poster') || ''`); !strings.HasPrefix(poster, "/ui/artifacts/") {
			t.Errorf("the video's poster is %q, want a step screenshot", poster)
		}
		// The video plays, and a step's button seeks it to the step.
		waitFor(t, ctx, "the video's metadata", `document.querySelector('video').readyState >= 1`)
		run(t, ctx, "play", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](`document.querySelector('video').play()`, chromedp.EvalAwaitPromise)(ctx, tg)
			return err
		}))
		waitFor(t, ctx, "the video to play", `document.querySelector('video').currentTime > 0.3`)
		last := f.chapters[len(f.chapters)-1]
		seek := float64(last.OffsetMS) / 1000
		run(t, ctx, "pause and rewind", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](`(() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 0; })()`)(ctx, tg)
			return err
		}))
		waitFor(t, ctx, "the rewind", `document.querySelector('video').currentTime == 0 && !document.querySelector('video').seeking`)
		run(t, ctx, "click the last step", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.chapters li:nth-child(%d) button`, len(f.chapters)))))
		waitFor(t, ctx, "the seek to the last step", fmt.Sprintf(`document.querySelector('video').currentTime >= %f`, seek-0.01))
		if n := eval[int](t, ctx, `document.querySelectorAll('.chapters button').length`); n != len(f.chapters) {
			t.Errorf("%d chapters listed, want %d", n, len(f.chapters))
		}
		if n := eval[int](t, ctx, `[...document.querySelectorAll('.downloads a')].filter(a => a.href.includes('download=')).length`); n < 2 {
			t.Errorf("%d downloads (DOM, network log) listed", n)
		}
		if d := dialogs.Load(); d != 0 {
			t.Errorf("%d JavaScript dialogs opened", d)
		}
		screenshot(t, ctx, dir, "04b-run-video-seeked")
	})

	t.Run("ViewsRecorded", func(t *testing.T) {
		entries, err := access.ListAccess(t.Context(), "default", auditshot.AccessFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var runViews, imageViews, videoViews int
		for _, e := range entries {
			if e.Type != "evidence.viewed" || e.Actor != auditorID {
				continue
			}
			switch {
			case e.What == auditshot.ViewRun && e.RunID == f.run.ID:
				runViews++
			case e.What == auditshot.ViewArtifact && e.SHA256 == f.before:
				imageViews++
			case e.What == auditshot.ViewArtifact && e.SHA256 == f.video:
				videoViews++
			}
		}
		if runViews == 0 || imageViews == 0 || videoViews == 0 {
			t.Errorf("evidence.viewed by %s: %d of the run, %d of its before image, %d of its video; want each", auditorID, runViews, imageViews, videoViews)
		}
	})

	t.Run("Ledger", func(t *testing.T) {
		run(t, ctx, "open the ledger", chromedp.Navigate(s.URL+"/ui/ledger"), chromedp.WaitVisible(chromedp.ID("access-h")))
		text := eval[string](t, ctx, "document.body.innerText")
		for _, want := range []string{"Signature verified", s.LogKey, "evidence.viewed", auditorID, "test [audit]", f.run.ID} {
			if !strings.Contains(text, want) {
				t.Errorf("the ledger page does not show %q", want)
			}
		}
		// A checkpoint seen earlier is proven consistent with the current one.
		size := eval[string](t, ctx, `document.querySelector('.facts div:nth-child(2) dd').textContent.split(' ')[0]`)
		run(t, ctx, "check an old checkpoint", chromedp.Navigate(s.URL+"/ui/ledger?old="+size), chromedp.WaitVisible(chromedp.ID("access-h")))
		if got := eval[string](t, ctx, `document.querySelector('#hist-h ~ p[role=status]').textContent`); !strings.Contains(got, "consistent with the latest checkpoint") {
			t.Errorf("checking the checkpoint of size %s: %q", size, got)
		}
		screenshot(t, ctx, dir, "05-ledger")

		// The access log filtered by run and by key.
		run(t, ctx, "access to the run", chromedp.Navigate(s.URL+"/ui/ledger?run="+f.run.ID), chromedp.WaitVisible(chromedp.ID("access-h")))
		runs := eval[[]string](t, ctx, `[...document.querySelectorAll('#access-h ~ .table-wrap tbody tr')].map(r => r.innerText)`)
		if len(runs) == 0 {
			t.Error("no access to the run is listed")
		}
		for _, row := range runs {
			if !strings.Contains(row, f.run.ID) {
				t.Errorf("filtered by run %s, the access log lists %q", f.run.ID, row)
			}
		}
		run(t, ctx, "access by nobody", chromedp.Navigate(s.URL+"/ui/ledger?key=ask_nobody"), chromedp.WaitVisible(chromedp.ID("access-h")))
		if got := eval[string](t, ctx, `document.getElementById('access-h').parentElement.innerText`); !strings.Contains(got, "No view or export matches this filter.") {
			t.Errorf("filtered by an unknown key, the access log shows %q", got)
		}

		// The history lists every earlier checkpoint, each checked
		// against the current one, 20 to a page.
		r := &auditshot.Run{TenantID: "default", Workflow: "checkpoint_history", Agent: auditshot.Agent{ID: "agent-cp"}}
		if err := s.DB.CreateRun(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		for range 22 {
			if err := s.DB.AddEvent(t.Context(), &auditshot.Event{TenantID: "default", RunID: r.ID, Type: auditshot.EventNote, Name: "tick"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB.SignCheckpoint(t.Context(), "default"); err != nil {
				t.Fatal(err)
			}
		}
		run(t, ctx, "open the ledger", chromedp.Navigate(s.URL+"/ui/ledger"), chromedp.WaitVisible(chromedp.ID("access-h")))
		rows := eval[[]string](t, ctx, `[...document.querySelectorAll('#hist-h ~ .table-wrap tbody tr')].map(r => r.innerText)`)
		if len(rows) != 20 {
			t.Fatalf("the history's first page has %d rows, want 20", len(rows))
		}
		for _, row := range rows {
			if !strings.Contains(row, "consistent with the latest checkpoint") {
				t.Errorf("history row %q is not shown consistent", row)
			}
		}
		screenshot(t, ctx, dir, "05-ledger-history")
		run(t, ctx, "older checkpoints", chromedp.Click(`#hist-h ~ .pager a[href^="/ui/ledger?before="]`), chromedp.WaitVisible(`#hist-h ~ .pager a[href="/ui/ledger#hist-h"]`))
		older := eval[[]int64](t, ctx, `[...document.querySelectorAll('#hist-h ~ .table-wrap tbody tr td:first-child')].map(td => +td.textContent)`)
		first, err := strconv.ParseInt(strings.Fields(rows[19])[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(older) == 0 || older[0] >= first {
			t.Errorf("the second page of the history has sizes %v, want them below the first page's last, %d", older, first)
		}
	})

	t.Run("Export", func(t *testing.T) {
		downloads := t.TempDir()
		done := make(chan string, 4)
		if err := chromedp.ListenBrowser(ctx, func(ev any) {
			if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
				select {
				case done <- e.GUID:
				default:
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		run(t, ctx, "open the export page", chromedp.Navigate(s.URL+"/ui/export"), chromedp.WaitVisible(chromedp.ID("runs")))
		screenshot(t, ctx, dir, "06-export")
		run(t, ctx, "tick the run", chromedp.Navigate(s.URL+"/ui/runs?workflow=process_refund"), chromedp.WaitVisible(chromedp.CSS("table.runs")),
			chromedp.Click(chromedp.CSS(`input[name=run][value="`+f.run.ID+`"]`)), chromedp.Click(chromedp.CSS("#export-form .pager button")))
		var guid string
		select {
		case guid = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("no download of the evidence bundle")
		}
		zip, err := os.ReadFile(filepath.Join(downloads, guid))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := bundle.Verify(t.Context(), bytes.NewReader(zip), int64(len(zip)), bundle.VerifyOptions{Keys: []string{s.LogKey}, Origin: s.Origin("default")})
		if err != nil {
			t.Fatalf("the downloaded bundle does not verify: %v (%+v)", err, rep)
		}
		entries, err := access.ListAccess(t.Context(), "default", auditshot.AccessFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(entries, func(e auditshot.AccessEntry) bool { return e.Type == "export.created" && e.Actor == auditorID }) {
			t.Errorf("no export.created entry by %s in the access log", auditorID)
		}
	})

	t.Run("Keyboard", func(t *testing.T) {
		// With the keyboard alone: the first Tab reaches the skip link;
		// Tab moves to a run (with a visible focus ring) and Enter opens
		// it; on the run page Tab reaches a step of the video and Enter
		// seeks the video to it.
		run(t, ctx, "open the runs", chromedp.Navigate(s.URL+"/ui/runs?workflow=process_refund"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		run(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
		if got := eval[string](t, ctx, `document.activeElement.className`); got != "skip" {
			t.Errorf("the first Tab focuses %q, want the skip link", got)
		}
		tabTo(t, ctx, "a run", `document.activeElement.matches('a.run-link')`)
		if ring := eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`); ring == "none" {
			t.Error("the focused run link has no focus ring")
		}
		run(t, ctx, "enter", chromedp.KeyEvent(kb.Enter))
		waitFor(t, ctx, "the run page", `location.pathname == '/ui/runs/`+f.run.ID+`' && document.readyState == 'complete' && !!document.getElementById('integrity')`)
		waitFor(t, ctx, "the video's metadata", `document.querySelector('video').readyState >= 1`)
		tabTo(t, ctx, "the last step of the video", `document.activeElement.matches('button.chapter') && !document.activeElement.closest('li').nextElementSibling`)
		seek := eval[float64](t, ctx, `+document.activeElement.dataset.seek`)
		if at := eval[float64](t, ctx, `document.querySelector('video').currentTime`); at != 0 || seek < 0.5 {
			t.Fatalf("before Enter the video is at %v s and the step at %v s: the seek would not show", at, seek)
		}
		run(t, ctx, "enter", chromedp.KeyEvent(kb.Enter))
		// The video was at 0; the chapter seeks it and plays on.
		waitFor(t, ctx, "the seek by keyboard", fmt.Sprintf(`document.querySelector('video').currentTime >= %f`, seek-0.01))
	})

	t.Run("PhoneAndDark", func(t *testing.T) {
		run(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.URL+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		screenshot(t, ctx, dir, "07-phone-runs")
		run(t, ctx, "phone run", chromedp.Navigate(s.URL+"/ui/runs/"+f.run.ID), chromedp.WaitVisible(chromedp.ID("integrity")))
		waitFor(t, ctx, "the images", `document.getElementById('after-img').naturalWidth > 0`)
		if w := eval[int](t, ctx, "document.documentElement.scrollWidth"); w > 400 {
			t.Errorf("on a phone the run page is %d px wide", w)
		}
		screenshot(t, ctx, dir, "08-phone-run")
		run(t, ctx, "dark", chromedp.EmulateViewport(1280, 900), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		}), chromedp.Navigate(s.URL+"/ui/runs/"+f.run.ID), chromedp.WaitVisible(chromedp.ID("integrity")))
		waitFor(t, ctx, "the images", `document.getElementById('after-img').naturalWidth > 0`)
		screenshot(t, ctx, dir, "09-dark-run")
		run(t, ctx, "dark ledger", chromedp.Navigate(s.URL+"/ui/ledger"), chromedp.WaitVisible(chromedp.ID("access-h")))
		screenshot(t, ctx, dir, "10-dark-ledger")
	})

	t.Run("Forbidden", func(t *testing.T) {
		// A key without audit or read: the sign-in is refused with a 403
		// page (in a fresh browser context, without the auditor's session).
		capture := s.key(t, "default", auditshot.ScopeCapture)
		cctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
		defer cancel()
		// The first action on a tab runs without a timeout: its context's
		// end would close the tab.
		if err := chromedp.Do(cctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		run(t, cctx, "sign in with a capture key", chromedp.Navigate(s.URL+"/ui/login"), chromedp.WaitVisible(chromedp.ID("key")),
			chromedp.SendKeys(chromedp.ID("key"), capture), chromedp.Click(chromedp.CSS("form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".status-code")))
		if got := eval[string](t, cctx, `document.querySelector('.status-code').textContent`); got != "403" {
			t.Errorf("status shown %q, want 403", got)
		}
		screenshot(t, cctx, dir, "11-forbidden")
	})

	t.Run("Authorization", func(t *testing.T) { testUIAuthorization(t, s, f, auditor) })
}

// uiClient is a cookie-keeping HTTP client that does not follow
// redirects.
func uiClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func uiDo(t *testing.T, c *http.Client, method, u string, form url.Values, headers ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs a client in with key and returns the session's CSRF token.
func signIn(t *testing.T, s *testServer, c *http.Client, key string) string {
	t.Helper()
	resp, _ := uiDo(t, c, "POST", s.URL+"/ui/login", url.Values{"key": {key}, "next": {"/ui/runs"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/runs" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"auditshot_session=", "Path=/ui", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	resp, page := uiDo(t, c, "GET", s.URL+"/ui/runs", nil)
	m := csrfField.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("runs after sign-in: %d, csrf %v", resp.StatusCode, m)
	}
	return m[1]
}

// testUIAuthorization checks the console's access rules over HTTP.
func testUIAuthorization(t *testing.T, s *testServer, f uiFixture, auditor string) {
	t.Run("NoSession", func(t *testing.T) {
		c := uiClient(t)
		for _, path := range []string{"/ui/runs", "/ui/runs/" + f.run.ID, "/ui/ledger", "/ui/artifacts/" + f.before, "/ui/export"} {
			resp, _ := uiDo(t, c, "GET", s.URL+path, nil)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login?next=") {
				t.Errorf("GET %s without a session: %d to %q, want the sign-in page", path, resp.StatusCode, loc)
			}
		}
		resp, _ := uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"run": {f.run.ID}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("POST /ui/export without a session: %d", resp.StatusCode)
		}
	})
	t.Run("Headers", func(t *testing.T) {
		resp, _ := uiDo(t, uiClient(t), "GET", s.URL+"/ui/login", nil)
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", h)
		}
		// The time the server took, which make bench-ui reads.
		if st := h.Get("Server-Timing"); !regexp.MustCompile(`^app;desc="page made";dur=[0-9]+\.[0-9]{3}$`).MatchString(st) {
			t.Errorf("Server-Timing %q", st)
		}
	})
	t.Run("BadKey", func(t *testing.T) {
		resp, page := uiDo(t, uiClient(t), "POST", s.URL+"/ui/login", url.Values{"key": {"ask_nope_nope"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "not valid") {
			t.Errorf("a wrong key: %d", resp.StatusCode)
		}
	})
	t.Run("NoScope", func(t *testing.T) {
		resp, page := uiDo(t, uiClient(t), "POST", s.URL+"/ui/login", url.Values{"key": {s.key(t, "default", auditshot.ScopeCapture)}})
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Set-Cookie") != "" || !strings.Contains(page, "audit") {
			t.Errorf("a capture key: %d, cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		betaAdmin, _ := s.tenant(t, "beta", "unlimited", "127.0.0.1")
		c := uiClient(t)
		signIn(t, s, c, betaAdmin)
		for _, path := range []string{"/ui/runs/" + f.run.ID, "/ui/artifacts/" + f.before, "/ui/artifacts/" + f.video} {
			if resp, _ := uiDo(t, c, "GET", s.URL+path, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s as another tenant: %d, want 404", path, resp.StatusCode)
			}
		}
		if _, page := uiDo(t, c, "GET", s.URL+"/ui/runs", nil); strings.Contains(page, f.run.ID) {
			t.Error("another tenant's runs list shows the run")
		}
	})
	t.Run("CSRF", func(t *testing.T) {
		c := uiClient(t)
		token := signIn(t, s, c, auditor)
		resp, _ := uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"csrf": {"forged" + token[6:]}, "run": {f.run.ID}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("export with a forged CSRF token: %d, want 403", resp.StatusCode)
		}
		resp, _ = uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"run": {f.run.ID}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("export without a CSRF token: %d, want 403", resp.StatusCode)
		}
		resp, _ = uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"csrf": {token}, "run": {f.run.ID}}, "Origin", "https://evil.example")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("export from another origin: %d, want 403", resp.StatusCode)
		}
		resp, _ = uiDo(t, c, "POST", s.URL+"/ui/logout", url.Values{"csrf": {"nope"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out with a forged CSRF token: %d, want 403", resp.StatusCode)
		}
		// With the token the export is a bundle download.
		resp, zip := uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"csrf": {token}, "run": {f.run.ID}}, "Origin", s.URL)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if _, err := bundle.Verify(t.Context(), strings.NewReader(zip), int64(len(zip)), bundle.VerifyOptions{Keys: []string{s.LogKey}, Origin: s.Origin("default")}); err != nil {
			t.Errorf("exported bundle: %v", err)
		}
		// An index range is exported with its completeness proof.
		resp, zip = uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"csrf": {token}, "mode": {"range"}, "start": {"0"}, "end": {"4"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("range export: %d", resp.StatusCode)
		}
		if _, err := bundle.Verify(t.Context(), strings.NewReader(zip), int64(len(zip)), bundle.VerifyOptions{Keys: []string{s.LogKey}, Origin: s.Origin("default")}); err != nil {
			t.Errorf("range bundle: %v", err)
		}
		// A time range without runs is explained on the form.
		resp, page := uiDo(t, c, "POST", s.URL+"/ui/export", url.Values{"csrf": {token}, "mode": {"time"}, "from": {"2001-01-01T00:00"}, "to": {"2001-01-02T00:00"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "no run started in that time") {
			t.Errorf("empty time range: %d", resp.StatusCode)
		}
	})
	t.Run("RangeAndSignOut", func(t *testing.T) {
		c := uiClient(t)
		token := signIn(t, s, c, auditor)
		resp, body := uiDo(t, c, "GET", s.URL+"/ui/artifacts/"+f.video, nil, "Range", "bytes=0-99")
		if resp.StatusCode != http.StatusPartialContent || len(body) != 100 {
			t.Errorf("video range request: %d, %d bytes", resp.StatusCode, len(body))
		}
		resp, _ = uiDo(t, c, "POST", s.URL+"/ui/logout", url.Values{"csrf": {token}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("sign-out: %d", resp.StatusCode)
		}
		if resp, _ := uiDo(t, c, "GET", s.URL+"/ui/runs", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign-out: %d, want a redirect to sign in", resp.StatusCode)
		}
	})
	t.Run("Proof", func(t *testing.T) {
		c := uiClient(t)
		signIn(t, s, c, auditor)
		resp, body := uiDo(t, c, "GET", s.URL+"/ui/proof/"+strconv.FormatInt(f.run.Started.Index, 10), nil)
		var p struct {
			Index      int64    `json:"index"`
			LeafHash   string   `json:"leaf_hash"`
			Entry      []byte   `json:"entry"`
			Proof      []string `json:"proof"`
			Checkpoint struct {
				Origin string `json:"origin"`
				Note   string `json:"checkpoint"`
			} `json:"checkpoint"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("proof: %d %v", resp.StatusCode, err)
		}
		vs, err := ledger.NewVerifiers(s.LogKey)
		if err != nil {
			t.Fatal(err)
		}
		cp, _, err := ledger.OpenCheckpoint([]byte(p.Checkpoint.Note), s.Origin("default"), vs)
		if err != nil {
			t.Fatal(err)
		}
		leaf := ledger.LeafHash(p.Entry)
		proof := make([]ledger.Hash, len(p.Proof))
		for i, h := range p.Proof {
			b, err := base64.StdEncoding.DecodeString(h)
			if err != nil || len(b) != 32 {
				t.Fatalf("proof hash %q", h)
			}
			copy(proof[i][:], b)
		}
		if hex.EncodeToString(leaf[:]) != f.run.Started.LeafHash || p.LeafHash != f.run.Started.LeafHash {
			t.Errorf("leaf hash %x, want %s", leaf, f.run.Started.LeafHash)
		}
		if err := ledger.VerifyInclusion(p.Index, cp.Size, leaf, proof, cp.Hash); err != nil {
			t.Errorf("inclusion proof: %v", err)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		key := s.key(t, "default", auditshot.ScopeRead)
		id, _, _ := auditshot.ParseAPIKey(key)
		c := uiClient(t)
		signIn(t, s, c, key)
		s.must(t, http.StatusNoContent, "DELETE", "/v1/keys/"+id, s.Admin, nil)
		resp, _ := uiDo(t, c, "GET", s.URL+"/ui/runs", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "reason=revoked") {
			t.Errorf("after the key's revocation: %d to %q", resp.StatusCode, loc)
		}
	})
}
