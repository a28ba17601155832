package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
)

// handlerFunc is an API handler: it writes a response or returns an error
// that the server renders.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxCaller
	ctxBody
	ctxLogInfo
)

// logInfo is what a handler learns that the request's log line reports.
type logInfo struct {
	tenant, key string
	// start is when the request reached the server.
	start time.Time
}

// caller is the authenticated key and its tenant.
type caller struct {
	key    *auditshot.APIKey
	tenant *auditshot.Tenant
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(ctxCaller).(caller)
	return c
}

// body returns the request body read by the route wrapper.
func body(r *http.Request) []byte {
	b, _ := r.Context().Value(ctxBody).([]byte)
	return b
}

// handle registers h for method and pattern. Scopes, if any, are the scopes
// of which the caller's key needs one (an admin key has them all).
func (s *Server) handle(method, pattern string, scopes []auditshot.Scope, h handlerFunc) {
	s.routes = append(s.routes, route{Method: method, Pattern: pattern, Scopes: scopes})
	s.mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := s.serve(w, r, scopes, h); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, scopes []auditshot.Scope, h handlerFunc) error {
	if len(scopes) > 0 {
		c, err := s.authenticate(r)
		if err != nil {
			if auditshot.ErrorCode(err) == auditshot.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="auditshot"`)
			}
			return err
		}
		if !slices.ContainsFunc(scopes, c.key.Has) {
			return auditshot.Errorf(auditshot.EFORBIDDEN, "this API key lacks the scope this route needs (one of %s)", scopeList(scopes))
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxCaller, c))
		if info, ok := r.Context().Value(ctxLogInfo).(*logInfo); ok {
			info.tenant, info.key = c.key.TenantID, c.key.ID
		}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
		b, err := readBody(r, s.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxBody, b))
		if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost {
			return s.idempotent(w, r, key, b, h)
		}
	}
	return h(w, r)
}

func scopeList(scopes []auditshot.Scope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

// authenticate finds the key of the request (Authorization: Bearer, or
// X-API-Key) and its tenant.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	key := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, token, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return caller{}, auditshot.Errorf(auditshot.EUNAUTHORIZED, "Authorization header must be 'Bearer <API key>'")
		}
		key = strings.TrimSpace(token)
	}
	if key == "" {
		return caller{}, auditshot.Errorf(auditshot.EUNAUTHORIZED, "an API key is required (Authorization: Bearer <key> or X-API-Key)")
	}
	k, err := s.keys.authenticate(r.Context(), s.cfg.Tenants, key)
	if err != nil {
		return caller{}, err
	}
	t, err := s.tenants.find(r.Context(), s.cfg.Tenants, k.TenantID)
	if err != nil {
		if auditshot.ErrorCode(err) == auditshot.ENOTFOUND {
			return caller{}, auditshot.Errorf(auditshot.EUNAUTHORIZED, "invalid API key")
		}
		return caller{}, err
	}
	return caller{key: k, tenant: t}, nil
}

// operator reports whether the caller administers every tenant.
func (s *Server) operator(c caller) bool {
	return c.key.Has(auditshot.ScopeAdmin) && c.key.TenantID == s.cfg.OperatorTenant
}

// instrument gives every request an id, logs it and counts it by route.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !validRequestID(rid) {
			var b [12]byte
			rand.Read(b[:])
			rid = "req_" + hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", rid)
		rw := &statusWriter{ResponseWriter: w}
		info := &logInfo{start: start}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxRequestID, rid), ctxLogInfo, info)
		r = r.WithContext(ctx)
		next.ServeHTTP(rw, r)
		if rw.status == 0 {
			rw.status = http.StatusOK
		}
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.request(pattern, rw.status, elapsed)
		level := slog.LevelInfo
		if pattern == "GET /healthz" || pattern == "GET /metrics" || pattern == "GET /readyz" {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{slog.String("request_id", rid), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("route", pattern), slog.String("client", s.clientAddr(r)), slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes), slog.Float64("ms", float64(elapsed.Microseconds())/1000)}
		if info.key != "" {
			attrs = append(attrs, slog.String("tenant", info.tenant), slog.String("key", info.key))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recorder keeps a response in memory, for idempotent replay.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// replay writes a recorded or stored response to w.
func replay(w http.ResponseWriter, status int, header map[string]string, body []byte) {
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
