package egress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/egress"
)

// TestSession_CloseLeavesNoGoroutines opens plain requests, a tunnel and an
// upgraded connection, closes the session with all of them open, and checks
// that none of the session's goroutines survive.
func TestSession_CloseLeavesNoGoroutines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	ws := newWebSocketEcho(t)
	echo := listenEcho(t)

	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	c := proxyClient(t, s, nil)
	get(t, c, srv.URL) // leaves keep-alive connections on both sides
	resp, conn, br := rawConnect(t, s, echo)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %s", resp.Status)
	}
	io.WriteString(conn, "x")
	br.ReadByte()
	wsConn, wsBr := dialProxy(t, s)
	target := ws.Listener.Addr().String()
	handshake(t, wsConn, wsBr, "http://"+target+"/", target)
	echoes(t, wsConn, wsBr, "x")

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	// Close waited for the session's goroutines; some may still be
	// returning from their last deferred call.
	deadline := time.Now().Add(waitLimit)
	for {
		left := sessionGoroutines()
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", left)
		}
		runtime.Gosched()
	}
}

// sessionGoroutines returns the stacks of goroutines running egress code
// or serving a proxy's upstream connections.
func sessionGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "auditshot/egress.") || strings.Contains(g, "net/http.(*persistConn)") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}
