package chromium_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/auditshot/auditshot"
)

// trap listens on addr and counts the connections it accepts. Nothing may
// ever reach it.
type trap struct {
	ln       net.Listener
	accepted atomic.Int64
}

func newTrap(t *testing.T, addr string) *trap {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil
	}
	tr := &trap{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return tr
}

// blockedByPolicy maps the URLs of a capture's network log that the
// egress policy refused to the rule that refused them.
func blockedByPolicy(res *auditshot.CaptureResult) map[string]string {
	blocked := map[string]string{}
	for _, q := range res.Evidence.Network {
		if q.Blocked != "" {
			blocked[q.URL] = q.Blocked
		}
	}
	return blocked
}

func (tr *trap) port() string {
	_, p, _ := net.SplitHostPort(tr.ln.Addr().String())
	return p
}

func TestEgress_EndToEnd(t *testing.T) {
	e := Shared(t)
	v4 := newTrap(t, "127.0.0.2:0")
	if v4 == nil {
		t.Fatal("cannot listen on 127.0.0.2")
	}
	v6 := newTrap(t, "[::1]:0")
	p := v4.port()
	srv := Serve(t, map[string]http.HandlerFunc{
		"/redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		},
		"/page": func(w http.ResponseWriter, r *http.Request) {
			HTML(`<title>page</title><body style="background:#0f0">`+r.URL.Query().Get("html")+`<div id=done></div>`)(w, r)
		},
	})
	refused := func(t *testing.T, url, rule string) {
		t.Helper()
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: url, Timeout: 5000}, local)
		var ae *auditshot.Error
		if !errors.As(err, &ae) || ae.Code != auditshot.EFORBIDDEN || !strings.Contains(ae.Message, rule) {
			t.Errorf("%s: %v, want EFORBIDDEN naming %q", url, err, rule)
		}
	}

	t.Run("Direct", func(t *testing.T) {
		refused(t, "http://127.0.0.2:"+p+"/", "loopback")
		refused(t, "http://127.0.0.3:"+p+"/", "loopback")
		for _, odd := range []string{"2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "017700000001", "127.1", "127.0.1", "0x7f.1"} {
			refused(t, "http://"+odd+":"+p+"/", "ambiguous")
		}
		refused(t, "http://2130706434:"+p+"/", "") // 127.0.0.2, decimal
		if v6 != nil {
			refused(t, "http://[::1]:"+v6.port()+"/", "loopback")
			refused(t, "http://[::ffff:127.0.0.2]:"+p+"/", "")
			refused(t, "http://[::ffff:7f00:2]:"+p+"/", "")
		}
		for _, u := range []string{"file:///etc/passwd", "chrome://version", "view-source:http://127.0.0.1/", "ftp://127.0.0.1/", "data:text/html,hi", "javascript:alert(1)"} {
			_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: u}, local)
			if auditshot.ErrorCode(err) != auditshot.EINVALID || !strings.Contains(err.Error(), "scheme") {
				t.Errorf("%s: %v, want a refused scheme", u, err)
			}
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		for _, to := range []string{
			"http://127.0.0.2:" + p + "/",
			"http://2130706434:" + p + "/",
			"http://[::1]:" + p + "/",
			"https://127.0.0.2:" + p + "/",
		} {
			refused(t, srv.URL+"/redirect?to="+to, "")
		}
		_, err := e.Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL + "/redirect?to=file:///etc/passwd", Timeout: 5000}, local)
		if err == nil {
			t.Errorf("redirect to file: captured")
		}
	})
	t.Run("Subresources", func(t *testing.T) {
		html := fmt.Sprintf(`<img src="http://127.0.0.2:%[1]s/img.png"><img src="http://2130706434:%[1]s/odd.png"><img src="https://127.0.0.2:%[1]s/tls.png">
<script>
fetch('http://127.0.0.2:%[1]s/fetch').catch(() => {});
const x = new XMLHttpRequest(); x.open('GET', 'http://127.0.0.2:%[1]s/xhr'); x.send();
try { new WebSocket('ws://127.0.0.2:%[1]s/ws'); } catch (e) {}
try { new WebSocket('wss://127.0.0.2:%[1]s/wss'); } catch (e) {}
</script>`, p)
		if v6 != nil {
			html += fmt.Sprintf(`<img src="http://[::1]:%s/v6.png">`, v6.port())
		}
		sub := Serve(t, map[string]http.HandlerFunc{"/": HTML("<title>page</title>" + html)})
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: sub.URL, Delay: 500})
		if res.Evidence.Title != "page" {
			t.Fatalf("title %q", res.Evidence.Title)
		}
		blocked := blockedByPolicy(res)
		for _, want := range []string{"/img.png", "/odd.png", "/fetch", "/xhr"} {
			found := false
			for u, rule := range blocked {
				if strings.HasSuffix(u, want) && rule == "loopback" {
					found = true
				}
			}
			if !found {
				t.Errorf("no blocked_by_policy=loopback entry for %s in %v", want, blocked)
			}
		}
		var tunnels int
		for u := range blocked {
			if strings.Contains(u, "127.0.0.2:"+p) && !strings.HasPrefix(u, "http://") {
				tunnels++
			}
		}
		if tunnels == 0 {
			t.Errorf("no refused tunnel (https/wss) in %v", blocked)
		}
	})
	t.Run("WebRTC", func(t *testing.T) {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		var packets atomic.Int64
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := udp.ReadFrom(buf); err != nil {
					return
				}
				packets.Add(1)
			}
		}()
		html := fmt.Sprintf(`<script>
const pc = new RTCPeerConnection({iceServers: [{urls: 'stun:%s'}]});
const cands = [];
pc.onicecandidate = e => { if (e.candidate) cands.push(e.candidate.candidate); else { document.title = 'candidates:' + cands.length; const d = document.createElement('div'); d.id = 'gathered'; document.body.appendChild(d); } };
pc.createDataChannel('x');
pc.createOffer().then(o => pc.setLocalDescription(o));
</script>`, udp.LocalAddr())
		res := MustCapture(t, e, auditshot.CaptureOptions{HTML: html, WaitFor: "#gathered", Timeout: 15000})
		if res.Evidence.Wait.BestAttempt {
			t.Fatalf("ICE gathering did not finish: %+v", res.Evidence.Wait)
		}
		if n := packets.Load(); n != 0 {
			t.Errorf("WebRTC sent %d UDP packets around the proxy", n)
		}
		if res.Evidence.Title != "candidates:0" {
			t.Errorf("ICE candidates leaked: %q", res.Evidence.Title)
		}
	})
	if n := v4.accepted.Load(); n != 0 {
		t.Errorf("127.0.0.2 accepted %d connections", n)
	}
	if v6 != nil && v6.accepted.Load() != 0 {
		t.Errorf("::1 accepted %d connections", v6.accepted.Load())
	}
}

// TestEgress_Offline checks that a capture of inline HTML under an offline
// policy renders, and that the page reaches nothing, not even a loopback
// address the policy's allowlist names: each attempt is in the network
// log as refused by rule "offline" and the trap accepts no connection.
func TestEgress_Offline(t *testing.T) {
	e := Shared(t)
	tr := newTrap(t, "127.0.0.1:0")
	if tr == nil {
		t.Fatal("cannot listen on 127.0.0.1")
	}
	p := tr.port()
	html := fmt.Sprintf(`<title>offline</title><body style="background:#0f0"><img src="http://127.0.0.1:%[1]s/img.png">
<script>fetch('http://127.0.0.1:%[1]s/fetch').catch(() => {});</script>`, p)
	res, err := e.Capture(t.Context(), auditshot.CaptureOptions{HTML: html, Delay: 300, Timeout: 15000},
		auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Offline: true, Allow: []string{"127.0.0.1"}}, AllowScripts: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Evidence.Title != "offline" {
		t.Errorf("title %q", res.Evidence.Title)
	}
	blocked := blockedByPolicy(res)
	for _, want := range []string{"/img.png", "/fetch"} {
		if rule := blocked["http://127.0.0.1:"+p+want]; rule != "offline" {
			t.Errorf("%s: refused by %q, want \"offline\"; refused: %v", want, rule, blocked)
		}
	}
	if n := tr.accepted.Load(); n != 0 {
		t.Errorf("the trap accepted %d connections", n)
	}
}
