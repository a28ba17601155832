package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/auditshot/auditshot"
)

//go:embed demo.html
var demoPage []byte

// runDemo serves a demo page on 127.0.0.1 and captures it, with a mask
// over the card number, into auditshot-demo.png and its evidence folder.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ef engineFlags
	ef.register(fs)
	out := fs.String("o", "auditshot-demo.png", "output image")
	evidence := fs.String("evidence", "auditshot-demo-evidence", "evidence directory")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(demoPage)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/refunds/981"
	fmt.Fprintf(stdout, "demo page: %s\n", url)

	eng, err := ef.newEngine(ctx, stderr, 1)
	if err != nil {
		return err
	}
	defer eng.Close()
	policy := auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: append([]string{"127.0.0.1"}, ef.allow...)}}
	res, err := eng.Capture(ctx, auditshot.CaptureOptions{URL: url, FullPage: true, MaskSelectors: []string{".card-number"}}, policy)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, res.Data); err != nil {
		return err
	}
	if err := writeEvidence(*evidence, res); err != nil {
		return err
	}
	ev := res.Evidence
	fmt.Fprintf(stdout, "captured %s (%dx%d, HTTP %d, %q) in %.0f ms with %s\n", *out, ev.Width, ev.Height, ev.Status, ev.Title, ev.Timings.TotalMS, ev.BrowserVersion)
	fmt.Fprintf(stdout, "evidence: %s/ (evidence.json, network.json, console.json, dom.mhtml); %d redaction(s), %d request(s)\n", *evidence, len(ev.Redactions), len(ev.Network))
	return nil
}
