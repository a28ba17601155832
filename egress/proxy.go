// Package egress is the outbound policy proxy every connection of a capture's
// browser goes through: an SSRF guard and a network log.
//
// A Proxy hands out Sessions, one per browser context. Each Session is an
// HTTP proxy on 127.0.0.1 that refuses everything until it is armed with the
// tenant's auditshot.EgressPolicy. Then, for every plain HTTP request
// (absolute-form, including WebSocket upgrades) and every CONNECT tunnel
// (https, wss, and ws, which Chromium tunnels), it checks the host, resolves
// the name itself, checks every address, and dials exactly the address it
// checked, so a DNS answer that changes between check and dial (rebinding)
// cannot reach a refused address. Refusals are answered with 403 and the
// header X-Auditshot-Egress-Refused naming the rule; nothing is dialled.
// Each request and tunnel is logged as an auditshot.EgressRecord.
//
// The decision function is Policy, usable without a proxy: CheckURL,
// CheckHost and CheckAddr. IP literals must be written canonically (the
// allowlist names canonical addresses), so "http://2130706433/",
// "http://127.1/" and "http://0x7f.0.0.1/" are refused as
// "ambiguous-ip-spelling" even where 127.0.0.1 is allowed.
//
// To use a session with Chromium, create the browser context with
// proxyServer set to Session.ProxyURL and proxyBypassList "<-loopback>", so
// that loopback destinations go through the proxy too.
package egress

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/auditshot/auditshot"
)

// Defaults for Config fields left zero.
const (
	// DefaultDialTimeout bounds one TCP connection attempt to a destination.
	DefaultDialTimeout = 10 * time.Second
	// DefaultResolveTimeout bounds the resolution of one host name.
	DefaultResolveTimeout = 10 * time.Second
	// DefaultReadHeaderTimeout bounds how long the browser may take to send
	// a request's headers to the proxy.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes keep-alive connections, from the browser
	// and to destinations, idle for this long.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for a destination's
	// response headers to a plain HTTP request.
	DefaultResponseHeaderTimeout = 2 * time.Minute
	// DefaultTunnelIdleTimeout closes a CONNECT tunnel or upgraded
	// connection when no byte has moved either way for this long.
	DefaultTunnelIdleTimeout = 5 * time.Minute
	// DefaultMaxRecords is how many records a session keeps; later ones are
	// counted as dropped.
	DefaultMaxRecords = 10000
)

// Config tunes a Proxy. Zero fields take the Default* values.
type Config struct {
	// Resolver resolves destination names; net.DefaultResolver if nil.
	Resolver Resolver
	// DialTimeout bounds one connection attempt to a destination address.
	DialTimeout time.Duration
	// ResolveTimeout bounds the resolution of one host name.
	ResolveTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers from the browser.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections on both sides.
	IdleTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a destination's response
	// headers.
	ResponseHeaderTimeout time.Duration
	// TunnelIdleTimeout closes tunnels and upgraded connections idle in
	// both directions for this long.
	TunnelIdleTimeout time.Duration
	// MaxRecords is how many records each session keeps.
	MaxRecords int
	// Now returns the time stamped on records; time.Now if nil.
	Now func() time.Time
	// Logger receives the proxy's logs, with attribute component=egress;
	// slog.Default() if nil. Header values are never logged.
	Logger *slog.Logger
}

// Proxy opens egress sessions. Its fields are its Config with defaults
// applied; they may be changed before the first Open, not after.
type Proxy struct {
	Config
}

var (
	_ auditshot.Egress        = (*Proxy)(nil)
	_ auditshot.EgressSession = (*Session)(nil)
)

// New returns a Proxy configured by cfg, zero fields set to their defaults.
func New(cfg Config) *Proxy {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	setDefault(&cfg.DialTimeout, DefaultDialTimeout)
	setDefault(&cfg.ResolveTimeout, DefaultResolveTimeout)
	setDefault(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDefault(&cfg.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	setDefault(&cfg.TunnelIdleTimeout, DefaultTunnelIdleTimeout)
	setDefault(&cfg.MaxRecords, DefaultMaxRecords)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With(logComponent, "egress")
	return &Proxy{Config: cfg}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Open implements auditshot.Egress; see OpenSession.
func (p *Proxy) Open(ctx context.Context) (auditshot.EgressSession, error) {
	s, err := p.OpenSession(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OpenSession starts a session listening on 127.0.0.1 on a free port. The
// session refuses everything until Arm. It is listening when OpenSession
// returns; ctx bounds only the opening. The caller must Close the session.
func (p *Proxy) OpenSession(ctx context.Context) (*Session, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "cannot start egress proxy", Err: err}
	}
	return newSession(p, ln), nil
}

// Log attribute keys.
const (
	logComponent = "component"
	logProxy     = "proxy"
	logMethod    = "method"
	logHost      = "host"
	logPort      = "port"
	logRemoteIP  = "remote_ip"
	logStatus    = "status"
	logRule      = "rule"
	logBytesIn   = "bytes_in"
	logBytesOut  = "bytes_out"
	logErr       = "err"
)
