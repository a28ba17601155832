package egress_test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/egress"
)

// A minimal RFC 6455 WebSocket, enough to prove that upgrades pass through
// the proxy: short frames only, no fragmentation.

const (
	wsKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	wsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" // RFC 6455 section 1.3
)

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame writes one final text frame, masked as clients must.
func writeFrame(w io.Writer, payload []byte, masked bool) error {
	if len(payload) > 125 {
		return errors.New("payload too long for this test")
	}
	frame := []byte{0x81, byte(len(payload))}
	if !masked {
		_, err := w.Write(append(frame, payload...))
		return err
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame[1] |= 0x80
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := w.Write(frame)
	return err
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := int(head[1] & 0x7f)
	if n > 125 {
		return nil, errors.New("frame too long for this test")
	}
	var mask [4]byte
	masked := head[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return payload, nil
}

// newWebSocketEcho serves a WebSocket on 127.0.0.1 that echoes frames.
func newWebSocketEcho(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
			!strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
			http.Error(w, "websocket only", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			acceptKey(r.Header.Get("Sec-WebSocket-Key")))
		brw.Flush()
		for {
			msg, err := readFrame(brw.Reader)
			if err != nil {
				return
			}
			if err := writeFrame(conn, msg, false); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// handshake sends a WebSocket upgrade for target (origin-form "/chat" or
// absolute-form) over conn and checks the 101 answer.
func handshake(t *testing.T, conn net.Conn, br *bufio.Reader, target, host string) {
	t.Helper()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", target, host, wsKey)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
}

func echoes(t *testing.T, conn net.Conn, br *bufio.Reader, msg string) {
	t.Helper()
	if err := writeFrame(conn, []byte(msg), true); err != nil {
		t.Fatal(err)
	}
	got, err := readFrame(br)
	if err != nil || string(got) != msg {
		t.Fatalf("echo = %q, %v; want %q", got, err, msg)
	}
}

func TestSession_WebSocketCONNECT(t *testing.T) {
	// Chromium tunnels ws:// through an HTTP proxy with CONNECT.
	srv := newWebSocketEcho(t)
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	target := srv.Listener.Addr().String()

	resp, conn, br := rawConnect(t, s, target)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %s", resp.Status)
	}
	handshake(t, conn, br, "/chat", target)
	echoes(t, conn, br, "hello through a tunnel")
	echoes(t, conn, br, "and again")
	conn.Close()

	s.Close()
	r := s.Records()[0]
	if r.Method != http.MethodConnect || r.RemoteIP != "127.0.0.1" || r.BytesIn == 0 || r.BytesOut == 0 {
		t.Errorf("record %+v", r)
	}
}

func TestSession_WebSocketUpgrade(t *testing.T) {
	// A plain-HTTP upgrade in absolute form is forwarded, then spliced.
	srv := newWebSocketEcho(t)
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	target := srv.Listener.Addr().String()

	conn, br := dialProxy(t, s)
	handshake(t, conn, br, "http://"+target+"/chat", target)
	echoes(t, conn, br, "hello through an upgrade")
	echoes(t, conn, br, "and again")
	conn.Close()

	s.Close()
	r := s.Records()[0]
	if r.Method != http.MethodGet || r.Status != http.StatusSwitchingProtocols || r.RemoteIP != "127.0.0.1" ||
		r.URL != "http://"+target+"/chat" {
		t.Errorf("record %+v", r)
	}
	// Two frames each way: 2+4+len bytes out (masked), 2+len bytes in.
	const a, b = len("hello through an upgrade"), len("and again")
	if r.BytesOut != int64(6+a+6+b) || r.BytesIn != int64(2+a+2+b) {
		t.Errorf("record counts %d in, %d out", r.BytesIn, r.BytesOut)
	}
}

func TestSession_WebSocketRefused(t *testing.T) {
	dst := listenCanary(t, "127.0.0.2:0")
	s := mustOpen(t, egress.Config{}, []string{"127.0.0.1"})
	target := "127.0.0.2:" + dst.port()
	resp := rawRequest(t, s, "GET http://"+target+"/chat HTTP/1.1\r\nHost: "+target+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "+wsKey+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	assertRefused(t, resp, egress.RuleLoopback)
	dst.assertUntouched(t)
}

// dialProxy connects to the proxy, to write requests by hand.
func dialProxy(t *testing.T, s *egress.Session) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.ProxyURL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitLimit))
	return conn, bufio.NewReader(conn)
}
