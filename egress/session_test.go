package egress_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/egress"
)

func TestSession_Unarmed(t *testing.T) {
	dst := listenCanary(t, "127.0.0.1:0")
	s := mustOpen(t, egress.Config{}, nil)
	c := proxyClient(t, s, nil)

	resp, _ := get(t, c, "http://127.0.0.1:"+dst.port()+"/")
	assertRefused(t, resp, egress.RuleUnarmed)
	resp, _, _ = rawConnect(t, s, "127.0.0.1:"+dst.port())
	assertRefused(t, resp, egress.RuleUnarmed)
	dst.assertUntouched(t)
	if rule := checkRule(t, s.Check(t.Context(), "http://127.0.0.1/")); rule != egress.RuleUnarmed {
		t.Errorf("Check rule %q", rule)
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		err := s.Arm(auditshot.EgressPolicy{Allow: []string{"127.1"}})
		if auditshot.ErrorCode(err) != auditshot.EINVALID {
			t.Errorf("Arm: %v", err)
		}
	})
	if err := s.Arm(auditshot.EgressPolicy{Allow: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context(), "http://127.0.0.1/"); err != nil {
		t.Errorf("Check after Arm: %v", err)
	}
	t.Run("ErrConflict", func(t *testing.T) {
		err := s.Arm(auditshot.EgressPolicy{Allow: []string{"0.0.0.0/0"}})
		if auditshot.ErrorCode(err) != auditshot.ECONFLICT {
			t.Errorf("second Arm: %v", err)
		}
		if err := s.Check(t.Context(), "http://127.0.0.2/"); err == nil {
			t.Errorf("second Arm loosened the policy")
		}
	})
}

func TestSession_Check(t *testing.T) {
	res := newResolver(map[string][]string{"evil.test": {"127.0.0.2"}, "ok.test": {"127.0.0.1"}})
	s := mustOpen(t, egress.Config{Resolver: res}, []string{"127.0.0.1"})
	for rawURL, want := range map[string]string{
		"http://ok.test/":          "",
		"https://127.0.0.1:8443/":  "",
		"http://evil.test/":        egress.RuleLoopback,
		"http://2130706433/":       egress.RuleAmbiguousIPSpelling,
		"file:///etc/passwd":       egress.RuleScheme,
		"view-source:http://a.b/":  egress.RuleScheme,
		"chrome://version":         egress.RuleScheme,
		"javascript:alert(1)":      egress.RuleScheme,
		"data:text/plain,hi":       egress.RuleScheme,
		"ftp://ok.test/pub/a.file": egress.RuleScheme,
	} {
		if got := checkRule(t, s.Check(t.Context(), rawURL)); got != want {
			t.Errorf("Check(%q) rule %q, want %q", rawURL, got, want)
		}
	}
}

func TestSession_BadRequests(t *testing.T) {
	dst := listenCanary(t, "127.0.0.1:0")
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	addr := "127.0.0.1:" + dst.port()

	resp := rawRequest(t, s, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form request: %s", resp.Status)
	}
	resp = rawRequest(t, s, "GET ftp://"+addr+"/ HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	assertRefused(t, resp, egress.RuleScheme)
	resp = rawRequest(t, s, "GET https://"+addr+"/ HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("absolute-form https request: %s", resp.Status)
	}
	resp = rawRequest(t, s, "GET http://127.0.0.1:0/ HTTP/1.1\r\nHost: 127.0.0.1:0\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("port 0: %s", resp.Status)
	}
	resp, _, _ = rawConnect(t, s, "127.0.0.1")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("CONNECT without port: %s", resp.Status)
	}
	dst.assertUntouched(t)
}

func TestSession_MaxRecords(t *testing.T) {
	s := mustOpen(t, egress.Config{MaxRecords: 2}, nil)
	c := proxyClient(t, s, nil)
	for range 3 {
		resp, _ := get(t, c, "http://127.0.0.1:1/")
		assertRefused(t, resp, egress.RuleUnarmed)
	}
	s.Close()
	if n, d := len(s.Records()), s.Dropped(); n != 2 || d != 1 {
		t.Errorf("%d records, %d dropped; want 2, 1", n, d)
	}
}

func TestSession_DestinationUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)
	resp, _ := get(t, c, "http://"+addr+"/")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %s", resp.Status)
	}
	s.Close()
	if r := s.Records()[0]; r.Status != http.StatusBadGateway || r.Error == "" || r.Blocked != "" {
		t.Errorf("record %+v", r)
	}
}

func TestSession_CloseEndsRequest(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)

	errc := make(chan error, 1)
	go func() {
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			err = errors.New(resp.Status)
		}
		errc <- err
	}()
	<-entered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Errorf("request survived Close")
	}
}

func TestSession_CloseEndsTunnel(t *testing.T) {
	echo := listenEcho(t)
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	resp, conn, br := rawConnect(t, s, echo)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %s", resp.Status)
	}
	io.WriteString(conn, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := br.Read(buf); err == nil {
		t.Fatalf("tunnel still open after Close: read %q", buf[:n])
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("tunnel still open after Close")
	}
	r := s.Records()[0]
	if r.Method != "CONNECT" || r.BytesIn != 4 || r.BytesOut != 4 || r.Error != "egress session closed" {
		t.Errorf("record %+v", r)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSession_TunnelIdleTimeout(t *testing.T) {
	echo := listenEcho(t)
	s := mustOpen(t, egress.Config{TunnelIdleTimeout: 50 * time.Millisecond}, []string{"127.0.0.1"})
	resp, _, br := rawConnect(t, s, echo)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %s", resp.Status)
	}
	// Waits for the proxy to close the idle tunnel.
	if _, err := br.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("idle tunnel not closed")
	}
	s.Close()
	if r := s.Records()[0]; r.Error != "tunnel idle timeout" {
		t.Errorf("record %+v", r)
	}
}
