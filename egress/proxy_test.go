package egress_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/egress"
)

// These tests send traffic to loopback addresses only. Refusals of other
// ranges are tested at the decision function, in policy_test.go.

func TestSession_HTTP(t *testing.T) {
	type seen struct {
		method, path, body string
		header             http.Header
	}
	requests := make(chan seen, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests <- seen{r.Method, r.URL.RequestURI(), string(body), r.Header.Clone()}
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("X-Answer", "42")
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/path?q=1", strings.NewReader("ping"))
	req.Header.Set("Proxy-Foo", "secret")
	req.Header.Set("Connection", "X-Drop")
	req.Header.Set("X-Drop", "1")
	req.Header.Set("X-Keep", "1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" || resp.Header.Get("X-Answer") != "42" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	got := <-requests
	if got.method != http.MethodPost || got.path != "/path?q=1" || got.body != "ping" {
		t.Errorf("destination saw %+v", got)
	}
	for _, h := range []string{"Proxy-Foo", "X-Drop", "Proxy-Connection"} {
		if got.header.Get(h) != "" {
			t.Errorf("header %s forwarded", h)
		}
	}
	if got.header.Get("X-Keep") != "1" {
		t.Errorf("header X-Keep not forwarded")
	}

	// Redirects go back to the browser, unfollowed.
	resp, _ = get(t, c, srv.URL+"/redirect")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("redirect: got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	<-requests
	if len(requests) != 0 {
		t.Errorf("the proxy followed the redirect")
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, srv.Listener.Addr().String())
	recs := s.Records()
	if len(recs) != 2 {
		t.Fatalf("records: %+v", recs)
	}
	r := recs[0]
	want := auditshot.EgressRecord{
		Time: r.Time, Method: "POST", URL: srv.URL + "/path?q=1", Host: "127.0.0.1", Port: port,
		RemoteIP: "127.0.0.1", Status: 200, BytesIn: 5, BytesOut: 4,
	}
	if r != want || r.Time.IsZero() {
		t.Errorf("record\n got %+v\nwant %+v", r, want)
	}
	if recs[1].Status != http.StatusFound || recs[1].URL != srv.URL+"/redirect" {
		t.Errorf("redirect record %+v", recs[1])
	}
}

func TestSession_CONNECT(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure hello")
	}))
	defer srv.Close()
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, srv.Client().Transport.(*http.Transport))

	if _, body := get(t, c, srv.URL+"/"); body != "secure hello" {
		t.Fatalf("body %q", body)
	}
	c.CloseIdleConnections()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	recs := s.Records()
	if len(recs) != 1 {
		t.Fatalf("records: %+v", recs)
	}
	host, port := hostPort(t, srv.Listener.Addr().String())
	r := recs[0]
	if r.Method != "CONNECT" || r.URL != host+":"+port || r.Host != "127.0.0.1" || r.Port != port ||
		r.RemoteIP != "127.0.0.1" || r.Status != 0 || r.Blocked != "" {
		t.Errorf("record %+v", r)
	}
	if r.BytesIn < int64(len("secure hello")) || r.BytesOut == 0 {
		t.Errorf("record counts %d in, %d out", r.BytesIn, r.BytesOut)
	}
}

func TestSession_RefusesLoopback(t *testing.T) {
	dst := listenCanary(t, "127.0.0.2:0")
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)

	resp, body := get(t, c, "http://127.0.0.2:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleLoopback)
	if !strings.Contains(body, `rule "loopback"`) {
		t.Errorf("body %q", body)
	}
	resp, _, _ = rawConnect(t, s, "127.0.0.2:"+dst.port())
	assertRefused(t, resp, egress.RuleLoopback)
	if !resp.Close {
		t.Errorf("refused CONNECT leaves the connection open")
	}
	dst.assertUntouched(t)

	s.Close()
	for _, r := range s.Records() {
		if r.Blocked != egress.RuleLoopback || r.RemoteIP != "" || r.Host != "127.0.0.2" {
			t.Errorf("record %+v", r)
		}
	}
}

func TestSession_RefusesIPv6Loopback(t *testing.T) {
	dst := listenCanary(t, "[::1]:0")
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)

	resp, _ := get(t, c, "http://[::1]:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleLoopback)
	resp, _, _ = rawConnect(t, s, "[::1]:"+dst.port())
	assertRefused(t, resp, egress.RuleLoopback)
	resp, _ = get(t, c, "http://[::ffff:7f00:1]:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleAmbiguousIPSpelling)
	dst.assertUntouched(t)
}

func TestSession_RefusesAmbiguousSpelling(t *testing.T) {
	// 127.0.0.1 is allowed; its other spellings are not.
	dst := listenCanary(t, "127.0.0.1:0")
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)

	for _, host := range []string{"2130706433", "127.1", "0x7f.0.0.1", "0177.0.0.1", "0x7f000001", "127.0.1", "127.0.0.1."} {
		resp, _ := get(t, c, "http://"+host+":"+dst.port()+"/")
		assertRefused(t, resp, egress.RuleAmbiguousIPSpelling)
		resp, _, _ = rawConnect(t, s, host+":"+dst.port())
		assertRefused(t, resp, egress.RuleAmbiguousIPSpelling)
	}
	dst.assertUntouched(t)
}

func TestSession_RefusesNameResolvingToLoopback(t *testing.T) {
	dst := listenCanary(t, "127.0.0.2:0")
	res := newResolver(map[string][]string{"evil.test": {"127.0.0.2"}, "two.test": {"127.0.0.1,127.0.0.2"}})
	s := mustOpen(t, egress.Config{Resolver: res}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)

	resp, _ := get(t, c, "http://evil.test:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleLoopback)
	resp, _, _ = rawConnect(t, s, "evil.test:"+dst.port())
	assertRefused(t, resp, egress.RuleLoopback)
	// One refused address refuses the name, even if another is allowed.
	resp, _ = get(t, c, "http://two.test:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleLoopback)
	resp, _ = get(t, c, "http://localhost:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleLoopback)
	dst.assertUntouched(t)
	if n := res.Calls("localhost"); n != 0 {
		t.Errorf("localhost resolved %d times", n)
	}
}

func TestSession_DialsTheCheckedAddress(t *testing.T) {
	// The name first resolves to the allowed 127.0.0.1, then to the
	// refused 127.0.0.2, which listens on the same port: a proxy that
	// resolved again to dial would reach it.
	ln1, ln2 := listenPair(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "good")
	}))
	srv.Listener.Close()
	srv.Listener = ln1
	srv.Start()
	defer srv.Close()
	dst := newCanary(t, ln2)
	_, port := hostPort(t, ln1.Addr().String())

	t.Run("HTTP", func(t *testing.T) {
		res := newResolver(map[string][]string{"rebind.test": {"127.0.0.1", "127.0.0.2"}})
		s := mustOpen(t, egress.Config{Resolver: res}, []string{"127.0.0.1"})
		c := proxyClient(t, s, nil)
		if _, body := get(t, c, "http://rebind.test:"+port+"/"); body != "good" {
			t.Fatalf("body %q", body)
		}
		if n := res.Calls("rebind.test"); n != 1 {
			t.Errorf("resolved %d times for one request", n)
		}
		resp, _ := get(t, c, "http://rebind.test:"+port+"/")
		assertRefused(t, resp, egress.RuleLoopback)
		s.Close()
		if recs := s.Records(); recs[0].RemoteIP != "127.0.0.1" || recs[1].Blocked != egress.RuleLoopback {
			t.Errorf("records %+v", recs)
		}
	})
	t.Run("CONNECT", func(t *testing.T) {
		res := newResolver(map[string][]string{"rebind.test": {"127.0.0.1", "127.0.0.2"}})
		s := mustOpen(t, egress.Config{Resolver: res}, []string{"127.0.0.1"})
		resp, conn, br := rawConnect(t, s, "rebind.test:"+port)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %s", resp.Status)
		}
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: rebind.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "good" {
			t.Errorf("body %q", body)
		}
		if n := res.Calls("rebind.test"); n != 1 {
			t.Errorf("resolved %d times for one tunnel", n)
		}
		resp, _, _ = rawConnect(t, s, "rebind.test:"+port)
		assertRefused(t, resp, egress.RuleLoopback)
	})
	dst.assertUntouched(t)
}

// TestSession_Offline checks that a session armed with an offline policy
// reaches nothing, not even a loopback address its allowlist names.
func TestSession_Offline(t *testing.T) {
	dst := listenCanary(t, "127.0.0.1:0")
	s := mustOpen(t, egress.Config{}, nil)
	if err := s.Arm(auditshot.EgressPolicy{Offline: true, Allow: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	c := proxyClient(t, s, nil)
	resp, _ := get(t, c, "http://127.0.0.1:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleOffline)
	resp, _, _ = rawConnect(t, s, "127.0.0.1:"+dst.port())
	assertRefused(t, resp, egress.RuleOffline)
	dst.assertUntouched(t)
}
