package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/auditshot/auditshot"
)

// Resolver resolves host names to addresses. *net.Resolver implements it;
// tests inject fakes.
type Resolver interface {
	// LookupNetIP returns the addresses of host for network "ip", "ip4" or
	// "ip6". It is called once per request; its answer is what gets
	// checked and dialled.
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// RefusedError says which policy rule refused a destination. The errors
// returned by Policy methods are *auditshot.Error values with code
// EFORBIDDEN wrapping a *RefusedError; use errors.As to reach it.
type RefusedError struct {
	// Host is the host as the request named it; empty when the refusal
	// is not about a host (rule "scheme").
	Host string
	// IP is the address refused, when the refusal is about one.
	IP netip.Addr
	// Rule is the rule that refused the destination (Rule* constants).
	Rule string
	// Reason says why in a few words ("loopback address").
	Reason string
}

// Error says what was refused and why, naming the rule:
// `egress policy refused 127.0.0.2: loopback address (rule "loopback")`.
func (e *RefusedError) Error() string {
	subject := "the URL"
	switch {
	case e.Host != "" && e.IP.IsValid() && e.Host != e.IP.String():
		subject = quoteHost(e.Host) + " (" + e.IP.String() + ")"
	case e.Host != "":
		subject = quoteHost(e.Host)
	case e.IP.IsValid():
		subject = e.IP.String()
	}
	return fmt.Sprintf("egress policy refused %s: %s (rule %q)", subject, e.Reason, e.Rule)
}

// quoteHost quotes hosts that are not plain printable ASCII and shortens
// very long ones, so that hostile input cannot forge log or message text.
func quoteHost(h string) string {
	if len(h) > 128 {
		h = h[:128] + "..."
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] >= 0x7f || h[i] == '"' {
			return strconv.Quote(h)
		}
	}
	return h
}

func refuse(host string, ip netip.Addr, rule, reason string) error {
	re := &RefusedError{Host: host, IP: ip, Rule: rule, Reason: reason}
	return &auditshot.Error{Code: auditshot.EFORBIDDEN, Message: re.Error(), Err: re}
}

// RefusedRule returns the rule of the *RefusedError in err's chain, or ""
// if err is not a policy refusal.
func RefusedRule(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Rule
	}
	return ""
}

// Policy decides which destinations are reachable. It refuses loopback,
// private, link-local, metadata and other special-purpose addresses, IP
// literals not written canonically, and non-web schemes, unless its
// allowlist names the address or host. A Policy is immutable and safe for
// concurrent use; the zero Policy applies the default rules with an empty
// allowlist. An offline Policy refuses every destination (rule "offline").
type Policy struct {
	// offline refuses everything (auditshot.EgressPolicy.Offline).
	offline  bool
	prefixes []netip.Prefix
	names    map[string]bool
	domains  []string // "*.example.com" is stored as "example.com"
}

// NewPolicy compiles p. Allow entries are CIDRs ("10.1.0.0/16"), single IP
// addresses in canonical form ("127.0.0.1", "::1") and host names, matched
// exactly and case-insensitively; "*.example.com" matches every subdomain of
// example.com but not example.com itself. An allowed address is reachable
// whichever rule would refuse it; an allowed name is reachable whatever it
// resolves to, but other names resolving to the same address are not.
//
// It returns an *auditshot.Error with code EINVALID naming the first entry
// that is none of these.
func NewPolicy(p auditshot.EgressPolicy) (*Policy, error) {
	pol := &Policy{names: make(map[string]bool), offline: p.Offline}
	for _, entry := range p.Allow {
		if why := pol.add(strings.TrimSpace(entry)); why != "" {
			return nil, auditshot.Errorf(auditshot.EINVALID, "egress allow entry %q: %s", entry, why)
		}
	}
	return pol, nil
}

// add compiles one allow entry, or says what is wrong with it.
func (p *Policy) add(e string) string {
	if e == "" {
		return "empty entry"
	}
	if strings.Contains(e, "/") {
		pfx, err := netip.ParsePrefix(e)
		if err != nil {
			return "not a valid CIDR"
		}
		if pfx != pfx.Masked() {
			return fmt.Sprintf("bits set beyond the prefix length (did you mean %s?)", pfx.Masked())
		}
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		p.prefixes = append(p.prefixes, pfx)
		return ""
	}
	if ip, canonical, ok := ParseHostIP(e); ok {
		if !canonical {
			return fmt.Sprintf("IP address not written in canonical form (%s)", ip.WithZone(""))
		}
		ip = unmap(ip)
		p.prefixes = append(p.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		return ""
	}
	if endsInNumber(e) {
		return "not a valid IP address"
	}
	if rest, ok := strings.CutPrefix(e, "*."); ok {
		name, ok := normalizeName(rest)
		if !ok {
			return "not a valid host name pattern"
		}
		p.domains = append(p.domains, name)
		return ""
	}
	name, ok := normalizeName(e)
	if !ok {
		return "not a valid host name, IP address or CIDR"
	}
	p.names[name] = true
	return ""
}

func (p *Policy) allowsAddr(ip netip.Addr) bool {
	if p == nil {
		return false
	}
	for _, pfx := range p.prefixes {
		if pfx.Contains(ip) {
			return true
		}
	}
	return false
}

// allowsName reports whether host (any case, optional trailing dot) is on
// the allowlist.
func (p *Policy) allowsName(host string) bool {
	if p == nil || host == "" {
		return false
	}
	name, ok := normalizeName(host)
	if !ok {
		return false
	}
	if p.names[name] {
		return true
	}
	for _, d := range p.domains {
		if hasSuffix(name, d) {
			return true
		}
	}
	return false
}

// CheckAddr reports whether ip, an address host resolved to (host may be
// empty), may be dialled. IPv4-mapped and IPv4-compatible addresses are
// checked as IPv4; NAT64, 6to4 and Teredo addresses are checked by the IPv4
// addresses they embed. It returns nil when host is an allowed name, when
// ip is allowed, or when no rule refuses ip, and otherwise an
// *auditshot.Error with code EFORBIDDEN wrapping a *RefusedError.
func (p *Policy) CheckAddr(host string, ip netip.Addr) error {
	if p != nil && p.offline {
		return refuse(host, ip, RuleOffline, "the policy allows no network access")
	}
	if p.allowsName(host) {
		return nil
	}
	if !ip.IsValid() {
		return refuse(host, ip, RuleInvalidHost, "no address")
	}
	rule, reason := classify(ip, p.allowsAddr)
	if rule == "" {
		return nil
	}
	return refuse(host, ip, rule, reason)
}

// CheckHost checks host, the host of a URL or CONNECT authority, without
// resolving it. For an IP literal it returns the address, after refusing
// non-canonical spellings (rule "ambiguous-ip-spelling") and checking the
// address with CheckAddr. For a name it returns the zero Addr, after
// refusing invalid names and names that are refused whatever they resolve
// to (localhost, metadata.google.internal), unless allowed; the caller must
// then resolve the name and check every address.
func (p *Policy) CheckHost(host string) (netip.Addr, error) {
	if p != nil && p.offline {
		return netip.Addr{}, refuse(host, netip.Addr{}, RuleOffline, "the policy allows no network access")
	}
	if ip, canonical, ok := ParseHostIP(host); ok {
		if !canonical {
			return netip.Addr{}, refuse(host, ip.WithZone(""), RuleAmbiguousIPSpelling, "IP address not written in canonical form")
		}
		return ip, p.CheckAddr("", ip)
	}
	if endsInNumber(host) {
		return netip.Addr{}, refuse(host, netip.Addr{}, RuleAmbiguousIPSpelling, "not a valid IP address")
	}
	name, ok := normalizeName(host)
	if !ok {
		return netip.Addr{}, refuse(host, netip.Addr{}, RuleInvalidHost, "not a valid host name")
	}
	if p.allowsName(name) {
		return netip.Addr{}, nil
	}
	if rule, reason := nameRule(name); rule != "" {
		return netip.Addr{}, refuse(host, netip.Addr{}, rule, reason)
	}
	return netip.Addr{}, nil
}

// Resolve checks host with CheckHost, resolves it with r (net.DefaultResolver
// if nil) unless it is an IP literal, and checks every address with
// CheckAddr. It returns the addresses to dial: all of them passed the check,
// and those checked as IPv4 (IPv4-mapped and IPv4-compatible) are returned
// as the IPv4 address that was checked. One refused address refuses the host.
//
// A name that does not exist yields an *auditshot.Error with code EINVALID;
// other resolution failures code EUNAVAILABLE.
func (p *Policy) Resolve(ctx context.Context, host string, r Resolver) ([]netip.Addr, error) {
	ip, err := p.CheckHost(host)
	if err != nil {
		return nil, err
	}
	if ip.IsValid() {
		return []netip.Addr{dialAddr(ip)}, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, resolveError(host, err)
	}
	if len(addrs) == 0 {
		return nil, auditshot.Errorf(auditshot.EINVALID, "host %s not found", quoteHost(host))
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if err := p.CheckAddr(host, a); err != nil {
			return nil, err
		}
		out = append(out, dialAddr(a))
	}
	return out, nil
}

// dialAddr is the address to dial for ip: the IPv4 address it was checked
// as, if any, else ip itself, zone included.
func dialAddr(ip netip.Addr) netip.Addr {
	if u := unmap(ip); u.Is4() {
		return u
	}
	return ip
}

func resolveError(host string, err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return &auditshot.Error{Code: auditshot.EINVALID, Message: fmt.Sprintf("host %s not found", quoteHost(host)), Err: err}
	}
	return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: fmt.Sprintf("cannot resolve host %s", quoteHost(host)), Err: err}
}

// webScheme reports whether scheme (lower case) may be fetched.
func webScheme(scheme string) bool {
	switch scheme {
	case "http", "https", "ws", "wss":
		return true
	}
	return false
}

// CheckURL checks rawURL without connecting: the scheme must be http, https,
// ws or wss (rule "scheme" otherwise: file:, data:, chrome:, view-source:,
// javascript:, ftp: ...), then the host is checked, resolved with r and
// every address checked, as by Resolve, whose result it returns. A URL that
// does not parse yields an *auditshot.Error with code EINVALID.
func (p *Policy) CheckURL(ctx context.Context, rawURL string, r Resolver) ([]netip.Addr, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EINVALID, Message: "invalid URL", Err: err}
	}
	scheme := strings.ToLower(u.Scheme)
	if !webScheme(scheme) {
		if len(scheme) > 32 {
			scheme = scheme[:32] + "..."
		}
		return nil, refuse("", netip.Addr{}, RuleScheme, fmt.Sprintf("scheme %q is not allowed", scheme))
	}
	return p.Resolve(ctx, u.Hostname(), r)
}
