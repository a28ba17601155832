package app_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditshot/auditshot/examples/demoapp/app"
)

// clock is a fake clock the tests advance by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// MustServe starts a fresh App on 127.0.0.1 with a fake clock.
func MustServe(tb testing.TB, cfg app.Config) (*httptest.Server, *app.App, *clock) {
	tb.Helper()
	clk := &clock{t: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	cfg.Now = clk.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := app.New(cfg)
	srv := httptest.NewServer(a.Handler())
	tb.Cleanup(srv.Close)
	return srv, a, clk
}

// browser is an HTTP client with a cookie jar, like a browser.
type browser struct {
	tb   testing.TB
	base string
	c    *http.Client
}

func newBrowser(tb testing.TB, srv *httptest.Server, follow bool) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &browser{tb: tb, base: srv.URL, c: c}
}

// page is a fetched response.
type page struct {
	Status int
	URL    string // final URL path and query, after redirects
	Header http.Header
	Body   string
}

func (b *browser) do(req *http.Request) page {
	b.tb.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.tb.Fatalf("read %s: %v", req.URL, err)
	}
	return page{Status: resp.StatusCode, URL: resp.Request.URL.RequestURI(), Header: resp.Header, Body: string(body)}
}

func (b *browser) Get(path string) page {
	b.tb.Helper()
	req, err := http.NewRequestWithContext(b.tb.Context(), http.MethodGet, b.base+path, nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) Post(path string, form url.Values) page {
	b.tb.Helper()
	req, err := http.NewRequestWithContext(b.tb.Context(), http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// Submit posts values to the form with the given id on p, after checking
// that the form exists and has a field for each value, as a browser would.
func (b *browser) Submit(p page, formID string, values url.Values) page {
	b.tb.Helper()
	form := regexp.MustCompile(`(?s)<form[^>]*id="` + regexp.QuoteMeta(formID) + `"[^>]*>.*?</form>`).FindString(p.Body)
	if form == "" {
		b.tb.Fatalf("page %s has no form #%s", p.URL, formID)
	}
	action := regexp.MustCompile(`action="([^"]*)"`).FindStringSubmatch(form)
	if action == nil {
		b.tb.Fatalf("form #%s has no action", formID)
	}
	for name := range values {
		if !strings.Contains(form, `name="`+name+`"`) {
			b.tb.Fatalf("form #%s has no field %q", formID, name)
		}
	}
	if regexp.MustCompile(`^<form[^>]*method="get"`).MatchString(form) {
		return b.Get(action[1] + "?" + values.Encode())
	}
	return b.Post(action[1], values)
}

func (b *browser) Login(user string) {
	b.tb.Helper()
	p := b.Get("/login")
	p = b.Submit(p, "login-form", url.Values{"username": {user}, "password": {app.DemoPassword}})
	if p.Status != http.StatusOK || strings.HasPrefix(p.URL, "/login") {
		b.tb.Fatalf("login as %s: status %d at %s", user, p.Status, p.URL)
	}
}

// hasID reports whether body has an element with the id.
func hasID(body, id string) bool {
	return strings.Contains(body, `id="`+id+`"`)
}

// text returns the text content of the element with the id: the markup up
// to its closing tag, with tags removed.
func text(tb testing.TB, body, id string) string {
	tb.Helper()
	m := regexp.MustCompile(`(?s)<(\w+)[^>]*\sid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</(\w+)>`).FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("no element #%s in page", id)
	}
	return strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[2], ""))
}

func mustHaveIDs(tb testing.TB, p page, ids ...string) {
	tb.Helper()
	for _, id := range ids {
		if !hasID(p.Body, id) {
			tb.Errorf("%s: no element #%s", p.URL, id)
		}
	}
}

var privatePaths = []string{
	"/", "/customers", "/customers/C-1001", "/customers/C-1001/refund", "/customers/export.csv",
	"/refunds", "/transactions/T-2001", "/users", "/users/alice/permissions", "/validation", "/validation/status",
}

func TestLoginRequired(t *testing.T) {
	srv, _, _ := MustServe(t, app.Config{})
	b := newBrowser(t, srv, false)
	for _, path := range privatePaths {
		p := b.Get(path)
		want := "/login?next=" + url.QueryEscape(path)
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != want {
			t.Errorf("GET %s: %d Location %q, want 303 to %q", path, p.Status, p.Header.Get("Location"), want)
		}
	}
	p := b.Post("/customers/C-1001/refund", url.Values{"amount": {"1"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Errorf("POST refund without session: %d %q", p.Status, p.Header.Get("Location"))
	}
}

func TestLogin(t *testing.T) {
	srv, _, _ := MustServe(t, app.Config{})

	t.Run("ErrBadPassword", func(t *testing.T) {
		b := newBrowser(t, srv, true)
		p := b.Get("/login")
		mustHaveIDs(t, p, "username", "password", "login")
		p = b.Submit(p, "login-form", url.Values{"username": {"refund-bot"}, "password": {"wrong"}})
		if p.Status != http.StatusUnauthorized || !hasID(p.Body, "login-error") {
			t.Fatalf("bad password: status %d, want 401 with #login-error", p.Status)
		}
		if p = b.Get("/customers"); !strings.HasPrefix(p.URL, "/login") {
			t.Fatalf("after refused login, /customers ended at %s", p.URL)
		}
	})

	t.Run("OK", func(t *testing.T) {
		b := newBrowser(t, srv, false)
		p := b.Post("/login", url.Values{"username": {"refund-bot"}, "password": {app.DemoPassword}, "next": {"/refunds"}})
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/refunds" {
			t.Fatalf("login: %d Location %q, want 303 to /refunds", p.Status, p.Header.Get("Location"))
		}
		cookie := p.Header.Get("Set-Cookie")
		for _, attr := range []string{app.SessionCookie + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("Set-Cookie %q lacks %q", cookie, attr)
			}
		}
		if p = b.Get("/customers"); p.Status != http.StatusOK || text(t, p.Body, "current-user") == "" {
			t.Fatalf("after login, /customers: %d", p.Status)
		}
		b.Post("/logout", nil)
		if p = b.Get("/customers"); p.Status != http.StatusSeeOther {
			t.Fatalf("after logout, /customers: %d, want redirect", p.Status)
		}
	})

	t.Run("OpenRedirectRefused", func(t *testing.T) {
		b := newBrowser(t, srv, false)
		p := b.Post("/login", url.Values{"username": {"alice"}, "password": {app.DemoPassword}, "next": {"//evil.example/"}})
		if loc := p.Header.Get("Location"); loc != "/customers" {
			t.Fatalf("Location %q, want /customers", loc)
		}
	})
}

func TestCustomers(t *testing.T) {
	srv, _, _ := MustServe(t, app.Config{})
	b := newBrowser(t, srv, true)
	b.Login("refund-bot")
	p := b.Get("/customers")
	mustHaveIDs(t, p, "search", "search-button", "customers-table", "customer-C-1001", "customer-link-C-1008")
	if n := strings.Count(p.Body, `data-testid="customer-row"`); n != 8 {
		t.Errorf("customers: %d rows, want 8", n)
	}
	p = b.Submit(p, "search-form", url.Values{"q": {"globex"}})
	if n := strings.Count(p.Body, `data-testid="customer-row"`); n != 1 || !hasID(p.Body, "customer-C-1002") {
		t.Errorf("search globex: %d rows, want C-1002 only", n)
	}
	p = b.Get("/customers/C-1001")
	mustHaveIDs(t, p, "customer-name", "customer-balance", "transactions", "txn-T-2001", "refund-link")
	if got := text(t, p.Body, "customer-balance"); got != "$12,450.00" {
		t.Errorf("balance %q", got)
	}
	if p = b.Get("/customers/C-9999"); p.Status != http.StatusNotFound {
		t.Errorf("unknown customer: %d, want 404", p.Status)
	}
}

func TestRefundFlow(t *testing.T) {
	srv, _, clk := MustServe(t, app.Config{SettleAfter: 3 * time.Second})
	b := newBrowser(t, srv, true)
	b.Login("refund-bot")

	p := b.Get("/customers/C-1001/refund")
	mustHaveIDs(t, p, "order", "amount", "currency", "reason", "confirm", "submit-refund")

	t.Run("ErrInvalid", func(t *testing.T) {
		p := b.Submit(p, "refund-form", url.Values{"order": {"T-2003"}, "amount": {"0"}, "currency": {"USD"}, "reason": {"  "}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.Status)
		}
		mustHaveIDs(t, p, "form-errors", "error-amount", "error-reason", "error-confirm")
		if hasID(p.Body, "error-currency") {
			t.Error("unexpected #error-currency")
		}
		p = b.Submit(p, "refund-form", url.Values{"order": {"T-2003"}, "amount": {"250.01"}, "currency": {"EUR"}, "reason": {"x"}, "confirm": {"yes"}})
		if got := text(t, p.Body, "error-amount"); !strings.Contains(got, "exceeds") {
			t.Errorf("#error-amount = %q, want it to say the amount exceeds the order", got)
		}
		mustHaveIDs(t, p, "error-currency")
		if !strings.Contains(p.Body, `value="250.01"`) {
			t.Error("the form did not keep the amount entered")
		}
		if p := b.Get("/refunds"); !hasID(p.Body, "no-refunds") {
			t.Error("an invalid form created a refund")
		}
	})

	t.Run("OK", func(t *testing.T) {
		p := b.Submit(p, "refund-form", url.Values{"order": {"T-2003"}, "amount": {"40"}, "currency": {"USD"}, "reason": {"Double-billed"}, "confirm": {"yes"}})
		if p.Status != http.StatusOK || p.URL != "/refunds/R-1001/confirmation" {
			t.Fatalf("submit: %d at %s, want the confirmation of R-1001", p.Status, p.URL)
		}
		for id, want := range map[string]string{"confirmation-title": "Refund R-1001 submitted", "refund-amount": "$40.00", "refund-status": "Pending"} {
			if got := text(t, p.Body, id); got != want {
				t.Errorf("#%s = %q, want %q", id, got, want)
			}
		}
		mustHaveIDs(t, p, "view-transaction")

		p = b.Get("/transactions/R-1001")
		if got := text(t, p.Body, "status"); got != "Pending" {
			t.Fatalf("status right after submit = %q, want Pending", got)
		}
		if hasID(p.Body, "approve") {
			t.Error("refund-bot may not approve, yet #approve is shown")
		}
		clk.Advance(2999 * time.Millisecond)
		if got := text(t, b.Get("/transactions/R-1001").Body, "status"); got != "Pending" {
			t.Fatalf("status before SettleAfter = %q, want Pending", got)
		}
		clk.Advance(time.Millisecond)
		if got := text(t, b.Get("/transactions/R-1001").Body, "status"); got != "Completed" {
			t.Fatalf("status after SettleAfter = %q, want Completed", got)
		}
		if p := b.Get("/refunds"); !hasID(p.Body, "refund-R-1001") {
			t.Error("/refunds does not list R-1001")
		}
		// The order has 250.00 - 40.00 left to refund.
		p = b.Get("/customers/C-1001/refund?order=T-2003")
		p = b.Submit(p, "refund-form", url.Values{"order": {"T-2003"}, "amount": {"210.01"}, "currency": {"USD"}, "reason": {"rest"}, "confirm": {"yes"}})
		if got := text(t, p.Body, "error-amount"); !strings.Contains(got, "$210.00") {
			t.Errorf("#error-amount = %q, want the remaining $210.00", got)
		}
	})
}

func TestRefundApprove(t *testing.T) {
	srv, _, clk := MustServe(t, app.Config{SettleAfter: -1})
	b := newBrowser(t, srv, true)
	b.Login("alice")
	p := b.Get("/customers/C-1006/refund")
	p = b.Submit(p, "refund-form", url.Values{"order": {"T-2012"}, "amount": {"150.00"}, "currency": {"EUR"}, "reason": {"Seats unused"}, "confirm": {"yes"}})
	if got := text(t, p.Body, "refund-amount"); got != "€150.00" {
		t.Fatalf("#refund-amount = %q", got)
	}
	clk.Advance(time.Hour)
	p = b.Get("/transactions/R-1001")
	if got := text(t, p.Body, "status"); got != "Pending" {
		t.Fatalf("with settlement off, status = %q, want Pending", got)
	}
	p = b.Submit(p, "approve-form", nil)
	if got := text(t, p.Body, "status"); got != "Completed" {
		t.Fatalf("after #approve, status = %q, want Completed", got)
	}
	if !strings.Contains(p.Body, "Refund approved") {
		t.Error("timeline lacks the approval")
	}
}

func TestPermissions(t *testing.T) {
	srv, _, _ := MustServe(t, app.Config{})

	t.Run("OK", func(t *testing.T) {
		b := newBrowser(t, srv, true)
		b.Login("alice")
		p := b.Get("/users")
		mustHaveIDs(t, p, "users-table", "user-refund-bot", "permissions-refund-bot")
		p = b.Get("/users/refund-bot/permissions")
		mustHaveIDs(t, p, "perm-admin", "perm-refunds", "perm-approve-refunds", "perm-export", "perm-validation", "save-permissions", "audit-trail", "audit-empty")
		p = b.Submit(p, "permissions-form", url.Values{"perm": {"refunds", "admin"}})
		if p.Status != http.StatusOK || text(t, p.Body, "saved") != "Permissions updated" {
			t.Fatalf("save: %d, want the #saved banner", p.Status)
		}
		if !regexp.MustCompile(`id="perm-admin"[^>]*checked`).MatchString(p.Body) {
			t.Error("#perm-admin is not checked after saving")
		}
		if regexp.MustCompile(`id="perm-export"[^>]*checked`).MatchString(p.Body) {
			t.Error("#perm-export is still checked after revoking it")
		}
		entry := regexp.MustCompile(`(?s)<li data-testid="audit-entry">(.*?)</li>`).FindStringSubmatch(p.Body)
		if entry == nil || !strings.Contains(entry[1], "alice</strong> granted Administrator; revoked Export data, Run data validation") {
			t.Errorf("audit entry = %q", entry)
		}
		// Persisted: a fresh load and the users table show it.
		if p = b.Get("/users/refund-bot/permissions"); !regexp.MustCompile(`id="perm-admin"[^>]*checked`).MatchString(p.Body) {
			t.Error("permission change not persisted")
		}
		row := regexp.MustCompile(`(?s)id="user-refund-bot".*?</tr>`).FindString(b.Get("/users").Body)
		if !strings.Contains(row, "Administrator") || strings.Contains(row, "Export data") {
			t.Errorf("users row for refund-bot = %q", row)
		}
		p = b.Submit(p, "permissions-form", url.Values{"perm": {"refunds", "admin"}})
		mustHaveIDs(t, p, "no-changes")
	})

	t.Run("ErrForbidden", func(t *testing.T) {
		b := newBrowser(t, srv, true)
		b.Login("bob")
		p := b.Get("/users/bob/permissions")
		mustHaveIDs(t, p, "read-only")
		if hasID(p.Body, "save-permissions") {
			t.Error("bob sees #save-permissions")
		}
		if p = b.Post("/users/bob/permissions", url.Values{"perm": {"admin"}}); p.Status != http.StatusForbidden {
			t.Fatalf("bob granting himself admin: %d, want 403", p.Status)
		}
	})
}

func TestValidation(t *testing.T) {
	srv, _, clk := MustServe(t, app.Config{ValidationStep: time.Second})
	b := newBrowser(t, srv, true)
	b.Login("refund-bot")
	p := b.Get("/validation")
	mustHaveIDs(t, p, "run-validation", "validation-progress", "check-required", "check-email", "check-balance", "check-unique-id")
	if n := strings.Count(p.Body, `data-testid="record-row"`); n != 20 {
		t.Errorf("%d records, want 20", n)
	}
	p = b.Submit(p, "run-form", nil)
	if !strings.Contains(p.Body, `id="validation" data-state="running"`) || hasID(p.Body, "validation-summary") {
		t.Fatal("after #run-validation the run is not running")
	}
	wantStatus := [][]string{
		{"running", "queued", "queued", "queued"},
		{"passed", "running", "queued", "queued"},
		{"passed", "failed", "running", "queued"},
		{"passed", "failed", "failed", "running"},
		{"passed", "failed", "failed", "passed"},
	}
	for i, want := range wantStatus {
		var st app.ValidationState
		if err := json.Unmarshal([]byte(b.Get("/validation/status").Body), &st); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range st.Checks {
			got = append(got, c.Status)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("after %ds: statuses %v, want %v", i, got, want)
		}
		clk.Advance(time.Second)
	}
	p = b.Get("/validation")
	if got := text(t, p.Body, "validation-summary"); got != "18 passed, 2 failed" {
		t.Errorf("#validation-summary = %q", got)
	}
	fails := regexp.MustCompile(`data-testid="failure-row" data-record-id="([^"]+)"`).FindAllStringSubmatch(p.Body, -1)
	if len(fails) != 2 || fails[0][1] != "C-2107" || fails[1][1] != "C-2114" {
		t.Errorf("failure rows %v, want C-2107 and C-2114", fails)
	}
}

func TestNoExternalURLs(t *testing.T) {
	srv, _, clk := MustServe(t, app.Config{})
	b := newBrowser(t, srv, true)
	b.Login("alice")
	p := b.Get("/customers/C-1001/refund")
	b.Submit(p, "refund-form", url.Values{"order": {"T-2003"}, "amount": {"1"}, "currency": {"USD"}, "reason": {"r"}, "confirm": {"yes"}})
	b.Post("/users/bob/permissions", url.Values{"perm": {"export"}})
	b.Post("/validation/run", nil)
	pages := []string{
		"/login", "/customers", "/customers?q=zzz", "/customers/C-1001", "/customers/C-1001/refund", "/refunds",
		"/refunds/R-1001/confirmation", "/transactions/R-1001", "/transactions/T-2001", "/users",
		"/users/bob/permissions", "/validation", "/customers/C-9999", "/static/app.css", "/static/validation.js",
	}
	absolute := regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+(?::[0-9]+)?`)
	attr := regexp.MustCompile(`(?i)\s(?:href|src|action|content)="([^"]*)"`)
	check := func() {
		for _, path := range pages {
			body := b.Get(path).Body
			for _, m := range absolute.FindAllString(body, -1) {
				t.Errorf("%s: external URL %q", path, m)
			}
			for _, m := range attr.FindAllStringSubmatch(body, -1) {
				v := m[1]
				if !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "data:") && !strings.HasPrefix(v, "#") && !regexp.MustCompile(`^[\w ,=.-]*$`).MatchString(v) {
					t.Errorf("%s: attribute value %q is not a local reference", path, v)
				}
			}
		}
	}
	check()
	clk.Advance(time.Minute)
	check()
	csp := b.Get("/customers").Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestEscaping(t *testing.T) {
	srv, _, _ := MustServe(t, app.Config{})
	b := newBrowser(t, srv, true)
	b.Login("refund-bot")
	const evil = `<script>alert("pwned")</script>`
	p := b.Get("/customers/C-1002/refund")
	p = b.Submit(p, "refund-form", url.Values{"order": {"T-2005"}, "amount": {"5.5"}, "currency": {"USD"}, "reason": {evil}, "confirm": {"yes"}})
	for _, path := range []string{p.URL, "/transactions/R-1001", "/customers?q=" + url.QueryEscape(evil)} {
		body := b.Get(path).Body
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s renders the script unescaped", path)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
			t.Errorf("%s does not show the input as text", path)
		}
	}
	if got := text(t, b.Get("/refunds/R-1001/confirmation").Body, "refund-amount"); got != "$5.50" {
		t.Errorf("#refund-amount = %q, want $5.50", got)
	}
}

func TestReset(t *testing.T) {
	srv, a, _ := MustServe(t, app.Config{})
	b := newBrowser(t, srv, true)
	b.Login("alice")
	p := b.Get("/customers/C-1001/refund")
	b.Submit(p, "refund-form", url.Values{"order": {"T-2001"}, "amount": {"1"}, "currency": {"USD"}, "reason": {"r"}, "confirm": {"yes"}})
	a.Reset()
	if p = b.Get("/refunds"); !strings.HasPrefix(p.URL, "/login") {
		t.Fatalf("after Reset the session survived: %s", p.URL)
	}
	b.Login("alice")
	if p = b.Get("/refunds"); !hasID(p.Body, "no-refunds") {
		t.Error("after Reset a refund survived")
	}
}
