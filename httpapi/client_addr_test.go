package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

// TestClientAddr: X-Forwarded-For is believed only from trusted proxies,
// from the right, up to the first address that is not a trusted proxy.
func TestClientAddr(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.7:5000", nil, "192.0.2.7"},
		{"192.0.2.7:5000", []string{"198.51.100.1"}, "192.0.2.7"},                           // not a proxy: the header is ignored
		{"127.0.0.1:5000", nil, "127.0.0.1"},                                                // a proxy with no header
		{"127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},                        // one proxy
		{"127.0.0.1:5000", []string{"203.0.113.9, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"}, // a spoofed left part is not believed
		{"127.0.0.1:5000", []string{"198.51.100.1", "10.1.2.3"}, "198.51.100.1"},            // two header lines
		{"[::ffff:127.0.0.1]:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"127.0.0.1:5000", []string{"198.51.100.1, junk"}, "127.0.0.1"}, // malformed: stop at the proxy
		{"127.0.0.1:5000", []string{"10.9.9.9"}, "10.9.9.9"},            // every hop trusted: the farthest
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r); got != c.want {
			t.Errorf("from %s with X-Forwarded-For %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}
