package egress_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/auditshot/auditshot/egress"
)

func TestParseHostIP(t *testing.T) {
	tests := []struct {
		host      string
		want      string // "" when not an IP
		canonical bool
	}{
		// Canonical forms.
		{"127.0.0.1", "127.0.0.1", true},
		{"0.0.0.0", "0.0.0.0", true},
		{"255.255.255.255", "255.255.255.255", true},
		{"10.1.2.3", "10.1.2.3", true},
		{"[::1]", "::1", true},
		{"::1", "::1", true},
		{"[2001:db8::1]", "2001:db8::1", true},
		{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1", true},

		// Decimal integer.
		{"2130706433", "127.0.0.1", false},
		{"0", "0.0.0.0", false},
		{"4294967295", "255.255.255.255", false},
		{"3232235521", "192.168.0.1", false},
		// Octal.
		{"0177.0.0.1", "127.0.0.1", false},
		{"017700000001", "127.0.0.1", false},
		{"127.000.000.001", "127.0.0.1", false},
		{"0127.0.0.1", "87.0.0.1", false},
		{"00", "0.0.0.0", false},
		// Hexadecimal.
		{"0x7f.1", "127.0.0.1", false},
		{"0x7f000001", "127.0.0.1", false},
		{"0X7F.0.0.1", "127.0.0.1", false},
		{"0x7f.0x0.0x0.0x1", "127.0.0.1", false},
		{"0xA9.0xFE.0xA9.0xFE", "169.254.169.254", false},
		{"0x", "0.0.0.0", false},
		// Short forms.
		{"127.1", "127.0.0.1", false},
		{"127.0.1", "127.0.0.1", false},
		{"10.65535", "10.0.255.255", false},
		{"169.254.43518", "169.254.169.254", false},
		// Mixed.
		{"0x7f.0.1", "127.0.0.1", false},
		{"0177.0x0.1", "127.0.0.1", false},
		{"0x7f.00.0x0.1", "127.0.0.1", false},
		// Trailing dot.
		{"127.0.0.1.", "127.0.0.1", false},
		{"2130706433.", "127.0.0.1", false},
		// Non-canonical IPv6.
		{"[0:0:0:0:0:0:0:1]", "::1", false},
		{"[::0001]", "::1", false},
		{"[2001:DB8::1]", "2001:db8::1", false},
		{"[::FFFF:127.0.0.1]", "::ffff:127.0.0.1", false},
		{"[::ffff:7f00:1]", "::ffff:127.0.0.1", false},
		{"[::127.0.0.1]", "::7f00:1", false},
		{"[fe80::1%eth0]", "fe80::1%eth0", false},
		{"fe80::1%25eth0", "fe80::1%25eth0", false},

		// Not IP addresses.
		{"", "", false},
		{".", "", false},
		{"example.com", "", false},
		{"1.2.3.com", "", false},
		{"localhost", "", false},
		{"256.0.0.1", "", false},
		{"1.256.0.1", "", false},
		{"1.2.3.256", "", false},
		{"1.2.65536", "", false},
		{"4294967296", "", false},
		{"99999999999999999999999", "", false},
		{"1.2.3.4.5", "", false},
		{"1..2.3", "", false},
		{"127.0.0.1..", "", false},
		{"08.0.0.1", "", false},
		{"0x7g.0.0.1", "", false},
		{"1.2.3.-4", "", false},
		{"+1.2.3.4", "", false},
		{" 127.0.0.1", "", false},
		{"[1.2.3.4]", "", false},
		{"[::1", "", false},
		{"[]", "", false},
		{"[", "", false},
		{"[::1]:80", "", false},
		{"::1::", "", false},
		{"[::ffff:0177.0.0.1]", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			ip, canonical, ok := egress.ParseHostIP(tt.host)
			if tt.want == "" {
				if ok {
					t.Fatalf("ParseHostIP(%q) = %v, %v, true; want not an IP", tt.host, ip, canonical)
				}
				return
			}
			if !ok {
				t.Fatalf("ParseHostIP(%q): not an IP; want %s", tt.host, tt.want)
			}
			if got := ip.String(); got != tt.want || canonical != tt.canonical {
				t.Errorf("ParseHostIP(%q) = %s, canonical %v; want %s, canonical %v", tt.host, got, canonical, tt.want, tt.canonical)
			}
		})
	}
}

func FuzzParseHostIP(f *testing.F) {
	for _, seed := range []string{
		"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "127.0.0.1.",
		"[::1]", "::1", "[fe80::1%eth0]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
		"example.com", "0x", "4294967296", "1.2.3.4.5", "", "[", "0xffffffff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, canonical, ok := egress.ParseHostIP(host)
		if !ok {
			if canonical || ip.IsValid() {
				t.Fatalf("ParseHostIP(%q) = %v, %v, false", host, ip, canonical)
			}
			return
		}
		if !ip.IsValid() {
			t.Fatalf("ParseHostIP(%q): ok with invalid address", host)
		}
		if back, err := netip.ParseAddr(ip.String()); err != nil || back != ip {
			t.Fatalf("ParseHostIP(%q) = %v, which does not round-trip (%v, %v)", host, ip, back, err)
		}
		if canonical {
			text := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
			if ip.String() != text {
				t.Fatalf("ParseHostIP(%q) claims canonical but the address prints as %q", host, ip.String())
			}
			if ip.Zone() != "" {
				t.Fatalf("ParseHostIP(%q) claims canonical with zone %q", host, ip.Zone())
			}
		}
	})
}
