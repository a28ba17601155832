package egress_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/egress"
)

// waitLimit bounds waits on conditions so that a bug fails a test instead
// of hanging it.
const waitLimit = 10 * time.Second

// mustOpen opens a session on a proxy with cfg, armed with allow unless
// allow is nil, and closes it when the test ends.
func mustOpen(tb testing.TB, cfg egress.Config, allow []string) *egress.Session {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := egress.New(cfg).OpenSession(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if allow != nil {
		if err := s.Arm(auditshot.EgressPolicy{Allow: allow}); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// proxyClient returns a client sending every request through s. It does
// not follow redirects.
func proxyClient(tb testing.TB, s *egress.Session, base *http.Transport) *http.Client {
	tb.Helper()
	u, err := url.Parse(s.ProxyURL())
	if err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{}
	if base != nil {
		tr = base.Clone()
	}
	tr.Proxy = http.ProxyURL(u)
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       waitLimit,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// canary is a destination that must not be reached: it does nothing but
// queue the connections it accepts.
type canary struct {
	ln    net.Listener
	conns chan net.Conn
}

// listenCanary listens on addr, or skips the test if that address is not
// available on this machine.
func listenCanary(tb testing.TB, addr string) *canary {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Skipf("cannot listen on %s: %v", addr, err)
	}
	return newCanary(tb, ln)
}

func newCanary(tb testing.TB, ln net.Listener) *canary {
	c := &canary{ln: ln, conns: make(chan net.Conn, 64)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				close(c.conns)
				return
			}
			c.conns <- conn
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		for conn := range c.conns {
			conn.Close()
		}
	})
	return c
}

func (c *canary) port() string {
	_, port, _ := net.SplitHostPort(c.ln.Addr().String())
	return port
}

// assertUntouched proves that no connection reached the canary so far: it
// connects itself, and the accept queue being FIFO, its own connection must
// be the first one accepted.
func (c *canary) assertUntouched(tb testing.TB) {
	tb.Helper()
	probe, err := net.Dial("tcp", c.ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer probe.Close()
	select {
	case conn := <-c.conns:
		defer conn.Close()
		if conn.RemoteAddr().String() != probe.LocalAddr().String() {
			tb.Fatalf("destination %s was reached by %s", c.ln.Addr(), conn.RemoteAddr())
		}
	case <-time.After(waitLimit):
		tb.Fatal("probe connection not accepted")
	}
}

// rawConnect sends CONNECT target to the proxy and reads the answer.
func rawConnect(tb testing.TB, s *egress.Session, target string) (*http.Response, net.Conn, *bufio.Reader) {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.ProxyURL(), "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitLimit))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		tb.Fatalf("CONNECT %s: %v", target, err)
	}
	return resp, conn, br
}

// rawRequest sends one request, written out in full, to the proxy.
func rawRequest(tb testing.TB, s *egress.Session, request string) *http.Response {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.ProxyURL(), "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitLimit))
	io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

func assertRefused(tb testing.TB, resp *http.Response, rule string) {
	tb.Helper()
	if resp.StatusCode != http.StatusForbidden {
		tb.Errorf("status %d, want 403", resp.StatusCode)
	}
	if got := resp.Header.Get(egress.HeaderRefused); got != rule {
		tb.Errorf("%s = %q, want %q", egress.HeaderRefused, got, rule)
	}
}

// get fetches rawURL through the client and returns the response with its
// body read.
func get(tb testing.TB, c *http.Client, rawURL string) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		tb.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: reading body: %v", rawURL, err)
	}
	return resp, string(body)
}

func hostPort(tb testing.TB, addr string) (string, string) {
	tb.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	return host, port
}

// listenPair listens on 127.0.0.1 and 127.0.0.2 on the same port.
func listenPair(t *testing.T) (net.Listener, net.Listener) {
	t.Helper()
	for range 20 {
		ln1, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port := hostPort(t, ln1.Addr().String())
		ln2, err := net.Listen("tcp", "127.0.0.2:"+port)
		if err == nil {
			return ln1, ln2
		}
		ln1.Close()
	}
	t.Skip("cannot listen on 127.0.0.1 and 127.0.0.2 on one port")
	return nil, nil
}

// listenEcho starts a TCP echo server on 127.0.0.1 and returns its address.
func listenEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				io.Copy(conn, conn)
			}()
		}
	}()
	return ln.Addr().String()
}
