package egress

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
)

// forward sends a plain HTTP request in absolute form to its destination
// and copies the response back. Redirects are not followed: the browser
// follows them, and each comes back through the proxy. A WebSocket upgrade
// is forwarded and, once switched, spliced like a tunnel. It reports
// whether the browser's connection must be aborted because the response
// was cut short.
func (s *Session) forward(ctx context.Context, w http.ResponseWriter, r *http.Request, x *exchange) (abort bool) {
	u := *r.URL
	u.User = nil
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	x.rec.URL, x.rec.Host, x.rec.Port = u.String(), u.Hostname(), port
	x.save()

	if !webScheme(scheme) {
		x.refused(w, refuse("", netip.Addr{}, RuleScheme, fmt.Sprintf("scheme %q is not allowed", scheme)))
		return false
	}
	if scheme != "http" {
		x.fail(w, http.StatusBadRequest, "only http URLs are forwarded; use CONNECT", nil)
		return false
	}
	portNum, ok := parsePort(port)
	if !ok {
		x.fail(w, http.StatusBadRequest, "invalid port", nil)
		return false
	}
	addrs, err := s.check(ctx, x.rec.Host)
	if err != nil {
		x.refused(w, err)
		return false
	}

	var remote atomic.Value // string: the address of the connection used
	ctx = context.WithValue(ctx, targetsKey{}, &targets{addrs: addrs, port: portNum})
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { remote.Store(remoteIP(info.Conn)) },
	})
	out, upgrade := outgoing(ctx, r)
	body := &countingReader{r: r.Body}
	if out.Body != nil {
		out.Body = body
	}
	resp, err := s.transport.RoundTrip(out)
	if ip, ok := remote.Load().(string); ok {
		x.rec.RemoteIP = ip
	}
	if err != nil {
		x.fail(w, http.StatusBadGateway, "destination unreachable", err)
		return false
	}
	defer resp.Body.Close()
	x.rec.Status = resp.StatusCode
	if resp.StatusCode == http.StatusSwitchingProtocols {
		s.switchProtocols(w, resp, upgrade, x)
		return false
	}

	removeHopHeaders(resp.Header)
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	n, readErr, writeErr := copyFlush(w, resp.Body)
	x.rec.BytesIn, x.rec.BytesOut = n, body.n.Load()
	switch {
	case readErr != nil:
		x.rec.Error = "reading response: " + readErr.Error()
	case writeErr != nil:
		x.rec.Error = "writing response to browser: " + writeErr.Error()
	}
	if readErr != nil || writeErr != nil {
		return true
	}
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	return false
}

// hasToken reports whether a comma-separated header has token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// outgoing builds the request to send to the destination from the
// browser's: hop-by-hop and Proxy-* headers removed, except the upgrade to
// WebSocket, which it returns ("websocket", or "" if none).
func outgoing(ctx context.Context, r *http.Request) (*http.Request, string) {
	upgrade := ""
	if hasToken(r.Header["Connection"], "upgrade") &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		upgrade = "websocket"
	}
	out := r.Clone(ctx)
	out.RequestURI = ""
	out.URL.User = nil
	out.Host = out.URL.Host
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil
	}
	removeHopHeaders(out.Header)
	if upgrade != "" {
		out.Header.Set("Connection", "Upgrade")
		out.Header.Set("Upgrade", upgrade)
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // send none rather than Go's
	}
	return out, upgrade
}

// hopHeaders apply to one connection and are not forwarded (RFC 9110 7.6.1).
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes hop-by-hop headers, those Connection names, and
// every Proxy-* header.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	for k := range h {
		if strings.HasPrefix(k, "Proxy-") {
			delete(h, k)
		}
	}
}

// switchProtocols completes a WebSocket upgrade: it hijacks the browser's
// connection, relays the 101 response and splices the two connections.
func (s *Session) switchProtocols(w http.ResponseWriter, resp *http.Response, upgrade string, x *exchange) {
	backend, ok := resp.Body.(io.ReadWriteCloser)
	if upgrade == "" || !ok || !strings.EqualFold(resp.Header.Get("Upgrade"), upgrade) {
		x.fail(w, http.StatusBadGateway, "unexpected protocol switch", nil)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		x.fail(w, http.StatusInternalServerError, "cannot switch protocols", err)
		return
	}
	client, ok := s.adopt(conn)
	if !ok {
		return
	}
	removeHopHeaders(resp.Header)
	resp.Header.Set("Connection", "Upgrade")
	resp.Header.Set("Upgrade", upgrade)
	if err := writeHead(brw.Writer, resp); err != nil {
		client.Close()
		x.rec.Error = "writing response to browser: " + err.Error()
		return
	}
	x.save()
	in, out, err := s.pipe(
		endpoint{r: brw.Reader, w: client, closeWrite: client.CloseWrite, close: client.Close},
		endpoint{r: backend, w: backend, close: backend.Close},
	)
	x.rec.BytesIn, x.rec.BytesOut = in, out
	if err != nil {
		x.rec.Error = err.Error()
	}
}

func writeHead(bw *bufio.Writer, resp *http.Response) error {
	fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	if err := resp.Header.Write(bw); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// copyFlush copies body to w, flushing after every read so that streamed
// responses (server-sent events) reach the browser as they come. It
// returns the bytes read from body.
func copyFlush(w http.ResponseWriter, body io.Reader) (n int64, readErr, writeErr error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		nr, err := body.Read(buf)
		n += int64(nr)
		if nr > 0 {
			if _, werr := w.Write(buf[:nr]); werr != nil {
				return n, nil, werr
			}
			if werr := rc.Flush(); werr != nil {
				return n, nil, werr
			}
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}

// countingReader counts the request body bytes sent to the destination;
// the transport reads it from its own goroutine.
type countingReader struct {
	r    io.ReadCloser
	n    atomic.Int64
	once sync.Once
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error {
	var err error
	c.once.Do(func() { err = c.r.Close() })
	return err
}

func defaultPort(scheme string) string {
	switch scheme {
	case "https", "wss":
		return "443"
	}
	return "80"
}
