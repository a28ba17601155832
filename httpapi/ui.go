package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// The auditor console: server-rendered pages under /ui over the same
// services as the API, for a person signed in with an API key that has the
// audit or read scope. Everything it serves is embedded (templates, CSS,
// JS); nothing is loaded from elsewhere. Pages are html/template only,
// scripts are files (the CSP allows no inline script), and every look at
// evidence is recorded in the ledger (Config.Access) before it is shown.

//go:embed ui
var uiFiles embed.FS

// uiCSP is the Content-Security-Policy of every console page.
const uiCSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' data: blob:; " +
	"script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiPages are the page templates, each parsed with the layout.
var uiPages = parseUIPages("login", "runs", "run", "ledger", "export", "error")

func parseUIPages(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{"when": uiTime, "short": uiShort, "bytes": uiBytes}
	out := map[string]*template.Template{}
	for _, n := range names {
		out[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(uiFiles, "ui/templates/layout.html", "ui/templates/"+n+".html"))
	}
	return out
}

// ui serves the console. Its state is the sessions; the rest is the
// Server's.
type ui struct {
	s        *Server
	sessions *sessionStore
	// signIns limits failed sign-ins per client address.
	signIns *limiter
}

// uiRequest is a signed-in request: its session and the session's key,
// checked again for this request.
type uiRequest struct {
	sess *uiSession
	key  *auditshot.APIKey
}

// registerUI registers the console's routes. They are not API routes:
// they authenticate with a session cookie, not an API key, and are not in
// Routes (nor in openapi.json, nor in the API's authorization matrix).
func (s *Server) registerUI() {
	signIns := newLimiter(s.cfg.Now)
	signIns.maxBuckets = 10_000
	u := &ui{s: s, sessions: newSessionStore(), signIns: signIns}
	add := func(method, pattern string, h http.HandlerFunc) {
		s.mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) {
			uiHeaders(w)
			h(w, r)
		})
	}
	add("GET", "/ui", u.handleHome)
	add("GET", "/ui/{$}", u.handleHome)
	add("GET", "/ui/static/{file}", u.handleStatic)
	add("GET", "/ui/login", u.handleLoginForm)
	add("POST", "/ui/login", u.handleLogin)
	add("POST", "/ui/logout", u.signedIn(u.handleLogout))
	add("GET", "/ui/runs", u.signedIn(u.handleRuns))
	add("GET", "/ui/runs/{id}", u.signedIn(u.handleRun))
	add("GET", "/ui/proof/{index}", u.signedIn(u.handleProof))
	add("GET", "/ui/artifacts/{sha256}", u.signedIn(u.handleArtifact))
	add("GET", "/ui/ledger", u.signedIn(u.handleLedger))
	add("GET", "/ui/export", u.signedIn(u.handleExportForm))
	add("POST", "/ui/export", u.signedIn(u.handleExport))
	s.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		u.renderError(w, r, nil, auditshot.Errorf(auditshot.ENOTFOUND, "there is no page %s", r.URL.Path))
	})
}

// uiHeaders sets the security headers of every console response.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// signedIn wraps a handler that needs a session: without one the browser
// is sent to the sign-in page; a POST must carry the session's CSRF token
// and come from this origin.
func (u *ui) signedIn(h func(w http.ResponseWriter, r *http.Request, ur *uiRequest) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ur, err := u.session(w, r)
		if err != nil {
			u.renderError(w, r, nil, err)
			return
		}
		if ur == nil {
			return // sent to sign in
		}
		if r.Method == http.MethodPost {
			if err := u.checkPost(w, r, ur.sess); err != nil {
				u.renderError(w, r, ur, err)
				return
			}
		}
		if err := h(w, r, ur); err != nil {
			u.renderError(w, r, ur, err)
		}
	}
}

// session returns the request's session with its key checked again (the
// key cache keeps it about a second, so a revoked key ends its sessions
// at once). Without a live session it redirects to sign in and returns
// nil.
func (u *ui) session(w http.ResponseWriter, r *http.Request) (*uiRequest, error) {
	toLogin := func(reason string) (*uiRequest, error) {
		next := r.URL.Path
		if r.URL.RawQuery != "" {
			next += "?" + r.URL.RawQuery
		}
		q := url.Values{}
		if r.Method == http.MethodGet {
			q.Set("next", next)
		}
		if reason != "" {
			q.Set("reason", reason)
		}
		http.Redirect(w, r, "/ui/login?"+q.Encode(), http.StatusSeeOther)
		return nil, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return toLogin("")
	}
	sess := u.sessions.find(c.Value, u.s.cfg.Now(), u.s.cfg.UISessionIdle, u.s.cfg.UISessionMax)
	if sess == nil {
		clearSessionCookie(w, r)
		return toLogin("expired")
	}
	key, err := u.s.keys.authenticate(r.Context(), u.s.cfg.Tenants, sess.key)
	if err != nil {
		if auditshot.ErrorCode(err) == auditshot.EUNAUTHORIZED {
			u.sessions.end(sess)
			clearSessionCookie(w, r)
			return toLogin("revoked")
		}
		return nil, err
	}
	if info, ok := r.Context().Value(ctxLogInfo).(*logInfo); ok {
		info.tenant, info.key = key.TenantID, key.ID
	}
	if !consoleKey(key) {
		return nil, auditshot.Errorf(auditshot.EFORBIDDEN, "this API key has neither the audit nor the read scope")
	}
	return &uiRequest{sess: sess, key: key}, nil
}

// consoleKey reports whether a key may use the console.
func consoleKey(k *auditshot.APIKey) bool {
	return k.Has(auditshot.ScopeAudit) || k.Has(auditshot.ScopeRead)
}

// checkPost refuses a POST that is not from a page of this console: it
// must come from this origin (Sec-Fetch-Site, Origin) and carry the
// session's CSRF token.
func (u *ui) checkPost(w http.ResponseWriter, r *http.Request, sess *uiSession) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return auditshot.Errorf(auditshot.EINVALID, "the form could not be read")
	}
	got := r.PostForm.Get("csrf")
	if sess == nil || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
		return auditshot.Errorf(auditshot.EFORBIDDEN, "the form's security token is missing or wrong: reload the page and try again")
	}
	return nil
}

// sameOrigin refuses a request that a browser marks as sent from another
// site or origin. Requests without these headers (not from a browser)
// pass: the CSRF token still guards them.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return auditshot.Errorf(auditshot.EFORBIDDEN, "cross-site form submissions are refused")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if origin != scheme+"://"+r.Host {
			return auditshot.Errorf(auditshot.EFORBIDDEN, "form submissions from another origin are refused")
		}
	}
	return nil
}

// uiBase is what every page's layout shows.
type uiBase struct {
	Title string
	// Nav is the section of the navigation to mark current.
	Nav string
	// User is the signed-in key, nil on the sign-in page.
	User *uiUser
	CSRF string
}

type uiUser struct {
	KeyID, KeyName, Tenant string
	CanExport              bool
}

func (u *ui) base(ur *uiRequest, title, nav string) uiBase {
	b := uiBase{Title: title, Nav: nav}
	if ur != nil {
		b.User = &uiUser{KeyID: ur.key.ID, KeyName: ur.key.Name, Tenant: ur.key.TenantID, CanExport: ur.key.Has(auditshot.ScopeAudit)}
		b.CSRF = ur.sess.csrf
	}
	return b
}

// serverDur formats a duration as a Server-Timing dur (milliseconds).
func serverDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}

// renderBufs keeps the buffers pages are made in (a runs page is ~60 KB).
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a page; a template failure becomes an error page.
func (u *ui) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	buf := renderBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			renderBufs.Put(buf)
		}
	}()
	if err := uiPages[page].ExecuteTemplate(buf, "layout", data); err != nil {
		u.s.log.Error("render page", "request_id", requestID(r.Context()), "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	// How long the server took to make the page, for the browser's
	// developer tools and the console benchmark (W3C Server Timing).
	if info, ok := r.Context().Value(ctxLogInfo).(*logInfo); ok && !info.start.IsZero() {
		w.Header().Add("Server-Timing", "app;desc=\"page made\";dur="+serverDur(time.Since(info.start)))
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is the data of the error page.
type errorPage struct {
	uiBase
	Status    int
	Heading   string
	Message   string
	RequestID string
}

// renderError shows err as a page, with the status errorStatus maps its
// code to. Internal errors are logged and shown only as "internal error"
// with the request id.
func (u *ui) renderError(w http.ResponseWriter, r *http.Request, ur *uiRequest, err error) {
	status := errorStatus(err)
	rid := requestID(r.Context())
	msg := auditshot.ErrorMessage(err)
	if status >= 500 {
		u.s.log.LogAttrs(r.Context(), slog.LevelError, "console request failed", slog.String("request_id", rid),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("err", err))
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		status, msg = http.StatusRequestEntityTooLarge, "the form is too large"
	}
	heading := http.StatusText(status)
	switch status {
	case http.StatusNotFound:
		heading = "Not found"
	case http.StatusForbidden:
		heading = "Access denied"
	}
	u.render(w, r, status, "error", errorPage{uiBase: u.base(ur, heading, ""), Status: status, Heading: heading, Message: msg, RequestID: rid})
}

func (u *ui) handleHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ui/runs", http.StatusSeeOther)
}

// handleStatic serves the console's CSS and JS.
func (u *ui) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(uiFiles, "ui/static/"+name)
	if err != nil || strings.Contains(name, "/") {
		u.renderError(w, r, nil, auditshot.Errorf(auditshot.ENOTFOUND, "no file %s", name))
		return
	}
	sum := sha256.Sum256(b)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	w.Header().Set("Cache-Control", "no-cache")
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// recordView appends the evidence.viewed entry of a look at evidence; the
// evidence is shown only if it is durable.
func (u *ui) recordView(ctx context.Context, ur *uiRequest, v auditshot.EvidenceView) error {
	if u.s.cfg.Access == nil {
		return auditshot.Errorf(auditshot.EUNAVAILABLE, "evidence cannot be shown: the access log is not configured")
	}
	v.TenantID, v.Actor = ur.key.TenantID, ur.key.ID
	if _, err := u.s.cfg.Access.RecordView(ctx, &v); err != nil {
		if auditshot.ErrorCode(err) == auditshot.EINTERNAL {
			return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "evidence cannot be shown: recording this view in the access log failed", Err: err}
		}
		return err
	}
	return nil
}

// uiTimeLayout is how pages show times: UTC, to the second.
const uiTimeLayout = "2006-01-02 15:04:05 UTC"

// uiTime formats a time for pages (uiTimeLayout).
func uiTime(t any) string {
	switch t := t.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(uiTimeLayout)
	case *time.Time:
		if t == nil {
			return ""
		}
		return uiTime(*t)
	}
	return ""
}

// uiShort shortens a hash for display.
func uiShort(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// uiBytes formats a size.
func uiBytes(n int64) string {
	switch {
	case n >= 10<<20:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 10<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// uiDuration formats a run's duration.
func uiDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	return d.Round(time.Second).String()
}
