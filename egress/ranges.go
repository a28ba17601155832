package egress

import (
	"fmt"
	"net/netip"
)

// Rules name why a destination was refused. They appear in
// RefusedError.Rule, auditshot.EgressRecord.Blocked and the
// X-Auditshot-Egress-Refused response header.
const (
	// RuleUnarmed refuses everything a session handles before Arm.
	RuleUnarmed = "unarmed"
	// RuleOffline refuses every destination of an offline policy
	// (auditshot.EgressPolicy.Offline).
	RuleOffline = "offline"
	// RuleScheme refuses URLs whose scheme is not http, https, ws or wss.
	RuleScheme = "scheme"
	// RuleInvalidHost refuses hosts that are neither an IP address nor a
	// plausible DNS name.
	RuleInvalidHost = "invalid-host"
	// RuleAmbiguousIPSpelling refuses IP literals not written canonically
	// ("127.1", "2130706433", "0x7f.0.0.1", "[::FFFF:7f00:1]"), whatever
	// address they denote: allow entries name canonical addresses.
	RuleAmbiguousIPSpelling = "ambiguous-ip-spelling"
	// RuleUnspecified refuses 0.0.0.0/8 and ::.
	RuleUnspecified = "unspecified"
	// RuleLoopback refuses 127.0.0.0/8, ::1 and the names localhost and
	// *.localhost.
	RuleLoopback = "loopback"
	// RulePrivate refuses the RFC 1918 ranges 10/8, 172.16/12, 192.168/16.
	RulePrivate = "private"
	// RuleCGNAT refuses shared address space 100.64.0.0/10.
	RuleCGNAT = "cgnat"
	// RuleLinkLocal refuses 169.254.0.0/16 and fe80::/10.
	RuleLinkLocal = "link-local"
	// RuleSiteLocal refuses the deprecated IPv6 site-local fec0::/10.
	RuleSiteLocal = "site-local"
	// RuleMetadata refuses cloud instance metadata endpoints
	// (169.254.169.254, fd00:ec2::254, metadata.google.internal, ...).
	RuleMetadata = "metadata"
	// RuleMulticast refuses 224.0.0.0/4 and ff00::/8.
	RuleMulticast = "multicast"
	// RuleBroadcast refuses 255.255.255.255.
	RuleBroadcast = "broadcast"
	// RuleReserved refuses other special-purpose and unallocated ranges
	// (240.0.0.0/4, 192.0.0.0/24, IPv6 outside 2000::/3, ...).
	RuleReserved = "reserved"
	// RuleULA refuses IPv6 unique local addresses fc00::/7.
	RuleULA = "ula"
	// RuleBenchmark refuses 198.18.0.0/15 and 2001:2::/48.
	RuleBenchmark = "benchmark"
	// RuleDocumentation refuses 192.0.2.0/24, 198.51.100.0/24,
	// 203.0.113.0/24, 2001:db8::/32 and 3fff::/20.
	RuleDocumentation = "documentation"
)

type addrRange struct {
	prefix netip.Prefix
	rule   string
	reason string
}

func rng(prefix, rule, reason string) addrRange {
	return addrRange{netip.MustParsePrefix(prefix), rule, reason}
}

// ranges4 is checked in order: more specific prefixes come first.
var ranges4 = []addrRange{
	rng("169.254.169.254/32", RuleMetadata, "cloud metadata address"),
	rng("169.254.170.2/32", RuleMetadata, "cloud metadata address"),
	rng("100.100.100.200/32", RuleMetadata, "cloud metadata address"),
	rng("168.63.129.16/32", RuleMetadata, "cloud platform address"),
	rng("192.0.0.192/32", RuleMetadata, "cloud metadata address"),
	rng("0.0.0.0/8", RuleUnspecified, "unspecified address"),
	rng("10.0.0.0/8", RulePrivate, "private address"),
	rng("100.64.0.0/10", RuleCGNAT, "shared (CGNAT) address"),
	rng("127.0.0.0/8", RuleLoopback, "loopback address"),
	rng("169.254.0.0/16", RuleLinkLocal, "link-local address"),
	rng("172.16.0.0/12", RulePrivate, "private address"),
	rng("192.0.0.0/24", RuleReserved, "IETF protocol assignment"),
	rng("192.0.2.0/24", RuleDocumentation, "documentation address"),
	rng("192.88.99.0/24", RuleReserved, "6to4 relay anycast address"),
	rng("192.168.0.0/16", RulePrivate, "private address"),
	rng("198.18.0.0/15", RuleBenchmark, "benchmarking address"),
	rng("198.51.100.0/24", RuleDocumentation, "documentation address"),
	rng("203.0.113.0/24", RuleDocumentation, "documentation address"),
	rng("224.0.0.0/4", RuleMulticast, "multicast address"),
	rng("255.255.255.255/32", RuleBroadcast, "broadcast address"),
	rng("240.0.0.0/4", RuleReserved, "reserved address"),
}

// ranges6 is checked in order after IPv4-mapped, IPv4-compatible and
// embedded-IPv4 (NAT64, 6to4, Teredo) addresses have been handled. An
// address in none of them is refused unless it is in 2000::/3.
var ranges6 = []addrRange{
	rng("fd00:ec2::254/128", RuleMetadata, "cloud metadata address"),
	rng("::/128", RuleUnspecified, "unspecified address"),
	rng("::1/128", RuleLoopback, "loopback address"),
	rng("64:ff9b:1::/48", RuleReserved, "local-use NAT64 address"),
	rng("100::/64", RuleReserved, "discard-only address"),
	rng("2001:2::/48", RuleBenchmark, "benchmarking address"),
	rng("2001:10::/28", RuleReserved, "ORCHID address"),
	rng("2001:20::/28", RuleReserved, "ORCHIDv2 address"),
	rng("2001:db8::/32", RuleDocumentation, "documentation address"),
	rng("3fff::/20", RuleDocumentation, "documentation address"),
	rng("5f00::/16", RuleReserved, "SRv6 SID address"),
	rng("fc00::/7", RuleULA, "unique local address"),
	rng("fe80::/10", RuleLinkLocal, "link-local address"),
	rng("fec0::/10", RuleSiteLocal, "site-local address"),
	rng("ff00::/8", RuleMulticast, "multicast address"),
}

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
	compat4        = netip.MustParsePrefix("::/96")
)

// unmap turns IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d)
// addresses into the IPv4 address they stand for, and drops any zone.
func unmap(ip netip.Addr) netip.Addr {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() && compat4.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback() {
		b := ip.As16()
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return ip
}

// embedded4 returns the IPv4 addresses an IPv6 transition address reaches
// (NAT64, 6to4, Teredo server and client) and the mechanism's name.
func embedded4(ip netip.Addr) ([]netip.Addr, string) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[12:]))}, "NAT64"
	case sixToFour.Contains(ip):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}, "6to4"
	case teredo.Contains(ip):
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}, "Teredo"
	}
	return nil, ""
}

// classify returns the rule refusing ip, and why, or "" when ip is
// reachable. allowed reports whether an address is on the allowlist; it is
// asked about the unmapped address and about every embedded IPv4 address.
func classify(ip netip.Addr, allowed func(netip.Addr) bool) (rule, reason string) {
	ip = unmap(ip)
	if allowed(ip) {
		return "", ""
	}
	if ip.Is4() {
		return lookup(ranges4, ip)
	}
	if inner, mech := embedded4(ip); inner != nil {
		for _, v4 := range inner {
			if rule, reason := classify(v4, allowed); rule != "" {
				return rule, fmt.Sprintf("%s address embedding %s: %s", mech, v4, reason)
			}
		}
		return "", ""
	}
	if rule, reason := lookup(ranges6, ip); rule != "" {
		return rule, reason
	}
	if !globalUnicast6.Contains(ip) {
		return RuleReserved, "reserved address"
	}
	return "", ""
}

func lookup(ranges []addrRange, ip netip.Addr) (rule, reason string) {
	for _, ar := range ranges {
		if ar.prefix.Contains(ip) {
			return ar.rule, ar.reason
		}
	}
	return "", ""
}

// nameRule refuses names before resolution; the addresses they resolve to
// are checked as well.
func nameRule(name string) (rule, reason string) {
	switch {
	case name == "metadata.google.internal" || name == "metadata.goog":
		return RuleMetadata, "cloud metadata host"
	case name == "localhost" || hasSuffix(name, "localhost"):
		return RuleLoopback, "loopback host name"
	}
	return "", ""
}

// hasSuffix reports whether name is a subdomain of domain.
func hasSuffix(name, domain string) bool {
	return len(name) > len(domain)+1 && name[len(name)-len(domain)-1] == '.' && name[len(name)-len(domain):] == domain
}
