// Package app implements "Acme Payments", a small demo admin console that
// stands in for the business application an AI agent operates, so example
// agents can be driven against it and auditshot can capture evidence of
// what they did.
//
// The app is server-rendered HTML with all assets embedded: it makes no
// external requests. Every interactive element has a stable id (see
// README.md in the parent directory for the routes and ids). Data is in
// memory and seeded deterministically by New and Reset, and time comes from
// Config.Now, so tests can start an isolated App with httptest and drive
// settlement and validation progress with a fake clock.
package app

import (
	"bytes"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults for Config.
const (
	// DefaultSettleAfter is how long a refund stays Pending before it
	// settles by itself.
	DefaultSettleAfter = 3 * time.Second
	// DefaultValidationStep is how long each data-validation check runs.
	DefaultValidationStep = 500 * time.Millisecond
)

// Config configures an App. The zero value is usable.
type Config struct {
	// Now returns the current time; it defaults to time.Now. Refund
	// settlement and validation progress are computed from it only, so a
	// fake clock makes them deterministic.
	Now func() time.Time
	// Rand is the source of session tokens; it defaults to crypto/rand.
	Rand io.Reader
	// SettleAfter is how long after submission a Pending refund becomes
	// Completed: it settles when it is next read (any page showing it) at
	// or after SubmittedAt+SettleAfter. Zero means DefaultSettleAfter; a
	// negative value disables settlement, so only an approver's #approve
	// completes a refund.
	SettleAfter time.Duration
	// ValidationStep is how long each data-validation check runs. Zero
	// means DefaultValidationStep; a negative value makes runs finish at
	// once.
	ValidationStep time.Duration
	// Open disables login: every request acts as the administrator
	// "alice". It is for screenshots only.
	Open bool
	// Logger receives request errors; it defaults to slog.Default().
	Logger *slog.Logger
}

// App is the demo application. Its zero value is not usable; call New.
type App struct {
	cfg      Config
	log      *slog.Logger
	store    *store
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns an App with freshly seeded data.
func New(cfg Config) *App {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.SettleAfter == 0 {
		cfg.SettleAfter = DefaultSettleAfter
	}
	if cfg.ValidationStep == 0 {
		cfg.ValidationStep = DefaultValidationStep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &App{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "demoapp"),
		store:    newStore(cfg.Now, cfg.SettleAfter, cfg.ValidationStep),
		sessions: newSessions(cfg.Rand),
		pages:    parsePages(),
		mux:      http.NewServeMux(),
	}
	a.routes()
	return a
}

// Reset restores the seed data and ends every session.
func (a *App) Reset() {
	a.store.reset()
	a.sessions.reset()
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return securityHeaders(a.mux) }

func (a *App) routes() {
	static, _ := fs.Sub(staticFS, "static")
	a.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	a.public("GET /login", a.getLogin)
	a.public("POST /login", a.postLogin)
	a.public("GET /logout", a.logout)
	a.public("POST /logout", a.logout)

	a.private("GET /{$}", func(w http.ResponseWriter, r *http.Request, _ User) error {
		http.Redirect(w, r, "/customers", http.StatusSeeOther)
		return nil
	})
	a.private("GET /customers", a.getCustomers)
	a.private("GET /customers/export.csv", a.exportCustomers)
	a.private("GET /customers/{id}", a.getCustomer)
	a.private("GET /customers/{id}/refund", a.getRefundForm)
	a.private("POST /customers/{id}/refund", a.postRefund)
	a.private("GET /refunds", a.getRefunds)
	a.private("GET /refunds/{id}/confirmation", a.getConfirmation)
	a.private("GET /transactions/{id}", a.getTransaction)
	a.private("POST /transactions/{id}/approve", a.postApprove)
	a.private("GET /users", a.getUsers)
	a.private("GET /users/{id}/permissions", a.getPermissions)
	a.private("POST /users/{id}/permissions", a.postPermissions)
	a.private("GET /validation", a.getValidation)
	a.private("POST /validation/run", a.postValidationRun)
	a.private("GET /validation/status", a.getValidationStatus)
}

// public registers a handler that needs no session.
func (a *App) public(pattern string, h func(http.ResponseWriter, *http.Request) error) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.serveError(w, r, nil, err)
		}
	})
}

// private registers a handler that needs a session; without one the
// request is redirected to /login, which returns to the page afterwards.
func (a *App) private(pattern string, h func(http.ResponseWriter, *http.Request, User) error) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.currentUser(r)
		if !ok {
			next := "/customers"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if err := h(w, r, u); err != nil {
			a.serveError(w, r, &u, err)
		}
	})
}

// serveError renders err as an error page: the one place errors become
// HTTP statuses. Internal errors are logged and shown without detail.
func (a *App) serveError(w http.ResponseWriter, r *http.Request, u *User, err error) {
	code := errorCode(err)
	if code == EINTERNAL {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := errorStatus(code)
	p := page{Title: http.StatusText(status), User: u, Data: errorData{Status: status, Message: errorMessage(err)}}
	if rerr := a.render(w, status, "error", p); rerr != nil {
		a.log.Error("render error page", "err", rerr)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

type errorData struct {
	Status  int
	Message string
}

// page is what the layout template renders.
type page struct {
	Title string
	Nav   string // active navigation entry: customers, refunds, users, validation
	User  *User
	// Refresh, if positive, reloads the page every Refresh seconds.
	Refresh int
	// Script is the path of a script under /static/; with it, Refresh
	// applies only when scripts are off.
	Script string
	Data   any
}

var pageNames = []string{"login", "error", "customers", "customer", "refund", "refunds", "confirmation", "transaction", "users", "permissions", "validation"}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"money":    formatMoney,
		"amount":   formatAmount,
		"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"date":     func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
		"slug":     func(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") },
		"itoa":     strconv.Itoa,
	}
	pages := make(map[string]*template.Template)
	for _, name := range pageNames {
		t := template.New(name).Funcs(funcs)
		pages[name] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

func (a *App) render(w http.ResponseWriter, status int, name string, p page) error {
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// securityHeaders forbids loading anything from another origin, so the
// pages can make no external request even by mistake.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
