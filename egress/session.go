package egress

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/auditshot/auditshot"
)

// HeaderRefused is the response header naming the rule that refused a
// request ("loopback", "ambiguous-ip-spelling", ...).
const HeaderRefused = "X-Auditshot-Egress-Refused"

// errSessionClosed is returned by dials attempted while the session closes.
var errSessionClosed = errors.New("egress session closed")

// Session is one proxy endpoint serving one browser context. It refuses
// everything until Arm. Its methods are safe for concurrent use.
type Session struct {
	p         *Proxy
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport
	logger    *slog.Logger
	policy    atomic.Pointer[Policy]

	// ctx is cancelled by Close; it bounds resolutions and dials.
	ctx       context.Context
	cancel    context.CancelFunc
	serveDone chan struct{}
	// wg counts connection goroutines, handlers and the goroutines they
	// start. Add is only called under mu while !closed.
	wg sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	live    map[net.Conn]bool     // browser connections counted in wg
	conns   map[*trackedConn]bool // hijacked and dialled connections
	records []auditshot.EgressRecord
	dropped int
}

func newSession(p *Proxy, ln net.Listener) *Session {
	s := &Session{
		p:         p,
		ln:        ln,
		logger:    p.Logger.With(logProxy, ln.Addr().String()),
		serveDone: make(chan struct{}),
		live:      make(map[net.Conn]bool),
		conns:     make(map[*trackedConn]bool),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.transport = &http.Transport{
		Proxy:                 nil, // never the environment's proxy
		DialContext:           s.dialChecked,
		DisableCompression:    true, // pass bodies through unchanged
		MaxIdleConnsPerHost:   6,
		IdleConnTimeout:       p.IdleTimeout,
		ResponseHeaderTimeout: p.ResponseHeaderTimeout,
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: p.ReadHeaderTimeout,
		IdleTimeout:       p.IdleTimeout,
		ConnState:         s.connState,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.serveDone)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("egress proxy stopped serving", logErr, err)
		}
	}()
	return s
}

// ProxyURL returns the proxy address to give the browser,
// "http://127.0.0.1:PORT".
func (s *Session) ProxyURL() string { return "http://" + s.ln.Addr().String() }

// Arm compiles policy (see NewPolicy) and puts it in force for the rest of
// the session. It returns an *auditshot.Error with code EINVALID for a bad
// allow entry, and ECONFLICT if the session is already armed: a policy is
// never replaced, so a session cannot be loosened once a page runs in it.
func (s *Session) Arm(policy auditshot.EgressPolicy) error {
	pol, err := NewPolicy(policy)
	if err != nil {
		return err
	}
	if !s.policy.CompareAndSwap(nil, pol) {
		return auditshot.Errorf(auditshot.ECONFLICT, "egress session already armed")
	}
	return nil
}

// Check reports whether rawURL may be fetched under the armed policy,
// without connecting, as Policy.CheckURL does with the proxy's resolver.
// Before Arm it refuses with rule "unarmed".
func (s *Session) Check(ctx context.Context, rawURL string) error {
	pol := s.policy.Load()
	if pol == nil {
		return refuse("", netip.Addr{}, RuleUnarmed, "egress session not armed")
	}
	ctx, cancel := context.WithTimeout(ctx, s.p.ResolveTimeout)
	defer cancel()
	_, err := pol.CheckURL(ctx, rawURL, s.p.Resolver)
	return err
}

// Records returns a copy of the records of the requests and tunnels handled
// so far, in arrival order. Records of requests still in progress are
// included as they stand; after Close every record is final.
func (s *Session) Records() []auditshot.EgressRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]auditshot.EgressRecord(nil), s.records...)
}

// Dropped returns how many records were not kept because the session
// already held Config.MaxRecords.
func (s *Session) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close stops the proxy, closes every open connection, tunnels included,
// and waits for the session's goroutines. It is safe to call more than
// once; Records remains usable.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()

	s.cancel()
	err := s.srv.Close()
	for _, c := range open {
		c.Close()
	}
	<-s.serveDone
	s.wg.Wait()
	s.transport.CloseIdleConnections()
	return err
}

// enter counts a goroutine in wg unless the session is closed.
func (s *Session) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// connState counts browser connections in wg from accept until they are
// closed or hijacked (a hijacking handler counts itself).
func (s *Session) connState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.mu.Lock()
		if !s.closed {
			s.wg.Add(1)
			s.live[c] = true
		}
		s.mu.Unlock()
	case http.StateHijacked, http.StateClosed:
		s.mu.Lock()
		counted := s.live[c]
		delete(s.live, c)
		s.mu.Unlock()
		if counted {
			s.wg.Done()
		}
	}
}

// trackedConn is a connection Close must close: a hijacked browser
// connection or a connection to a destination.
type trackedConn struct {
	net.Conn
	s    *Session
	once sync.Once
	err  error
}

// adopt tracks c, or closes it and reports false if the session is closed.
func (s *Session) adopt(c net.Conn) (*trackedConn, bool) {
	t := &trackedConn{Conn: c, s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, false
	}
	s.conns[t] = true
	return t, true
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.err = c.Conn.Close()
	})
	return c.err
}

// CloseWrite half-closes the connection when it is TCP, else closes it.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// targets are the checked addresses a plain HTTP request may be sent to,
// carried to dialChecked in the request context.
type targets struct {
	addrs []netip.Addr
	port  uint16
}

type targetsKey struct{}

// dialChecked is the upstream transport's dialer: it dials only the
// addresses checked for the request, never resolving addr.
func (s *Session) dialChecked(ctx context.Context, _, _ string) (net.Conn, error) {
	t, ok := ctx.Value(targetsKey{}).(*targets)
	if !ok {
		return nil, errors.New("egress: dial without a checked destination")
	}
	return s.dial(ctx, t.addrs, t.port)
}

// dial connects to the first of addrs that answers, each attempt bounded by
// DialTimeout and all of them by Close.
func (s *Session) dial(ctx context.Context, addrs []netip.Addr, port uint16) (*trackedConn, error) {
	if !s.enter() {
		return nil, errSessionClosed
	}
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	d := net.Dialer{Timeout: s.p.DialTimeout}
	var errs []error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, port).String())
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		t, ok := s.adopt(c)
		if !ok {
			return nil, errSessionClosed
		}
		return t, nil
	}
	return nil, errors.Join(errs...)
}

// check applies the armed policy to host and resolves it.
func (s *Session) check(ctx context.Context, host string) ([]netip.Addr, error) {
	pol := s.policy.Load()
	if pol == nil {
		return nil, refuse(host, netip.Addr{}, RuleUnarmed, "egress session not armed")
	}
	ctx, cancel := context.WithTimeout(ctx, s.p.ResolveTimeout)
	defer cancel()
	return pol.Resolve(ctx, host, s.p.Resolver)
}

// exchange is one request or tunnel being handled, and its record.
type exchange struct {
	s   *Session
	idx int // index in s.records, or -1 if dropped
	rec auditshot.EgressRecord
	// connect is true for CONNECT: failures close the connection.
	connect bool
}

func (s *Session) begin(rec auditshot.EgressRecord) *exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &exchange{s: s, idx: -1, rec: rec}
	if len(s.records) >= s.p.MaxRecords {
		s.dropped++
		return x
	}
	x.idx = len(s.records)
	s.records = append(s.records, rec)
	return x
}

// save stores the record as it stands.
func (x *exchange) save() {
	if x.idx < 0 {
		return
	}
	x.s.mu.Lock()
	x.s.records[x.idx] = x.rec
	x.s.mu.Unlock()
}

func (x *exchange) finish() {
	x.save()
	rec := &x.rec
	x.s.logger.LogAttrs(context.Background(), slog.LevelDebug, "egress",
		slog.String(logMethod, rec.Method), slog.String(logHost, rec.Host),
		slog.String(logPort, rec.Port), slog.String(logRemoteIP, rec.RemoteIP),
		slog.Int(logStatus, rec.Status), slog.String(logRule, rec.Blocked),
		slog.Int64(logBytesIn, rec.BytesIn), slog.Int64(logBytesOut, rec.BytesOut),
		slog.String(logErr, rec.Error))
}

// serveHTTP dispatches one request from the browser.
func (s *Session) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		w.Header().Set("Connection", "close")
		http.Error(w, "egress session closed", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	x := s.begin(auditshot.EgressRecord{Time: s.p.Now(), Method: r.Method})
	defer x.finish()
	switch {
	case r.Method == http.MethodConnect:
		x.connect = true
		s.connect(ctx, w, r, x)
	case r.URL.IsAbs():
		if s.forward(ctx, w, r, x) {
			// Abort the browser's connection so that a truncated body
			// cannot pass for a complete one. Deferred calls still run.
			panic(http.ErrAbortHandler)
		}
	default:
		x.fail(w, http.StatusBadRequest, "not a proxy request", nil)
	}
}

// refused answers a policy refusal, or fail for any other check error
// (a name that does not resolve).
func (x *exchange) refused(w http.ResponseWriter, err error) {
	rule := RefusedRule(err)
	if rule == "" {
		x.fail(w, http.StatusBadGateway, auditshot.ErrorMessage(err), err)
		return
	}
	x.rec.Blocked = rule
	if !x.connect {
		x.rec.Status = http.StatusForbidden
	}
	w.Header().Set(HeaderRefused, rule)
	x.reply(w, http.StatusForbidden, auditshot.ErrorMessage(err))
}

// fail answers status with a short message and records err (or msg).
func (x *exchange) fail(w http.ResponseWriter, status int, msg string, err error) {
	x.rec.Error = msg
	if err != nil {
		x.rec.Error = errorText(err)
	}
	if !x.connect {
		x.rec.Status = status
	}
	x.reply(w, status, msg)
}

func (x *exchange) reply(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if x.connect {
		h.Set("Connection", "close")
	}
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// errorText renders err for a record: the message and cause of an
// *auditshot.Error, or the error itself.
func errorText(err error) string {
	var e *auditshot.Error
	if errors.As(err, &e) {
		if e.Err != nil {
			return e.Message + ": " + e.Err.Error()
		}
		return e.Message
	}
	return err.Error()
}

// parsePort parses a destination port, 1 to 65535.
func parsePort(s string) (uint16, bool) {
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil && n > 0
}

func remoteIP(c net.Conn) string {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	return ""
}
