package egress_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/egress"
)

// These tests decide; they never connect anywhere.

func mustPolicy(tb testing.TB, allow ...string) *egress.Policy {
	tb.Helper()
	p, err := egress.NewPolicy(auditshot.EgressPolicy{Allow: allow})
	if err != nil {
		tb.Fatalf("NewPolicy(%q): %v", allow, err)
	}
	return p
}

// checkRule returns the rule err refuses with, "" for nil, and fails the
// test if err is not a well-formed refusal.
func checkRule(tb testing.TB, err error) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	if code := auditshot.ErrorCode(err); code != auditshot.EFORBIDDEN {
		tb.Fatalf("error %v: code %q, want %q", err, code, auditshot.EFORBIDDEN)
	}
	var re *egress.RefusedError
	if !errors.As(err, &re) {
		tb.Fatalf("error %v does not wrap a *RefusedError", err)
	}
	if msg := auditshot.ErrorMessage(err); !strings.Contains(msg, `(rule "`+re.Rule+`")`) {
		tb.Fatalf("message %q does not name rule %q", msg, re.Rule)
	}
	return re.Rule
}

func TestPolicy_CheckAddr(t *testing.T) {
	tests := []struct {
		ip    string
		allow []string
		host  string
		want  string // rule, "" if reachable
	}{
		// Public unicast.
		{ip: "93.184.216.34"},
		{ip: "8.8.8.8"},
		{ip: "2606:4700::1111"},
		{ip: "2a00:1450:4001::200e"},
		// IPv4 special-purpose ranges.
		{ip: "0.0.0.0", want: egress.RuleUnspecified},
		{ip: "0.1.2.3", want: egress.RuleUnspecified},
		{ip: "127.0.0.1", want: egress.RuleLoopback},
		{ip: "127.0.0.2", want: egress.RuleLoopback},
		{ip: "127.255.255.254", want: egress.RuleLoopback},
		{ip: "10.0.0.1", want: egress.RulePrivate},
		{ip: "10.255.255.255", want: egress.RulePrivate},
		{ip: "172.16.0.1", want: egress.RulePrivate},
		{ip: "172.31.255.255", want: egress.RulePrivate},
		{ip: "172.32.0.1"},
		{ip: "172.15.255.255"},
		{ip: "192.168.1.1", want: egress.RulePrivate},
		{ip: "100.64.0.1", want: egress.RuleCGNAT},
		{ip: "100.127.255.255", want: egress.RuleCGNAT},
		{ip: "100.128.0.1"},
		{ip: "169.254.0.1", want: egress.RuleLinkLocal},
		{ip: "169.254.169.254", want: egress.RuleMetadata},
		{ip: "169.254.170.2", want: egress.RuleMetadata},
		{ip: "100.100.100.200", want: egress.RuleMetadata},
		{ip: "168.63.129.16", want: egress.RuleMetadata},
		{ip: "192.0.0.192", want: egress.RuleMetadata},
		{ip: "192.0.0.8", want: egress.RuleReserved},
		{ip: "192.0.2.1", want: egress.RuleDocumentation},
		{ip: "198.51.100.7", want: egress.RuleDocumentation},
		{ip: "203.0.113.9", want: egress.RuleDocumentation},
		{ip: "198.18.0.1", want: egress.RuleBenchmark},
		{ip: "198.19.255.255", want: egress.RuleBenchmark},
		{ip: "192.88.99.1", want: egress.RuleReserved},
		{ip: "224.0.0.1", want: egress.RuleMulticast},
		{ip: "239.255.255.250", want: egress.RuleMulticast},
		{ip: "240.0.0.1", want: egress.RuleReserved},
		{ip: "255.255.255.254", want: egress.RuleReserved},
		{ip: "255.255.255.255", want: egress.RuleBroadcast},
		// IPv6 special-purpose ranges.
		{ip: "::", want: egress.RuleUnspecified},
		{ip: "::1", want: egress.RuleLoopback},
		{ip: "fe80::1", want: egress.RuleLinkLocal},
		{ip: "fe80::1%eth0", want: egress.RuleLinkLocal},
		{ip: "febf::1", want: egress.RuleLinkLocal},
		{ip: "fec0::1", want: egress.RuleSiteLocal},
		{ip: "fc00::1", want: egress.RuleULA},
		{ip: "fd12:3456::1", want: egress.RuleULA},
		{ip: "fd00:ec2::254", want: egress.RuleMetadata},
		{ip: "ff02::1", want: egress.RuleMulticast},
		{ip: "ff05::1:3", want: egress.RuleMulticast},
		{ip: "2001:db8::1", want: egress.RuleDocumentation},
		{ip: "3fff::1", want: egress.RuleDocumentation},
		{ip: "2001:2::1", want: egress.RuleBenchmark},
		{ip: "2001:10::1", want: egress.RuleReserved},
		{ip: "100::1", want: egress.RuleReserved},
		{ip: "64:ff9b:1::1", want: egress.RuleReserved},
		{ip: "5f00::1", want: egress.RuleReserved},
		{ip: "4000::1", want: egress.RuleReserved},
		{ip: "1::1", want: egress.RuleReserved},
		// IPv4-mapped and IPv4-compatible: checked as IPv4.
		{ip: "::ffff:127.0.0.1", want: egress.RuleLoopback},
		{ip: "::ffff:10.0.0.1", want: egress.RulePrivate},
		{ip: "::ffff:169.254.169.254", want: egress.RuleMetadata},
		{ip: "::ffff:8.8.8.8"},
		{ip: "::127.0.0.1", want: egress.RuleLoopback},
		{ip: "::a00:1", want: egress.RulePrivate},
		{ip: "::8.8.8.8"},
		{ip: "::0.0.0.2", want: egress.RuleUnspecified},
		// NAT64, 6to4 and Teredo: checked by the IPv4 they embed.
		{ip: "64:ff9b::7f00:1", want: egress.RuleLoopback},
		{ip: "64:ff9b::a9fe:a9fe", want: egress.RuleMetadata},
		{ip: "64:ff9b::808:808"},
		{ip: "2002:7f00:1::1", want: egress.RuleLoopback},
		{ip: "2002:c0a8:101::1", want: egress.RulePrivate},
		{ip: "2002:808:808::1"},
		{ip: "2001:0:808:808::f5ff:fffe", want: egress.RulePrivate},  // client 10.0.0.1
		{ip: "2001:0:808:808::80ff:fffe", want: egress.RuleLoopback}, // client 127.0.0.1
		{ip: "2001:0:a00:1::f7f7:f7f7", want: egress.RulePrivate},    // server 10.0.0.1
		{ip: "2001:0:808:808::f7f7:f7f7"},                            // client 8.8.8.8
		// Allowlisted addresses and prefixes.
		{ip: "127.0.0.1", allow: []string{"127.0.0.1"}},
		{ip: "127.0.0.2", allow: []string{"127.0.0.1"}, want: egress.RuleLoopback},
		{ip: "::ffff:127.0.0.1", allow: []string{"127.0.0.1"}},
		{ip: "10.1.2.3", allow: []string{"10.1.0.0/16"}},
		{ip: "10.2.0.1", allow: []string{"10.1.0.0/16"}, want: egress.RulePrivate},
		{ip: "10.1.2.3", allow: []string{"::ffff:10.1.0.0/112"}},
		{ip: "169.254.169.254", allow: []string{"169.254.169.254"}},
		{ip: "::1", allow: []string{"::1"}},
		{ip: "::1", allow: []string{"127.0.0.1"}, want: egress.RuleLoopback},
		{ip: "fd00::5", allow: []string{"fd00::/8"}},
		{ip: "64:ff9b::a00:1", allow: []string{"10.0.0.1"}},
		{ip: "64:ff9b::a00:1", allow: []string{"64:ff9b::/96"}},
		// Allowlisted names: any address they resolve to.
		{ip: "10.0.0.5", host: "intranet.test", allow: []string{"intranet.test"}},
		{ip: "10.0.0.5", host: "INTRANET.test.", allow: []string{"intranet.test"}},
		{ip: "10.0.0.5", host: "other.test", allow: []string{"intranet.test"}, want: egress.RulePrivate},
		{ip: "10.0.0.5", host: "a.intranet.test", allow: []string{"intranet.test"}, want: egress.RulePrivate},
		{ip: "10.0.0.5", host: "a.corp.test", allow: []string{"*.corp.test"}},
		{ip: "10.0.0.5", host: "a.b.corp.test", allow: []string{"*.corp.test"}},
		{ip: "10.0.0.5", host: "corp.test", allow: []string{"*.corp.test"}, want: egress.RulePrivate},
		{ip: "10.0.0.5", host: "xcorp.test", allow: []string{"*.corp.test"}, want: egress.RulePrivate},
	}
	for _, tt := range tests {
		name := tt.ip
		if tt.host != "" {
			name = tt.host + "=" + tt.ip
		}
		if tt.allow != nil {
			name += "/allow=" + strings.Join(tt.allow, ",")
		}
		t.Run(name, func(t *testing.T) {
			p := mustPolicy(t, tt.allow...)
			got := checkRule(t, p.CheckAddr(tt.host, netip.MustParseAddr(tt.ip)))
			if got != tt.want {
				t.Errorf("CheckAddr(%q, %s) rule = %q, want %q", tt.host, tt.ip, got, tt.want)
			}
		})
	}
}

func TestPolicy_CheckAddr_Message(t *testing.T) {
	err := mustPolicy(t).CheckAddr("", netip.MustParseAddr("127.0.0.2"))
	want := `egress policy refused 127.0.0.2: loopback address (rule "loopback")`
	if got := auditshot.ErrorMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	var re *egress.RefusedError
	if !errors.As(err, &re) || re.Rule != egress.RuleLoopback || re.IP != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("RefusedError = %+v", re)
	}
	if got := egress.RefusedRule(err); got != egress.RuleLoopback {
		t.Errorf("RefusedRule = %q", got)
	}

	err = mustPolicy(t).CheckAddr("evil.test", netip.MustParseAddr("64:ff9b::7f00:1"))
	want = `egress policy refused evil.test (64:ff9b::7f00:1): NAT64 address embedding 127.0.0.1: loopback address (rule "loopback")`
	if got := auditshot.ErrorMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestNewPolicy(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		mustPolicy(t, "10.0.0.0/8", "127.0.0.1", "::1", "[::1]", "fd00::/8", " intranet.test ",
			"Intranet.Example.", "*.corp.test", "host_name.test", "::ffff:10.0.0.0/104", "localhost")
	})
	for _, entry := range []string{
		"", "  ", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/x", "127.1", "2130706433", "0x7f.0.0.1",
		"0177.0.0.1", "127.0.0.1.", "1.2.3.256", "[::FFFF:7f00:1]", "fe80::1%eth0", "exa mple.test",
		"*.", "*", "*.*.test", "foo..test", "http://example.test", "example.test:80", "ex@mple.test",
		"*.0.0.1", strings.Repeat("a", 64) + ".test",
	} {
		t.Run("ErrInvalid/"+entry, func(t *testing.T) {
			_, err := egress.NewPolicy(auditshot.EgressPolicy{Allow: []string{"8.8.8.8", entry}})
			if code := auditshot.ErrorCode(err); code != auditshot.EINVALID {
				t.Fatalf("NewPolicy(%q): code %q (%v), want %q", entry, code, err, auditshot.EINVALID)
			}
			if msg := auditshot.ErrorMessage(err); !strings.Contains(msg, `"`+entry+`"`) {
				t.Errorf("message %q does not name entry %q", msg, entry)
			}
		})
	}
}

// fakeResolver answers from a table; successive lookups of one name walk
// through its answers, the last one repeating. Names not in the table do
// not exist.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string // host -> successive answers, "a,b" each
	errs    map[string]error
	calls   map[string]int
}

func newResolver(answers map[string][]string) *fakeResolver {
	return &fakeResolver{answers: answers, errs: map[string]error{}, calls: map[string]int{}}
}

func (f *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls[host]
	f.calls[host]++
	if network != "ip" {
		return nil, errors.New("fakeResolver: unexpected network " + network)
	}
	if err := f.errs[host]; err != nil {
		return nil, err
	}
	seq, ok := f.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var addrs []netip.Addr
	for a := range strings.SplitSeq(seq[min(n, len(seq)-1)], ",") {
		if a != "" {
			addrs = append(addrs, netip.MustParseAddr(a))
		}
	}
	return addrs, nil
}

func (f *fakeResolver) Calls(host string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[host]
}

func TestPolicy_CheckURL(t *testing.T) {
	res := newResolver(map[string][]string{
		"public.test":     {"93.184.216.34,2606:2800:220:1::1"},
		"internal.test":   {"10.0.0.5"},
		"mixed.test":      {"93.184.216.34,127.0.0.2"},
		"mapped.test":     {"::ffff:93.184.216.34"},
		"compat.test":     {"::7f00:1"},
		"mapped-lo.test":  {"::ffff:127.0.0.2"},
		"intranet.test":   {"10.1.2.3"},
		"alias.test":      {"10.1.2.3"},
		"a.corp.test":     {"10.9.9.9"},
		"corp.test":       {"10.9.9.9"},
		"empty.test":      {""},
		"localhost":       {"127.0.0.1"},
		"metadata.test":   {"169.254.169.254"},
		"nat64.test":      {"64:ff9b::a9fe:a9fe"},
		"linklocal6.test": {"fe80::1%eth0"},
	})
	res.errs["flaky.test"] = &net.DNSError{Err: "server misbehaving", Name: "flaky.test", IsTemporary: true}
	allow := []string{"127.0.0.1", "::1", "intranet.test", "*.corp.test"}

	tests := []struct {
		url      string
		want     string // rule, or an error code for non-refusals
		addrs    string // on success
		resolved bool   // whether the resolver must have been asked
	}{
		{url: "http://public.test/", addrs: "93.184.216.34,2606:2800:220:1::1", resolved: true},
		{url: "HTTPS://public.test:8443/x?y#z", addrs: "93.184.216.34,2606:2800:220:1::1", resolved: true},
		{url: "wss://public.test/socket", addrs: "93.184.216.34,2606:2800:220:1::1", resolved: true},
		{url: "ws://public.test/socket", addrs: "93.184.216.34,2606:2800:220:1::1", resolved: true},
		{url: "http://mapped.test/", addrs: "93.184.216.34", resolved: true},
		{url: "http://compat.test/", addrs: "127.0.0.1", resolved: true},
		{url: "http://[::7f00:1]/", addrs: "127.0.0.1"},
		{url: "http://internal.test/", want: egress.RulePrivate, resolved: true},
		{url: "http://mixed.test/", want: egress.RuleLoopback, resolved: true},
		{url: "http://mapped-lo.test/", want: egress.RuleLoopback, resolved: true},
		{url: "http://metadata.test/", want: egress.RuleMetadata, resolved: true},
		{url: "http://nat64.test/", want: egress.RuleMetadata, resolved: true},
		{url: "http://linklocal6.test/", want: egress.RuleLinkLocal, resolved: true},
		{url: "http://intranet.test/", addrs: "10.1.2.3", resolved: true},
		{url: "http://alias.test/", want: egress.RulePrivate, resolved: true},
		{url: "http://a.corp.test/", addrs: "10.9.9.9", resolved: true},
		{url: "http://corp.test/", want: egress.RulePrivate, resolved: true},
		{url: "http://nowhere.test/", want: auditshot.EINVALID, resolved: true},
		{url: "http://empty.test/", want: auditshot.EINVALID, resolved: true},
		{url: "http://flaky.test/", want: auditshot.EUNAVAILABLE, resolved: true},
		// Names refused before resolution.
		{url: "http://metadata.google.internal/computeMetadata/v1/", want: egress.RuleMetadata},
		{url: "http://METADATA.google.internal./", want: egress.RuleMetadata},
		{url: "http://localhost:8080/", want: egress.RuleLoopback},
		{url: "http://foo.localhost/", want: egress.RuleLoopback},
		// IP literals: checked without resolution.
		{url: "http://127.0.0.1:9/", addrs: "127.0.0.1"},
		{url: "http://[::1]:9/", addrs: "::1"},
		{url: "http://127.0.0.2/", want: egress.RuleLoopback},
		{url: "http://10.0.0.1/", want: egress.RulePrivate},
		{url: "http://169.254.169.254/latest/meta-data/", want: egress.RuleMetadata},
		{url: "http://[fd00:ec2::254]/", want: egress.RuleMetadata},
		{url: "http://[::ffff:169.254.169.254]/", want: egress.RuleMetadata},
		{url: "http://[::ffff:7f00:1]/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://2130706433/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://127.1/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://0x7f.0.0.1/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://0177.0.0.1/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://127.0.0.1./", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://[0:0::1]/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://[fe80::1%25eth0]/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://0xa9fea9fe/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://127.0.0.256/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://08.0.0.1/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http://1.2.3.4.5/", want: egress.RuleAmbiguousIPSpelling},
		{url: "http:///path", want: egress.RuleInvalidHost},
		{url: "http:example.test", want: egress.RuleInvalidHost},
		{url: "http://bad_host!.test/", want: egress.RuleInvalidHost},
		// Schemes.
		{url: "file:///etc/passwd", want: egress.RuleScheme},
		{url: "FILE:///etc/passwd", want: egress.RuleScheme},
		{url: "chrome://settings", want: egress.RuleScheme},
		{url: "chrome-extension://abc/x.html", want: egress.RuleScheme},
		{url: "view-source:http://public.test/", want: egress.RuleScheme},
		{url: "ftp://public.test/file", want: egress.RuleScheme},
		{url: "data:text/html,<h1>hi</h1>", want: egress.RuleScheme},
		{url: "javascript:alert(1)", want: egress.RuleScheme},
		{url: "about:blank", want: egress.RuleScheme},
		{url: "blob:http://public.test/uuid", want: egress.RuleScheme},
		{url: "gopher://public.test/", want: egress.RuleScheme},
		{url: "//public.test/", want: egress.RuleScheme},
		{url: "http://public.test:port/", want: auditshot.EINVALID},
	}
	p := mustPolicy(t, allow...)
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			before := res.total()
			addrs, err := p.CheckURL(t.Context(), tt.url, res)
			if resolved := res.total() > before; resolved != tt.resolved {
				t.Errorf("resolver asked: %v, want %v", resolved, tt.resolved)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q): %v", tt.url, err)
				}
				var got []string
				for _, a := range addrs {
					got = append(got, a.String())
				}
				if g := strings.Join(got, ","); g != tt.addrs {
					t.Errorf("CheckURL(%q) = %s, want %s", tt.url, g, tt.addrs)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckURL(%q) = %v, want %s", tt.url, addrs, tt.want)
			}
			got := auditshot.ErrorCode(err)
			if got == auditshot.EFORBIDDEN {
				got = checkRule(t, err)
			}
			if got != tt.want {
				t.Errorf("CheckURL(%q): %v; want %s", tt.url, err, tt.want)
			}
		})
	}
}

func (f *fakeResolver) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func TestPolicy_CheckHost(t *testing.T) {
	p := mustPolicy(t, "127.0.0.1")
	ip, err := p.CheckHost("127.0.0.1")
	if err != nil || ip != netip.MustParseAddr("127.0.0.1") {
		t.Errorf(`CheckHost("127.0.0.1") = %v, %v`, ip, err)
	}
	ip, err = p.CheckHost("example.test")
	if err != nil || ip.IsValid() {
		t.Errorf(`CheckHost("example.test") = %v, %v; want a name to resolve`, ip, err)
	}
	for host, want := range map[string]string{
		"2130706433": egress.RuleAmbiguousIPSpelling,
		"127.1":      egress.RuleAmbiguousIPSpelling,
		"127.0.0.2":  egress.RuleLoopback,
		"":           egress.RuleInvalidHost,
		"a b":        egress.RuleInvalidHost,
		"[::1":       egress.RuleInvalidHost,
		"é.test":     egress.RuleInvalidHost,
	} {
		_, err := p.CheckHost(host)
		if got := checkRule(t, err); got != want {
			t.Errorf("CheckHost(%q) rule %q, want %q", host, got, want)
		}
	}
	// The message of a hostile host is quoted.
	_, err = p.CheckHost("a\nb")
	if msg := auditshot.ErrorMessage(err); strings.Contains(msg, "\n") {
		t.Errorf("message %q carries a raw newline", msg)
	}
}

// TestPolicy_Offline checks that an offline policy refuses every
// destination, even one its allowlist names, without resolving names.
func TestPolicy_Offline(t *testing.T) {
	res := newResolver(map[string][]string{"public.test": {"93.184.216.34"}, "intranet.test": {"10.1.2.3"}})
	p, err := egress.NewPolicy(auditshot.EgressPolicy{Offline: true, Allow: []string{"127.0.0.1", "intranet.test", "10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://public.test/", "https://intranet.test/", "http://127.0.0.1:9/", "http://[::1]/", "ws://93.184.216.34/"} {
		if _, err := p.CheckURL(t.Context(), u, res); egress.RefusedRule(err) != egress.RuleOffline || auditshot.ErrorCode(err) != auditshot.EFORBIDDEN {
			t.Errorf("CheckURL(%s) = %v, want refused by rule %q", u, err, egress.RuleOffline)
		}
	}
	for _, a := range []string{"93.184.216.34", "127.0.0.1", "10.1.2.3"} {
		if err := p.CheckAddr("intranet.test", netip.MustParseAddr(a)); egress.RefusedRule(err) != egress.RuleOffline {
			t.Errorf("CheckAddr(%s) = %v, want refused by rule %q", a, err, egress.RuleOffline)
		}
	}
	if len(res.calls) != 0 {
		t.Errorf("an offline policy resolved names: %v", res.calls)
	}
	if _, err := p.DialContext(t.Context(), "tcp", "127.0.0.1:9"); egress.RefusedRule(err) != egress.RuleOffline {
		t.Errorf("DialContext = %v, want refused by rule %q", err, egress.RuleOffline)
	}
}
