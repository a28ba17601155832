package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connect handles a CONNECT tunnel (https, wss, and ws, which Chromium also
// tunnels): check, resolve, dial the checked address, answer 200 and splice.
// A refusal or failure is answered with a 4xx/5xx and the connection closed.
func (s *Session) connect(ctx context.Context, w http.ResponseWriter, r *http.Request, x *exchange) {
	authority := r.URL.Host
	if authority == "" {
		authority = r.Host
	}
	x.rec.URL = authority
	host, port, err := net.SplitHostPort(authority)
	if err != nil {
		x.fail(w, http.StatusBadRequest, "CONNECT needs host:port", nil)
		return
	}
	x.rec.Host, x.rec.Port = host, port
	x.save()
	portNum, ok := parsePort(port)
	if !ok {
		x.fail(w, http.StatusBadRequest, "invalid port", nil)
		return
	}
	addrs, err := s.check(ctx, host)
	if err != nil {
		x.refused(w, err)
		return
	}
	remote, err := s.dial(ctx, addrs, portNum)
	if err != nil {
		x.fail(w, http.StatusBadGateway, "destination unreachable", err)
		return
	}
	x.rec.RemoteIP = remoteIP(remote)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		remote.Close()
		x.fail(w, http.StatusInternalServerError, "cannot open tunnel", err)
		return
	}
	client, ok := s.adopt(conn)
	if !ok {
		remote.Close()
		return
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		client.Close()
		remote.Close()
		x.rec.Error = "writing response to browser: " + err.Error()
		return
	}
	x.save()
	// brw.Reader holds whatever the browser sent after the CONNECT
	// request (a TLS ClientHello, say); read through it.
	in, out, err := s.pipe(
		endpoint{r: brw.Reader, w: client, closeWrite: client.CloseWrite, close: client.Close},
		endpoint{r: remote, w: remote, closeWrite: remote.CloseWrite, close: remote.Close},
	)
	x.rec.BytesIn, x.rec.BytesOut = in, out
	if err != nil {
		x.rec.Error = err.Error()
	}
}

// endpoint is one side of a splice.
type endpoint struct {
	r io.Reader
	w io.Writer
	// closeWrite half-closes the side after the other side's EOF; nil
	// if it cannot, in which case both sides are closed.
	closeWrite func() error
	close      func() error
}

var errTunnelIdle = errors.New("tunnel idle timeout")

// pipe copies bytes between client and remote until both directions have
// ended, the tunnel has been idle both ways for TunnelIdleTimeout, or the
// session closes. It closes both sides and returns the bytes received from
// and sent to remote, and the first error worth recording.
func (s *Session) pipe(client, remote endpoint) (in, out int64, err error) {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			client.close()
			remote.close()
		})
	}
	var last atomic.Int64
	touch := func() { last.Store(time.Now().UnixNano()) }
	touch()
	var idled atomic.Bool
	stop := make(chan struct{})

	// The caller is a counted handler, so these Adds are safe after Close
	// started waiting.
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		idle := s.p.TunnelIdleTimeout
		t := time.NewTimer(idle)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				since := time.Since(time.Unix(0, last.Load()))
				if since >= idle {
					idled.Store(true)
					closeBoth()
					return
				}
				t.Reset(idle - since)
			}
		}
	}()
	type result struct {
		n   int64
		err error
	}
	down := make(chan result, 1)
	go func() {
		defer s.wg.Done()
		n, err := copyTouch(client.w, remote.r, touch)
		halfClose(client, err, closeBoth)
		down <- result{n, err}
	}()
	out, upErr := copyTouch(remote.w, client.r, touch)
	halfClose(remote, upErr, closeBoth)
	res := <-down
	close(stop)
	closeBoth()

	switch {
	case idled.Load():
		err = errTunnelIdle
	case s.ctx.Err() != nil:
		err = errSessionClosed
	case upErr != nil && !errors.Is(upErr, net.ErrClosed):
		err = upErr
	case res.err != nil && !errors.Is(res.err, net.ErrClosed):
		err = res.err
	}
	return res.n, out, err
}

// halfClose passes an EOF on: it half-closes dst, or closes everything if
// dst cannot be half-closed or the copy failed.
func halfClose(dst endpoint, err error, closeBoth func()) {
	if err == nil && dst.closeWrite != nil && dst.closeWrite() == nil {
		return
	}
	closeBoth()
}

// copyTouch copies src to dst, calling touch whenever bytes move. It
// returns the bytes copied and nil at EOF.
func copyTouch(dst io.Writer, src io.Reader, touch func()) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		nr, err := src.Read(buf)
		if nr > 0 {
			touch()
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
