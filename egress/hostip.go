package egress

import (
	"net/netip"
	"strings"
)

// ParseHostIP reports whether host, the host part of a URL or of a CONNECT
// authority, denotes an IP address, and which one.
//
// It understands every spelling that inet_aton(3) and the WHATWG URL
// standard (what browsers implement) accept for IPv4: one to four parts
// separated by dots, each decimal, octal (leading "0") or hexadecimal
// (leading "0x"), the last part filling the remaining bytes ("127.1",
// "2130706433", "0x7f.1", "017700000001"), with an optional trailing dot.
// IPv6 addresses may be bracketed ("[::1]") or not, and may carry a zone
// ("fe80::1%eth0"); the returned address keeps the zone.
//
// canonical is true only when host is exactly the address as netip prints
// it (within brackets, for IPv6): dotted-quad without leading zeros,
// lower-case compressed IPv6, no zone. Browsers serialise IPv4-mapped IPv6
// addresses in hex ("::ffff:7f00:1"), which netip prints as
// "::ffff:127.0.0.1", so that spelling is not canonical either.
//
// ok is false when host is not an IP address in any of these spellings.
func ParseHostIP(host string) (ip netip.Addr, canonical bool, ok bool) {
	if strings.HasPrefix(host, "[") {
		if len(host) < 2 || !strings.HasSuffix(host, "]") {
			return netip.Addr{}, false, false
		}
		return parseIPv6(host[1 : len(host)-1])
	}
	if strings.Contains(host, ":") {
		return parseIPv6(host)
	}
	ip, ok = parseIPv4(host)
	if !ok {
		return netip.Addr{}, false, false
	}
	return ip, host == ip.String(), true
}

func parseIPv6(s string) (netip.Addr, bool, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is6() {
		return netip.Addr{}, false, false
	}
	return ip, ip.Zone() == "" && s == ip.String(), true
}

// parseIPv4 implements the WHATWG "IPv4 parser", which accepts what
// inet_aton accepts plus a trailing dot.
func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, part := range parts {
		n, ok := parseIPv4Number(part)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(5-len(parts))) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Number parses one part of an IPv4 address: decimal, octal with a
// leading "0", or hexadecimal with a leading "0x" (an empty "0x" is zero).
// Values above 2^32 fail rather than overflow.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d, ok := digitValue(s[i])
		if !ok || d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// endsInNumber reports whether a host that failed to parse as an address
// would still be taken for an IPv4 address by a browser (the WHATWG "ends in
// a number" check): its last label is all digits or "0x" and hex digits.
// Such a host is an invalid IP literal, never a name to resolve.
func endsInNumber(host string) bool {
	parts := strings.Split(host, ".")
	if parts[len(parts)-1] == "" {
		if len(parts) == 1 {
			return false
		}
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return strings.Trim(last[2:], "0123456789abcdefABCDEF") == ""
	}
	return false
}

// normalizeName lower-cases a host name and drops one trailing dot. It
// reports false for anything that is not a plausible DNS name: empty, longer
// than 253 bytes, empty labels, or bytes other than ASCII letters, digits,
// '-' and '_'.
func normalizeName(host string) (string, bool) {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" || len(name) > 253 {
		return "", false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return name, true
}
