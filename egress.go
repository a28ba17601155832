package auditshot

import (
	"context"
	"time"
)

// EgressPolicy says which destinations a capture's pages may reach. With an
// empty Allow list only public unicast addresses are reachable; loopback,
// private, CGNAT, link-local, metadata, multicast and IPv6 ULA/link-local
// addresses are refused.
type EgressPolicy struct {
	// Allow lists CIDRs ("10.1.0.0/16", "127.0.0.1") and host names
	// ("intranet.example") that are reachable although the default rules
	// would refuse them.
	Allow []string `json:"allow,omitempty"`
	// Offline refuses every destination, whatever Allow says: a capture
	// under it loads only inline HTML and data: URLs. It is how the
	// service prints its own documents (the evidence report).
	Offline bool `json:"offline,omitempty"`
}

// EgressRecord is one connection or request the egress proxy handled.
type EgressRecord struct {
	Time time.Time `json:"time"`
	// Method is the HTTP method, or CONNECT for a tunnel (https, wss).
	Method string `json:"method"`
	// URL is the absolute URL for plain HTTP, or host:port for a tunnel.
	URL  string `json:"url"`
	Host string `json:"host"`
	Port string `json:"port"`
	// RemoteIP is the address the proxy dialled (after its own resolution).
	RemoteIP string `json:"remote_ip,omitempty"`
	// Status is the HTTP status for plain HTTP requests (0 for tunnels).
	Status int `json:"status,omitempty"`
	// BytesIn and BytesOut count the bytes received from and sent to the
	// remote end.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// Blocked, when non-empty, names the policy rule that refused the
	// destination ("loopback", "private", "scheme", ...). Nothing was dialled.
	Blocked string `json:"blocked,omitempty"`
	// Error is a dial or transfer error, if any.
	Error string `json:"error,omitempty"`
}

// Egress hands out egress sessions: one proxy endpoint per browser context.
type Egress interface {
	// Open starts a session whose proxy refuses everything until Arm is
	// called. Open MUST NOT return before the proxy accepts connections.
	Open(ctx context.Context) (EgressSession, error)
}

// EgressSession is one proxy endpoint serving one browser context.
type EgressSession interface {
	// ProxyURL is the proxy address to give the browser ("http://127.0.0.1:N").
	ProxyURL() string
	// Arm sets the policy in force for the rest of the session.
	Arm(policy EgressPolicy) error
	// Check reports whether rawURL may be fetched under the armed policy,
	// without connecting: it resolves the host and checks every address.
	// The returned error is an *Error with code EFORBIDDEN naming the rule.
	Check(ctx context.Context, rawURL string) error
	// Records returns a copy of what the session has handled so far.
	Records() []EgressRecord
	// Close stops the proxy and ends its open connections.
	Close() error
}
