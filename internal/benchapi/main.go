// Command benchapi measures what the REST API costs over the engine and
// the store it serves, side by side in one run:
//
//   - capture overhead: the same 1280x800 PNG capture of one page on
//     127.0.0.1, taken by a direct engine call and through POST
//     /v1/screenshot (which also stores the image, DOM and evidence blobs
//     and appends the capture's ledger entry before it answers), in
//     interleaved rounds at concurrency 1; the ratio of the p50 latencies.
//   - event ingestion: 32 concurrent HTTP clients POST run events for a
//     fixed time; events per second, every one acknowledged only once its
//     ledger entry is durable, and all of them found in the log after.
//
// Usage:
//
//	go run ./internal/benchapi [-n 40] [-rounds 4] [-clients 32] [-duration 10s] [-quick]
//
// It exits non-zero on errors only; a missed goal is reported as MISS.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/internal/benchstat"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// Goals of the issue.
const (
	goalCaptureOverhead = 1.05 // API p50 / engine p50; at most
	goalEventsPerSecond = 5000 // at least, 32 clients, 2 cores
)

// profile is where -cpuprofile writes.
var profile string

type config struct {
	n        int
	rounds   int
	clients  int
	duration time.Duration
	dir      string
	// batchWait, if not 0, is the store's BatchWait.
	batchWait time.Duration
}

func main() {
	var cfg config
	flag.IntVar(&cfg.n, "n", 40, "captures per variant")
	flag.IntVar(&cfg.rounds, "rounds", 4, "interleaved rounds the captures are split into")
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients posting events")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long the clients post events")
	flag.DurationVar(&cfg.batchWait, "batch-wait", 0, "the store's group-commit wait (default: sqlite.DefaultBatchWait)")
	flag.StringVar(&cfg.dir, "dir", "", "data directory (default: a temporary one, removed after)")
	quick := flag.Bool("quick", false, "a short run: 8 captures per variant, 3s of events")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the event ingestion to this file")
	flag.Parse()
	profile = *cpuprofile
	if *quick {
		cfg.n, cfg.rounds, cfg.duration = 8, 2, 3*time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchapi:", err)
		os.Exit(1)
	}
}

// stack is the service under test and what it runs on.
type stack struct {
	srv    *server.Server
	db     *sqlite.DB
	blobs  *file.Store
	engine *chromium.Engine
}

func open(ctx context.Context, dir string, batchWait time.Duration) (*stack, error) {
	log := slog.New(slog.DiscardHandler)
	skey, vkey, err := ledger.GenerateKey("bench.auditshot")
	if err != nil {
		return nil, err
	}
	signer, _ := ledger.NewSigner(skey)
	verifier, _ := ledger.NewVerifier(vkey)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "auditshot.db"), sqlite.Config{Signer: signer, Verifier: verifier,
		PublicKey: vkey, OriginBase: "bench.auditshot", Logger: log, BatchWait: batchWait})
	if err != nil {
		return nil, err
	}
	blobs, err := file.New(file.Config{Dir: filepath.Join(dir, "blobs"), Logger: log})
	if err != nil {
		return nil, err
	}
	eng, err := chromium.New(chromium.Config{Egress: egress.New(egress.Config{Logger: log}), Concurrency: 1, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.Start(ctx, server.Config{DB: db, Blobs: blobs, Engine: eng, Addr: "127.0.0.1:0",
		Allow: []string{"127.0.0.1"}, WebhookKey: key, Logger: log, Version: "bench"})
	if err != nil {
		return nil, err
	}
	return &stack{srv: srv, db: db, blobs: blobs, engine: eng}, nil
}

func (s *stack) close() {
	s.srv.Shutdown(context.Background())
	s.engine.Close()
	s.db.Close()
	s.blobs.Close()
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	dir := cfg.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "benchapi-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	st, err := open(ctx, dir, cfg.batchWait)
	if err != nil {
		return err
	}
	defer st.close()
	page, err := servePage()
	if err != nil {
		return err
	}
	defer page.Close()
	fmt.Fprintf(w, "page: %s\ncaptures: %d per variant in %d interleaved rounds, 1280x800 PNG, concurrency 1\n", page.URL, cfg.n, cfg.rounds)
	fmt.Fprintf(w, "events: %d clients for %s, each on its own run\n\n", cfg.clients, cfg.duration)

	direct, api, err := captures(ctx, st, page.URL, cfg)
	if err != nil {
		return err
	}
	events, err := ingest(ctx, st, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%10s  %8s  %8s  %8s\n", "variant", "captures", "p50 ms", "p95 ms")
	for _, v := range []struct {
		name string
		d    []time.Duration
	}{{"engine", direct}, {"api", api}} {
		fmt.Fprintf(w, "%10s  %8d  %8.1f  %8.1f\n", v.name, len(v.d), benchstat.MS(benchstat.Percentile(v.d, 50)), benchstat.MS(benchstat.Percentile(v.d, 95)))
	}
	ss := st.db.Stats()
	fmt.Fprintf(w, "\nstore: %d writes in %d group commits (%.1f per commit)", ss.Writes, ss.Batches, float64(ss.Writes)/float64(max(1, ss.Batches)))
	fmt.Fprintf(w, "\nevents acknowledged: %d in %.1fs by %d clients (p50 %.2f ms, p95 %.2f ms), %d found in the log, ledger verified\n",
		events.n, events.elapsed.Seconds(), cfg.clients, benchstat.MS(benchstat.Percentile(events.latency, 50)), benchstat.MS(benchstat.Percentile(events.latency, 95)), events.found)
	ratio := float64(benchstat.Percentile(api, 50)) / float64(benchstat.Percentile(direct, 50))
	eps := float64(events.n) / events.elapsed.Seconds()
	fmt.Fprintf(w, "\napi-capture-overhead-ratio: %.3f   (goal <= %.2f) %s\n", ratio, goalCaptureOverhead, benchstat.Verdict(ratio <= goalCaptureOverhead))
	fmt.Fprintf(w, "api-events-per-second: %.0f   (goal >= %d) %s\n", eps, goalEventsPerSecond, benchstat.Verdict(eps >= goalEventsPerSecond))
	return nil
}

// post sends a JSON POST with the key and returns the status and body.
func post(ctx context.Context, c *http.Client, url, key string, body any) (int, []byte, error) {
	b, ok := body.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp.StatusCode, rb, err
}

// captures takes the same capture directly and through the API, in
// rounds that alternate which goes first.
func captures(ctx context.Context, st *stack, url string, cfg config) (direct, api []time.Duration, err error) {
	_, key, err := st.db.CreateAPIKey(ctx, server.OperatorTenant, "bench", []auditshot.Scope{auditshot.ScopeCapture})
	if err != nil {
		return nil, nil, err
	}
	opts := auditshot.CaptureOptions{URL: url, Width: 1280, Height: 800}
	policy := auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: []string{"127.0.0.1"}}}
	client := &http.Client{}
	one := func(viaAPI bool) (time.Duration, error) {
		start := time.Now()
		if viaAPI {
			status, body, err := post(ctx, client, st.srv.URL+"/v1/screenshot", key, map[string]any{"url": url, "width": 1280, "height": 800})
			if err == nil && status != http.StatusCreated {
				err = fmt.Errorf("screenshot: %d %s", status, body)
			}
			return time.Since(start), err
		}
		_, err := st.engine.Capture(ctx, opts, policy)
		return time.Since(start), err
	}
	// Warm up both paths.
	for _, v := range []bool{false, true, false, true} {
		if _, err := one(v); err != nil {
			return nil, nil, err
		}
	}
	per := max(1, cfg.n/cfg.rounds)
	for r := range cfg.rounds {
		for i := range per {
			for _, viaAPI := range []bool{(r+i)%2 == 0, (r+i)%2 != 0} {
				d, err := one(viaAPI)
				if err != nil {
					return nil, nil, err
				}
				if viaAPI {
					api = append(api, d)
				} else {
					direct = append(direct, d)
				}
			}
		}
	}
	return direct, api, nil
}

type ingestResult struct {
	n       int64
	found   int64
	elapsed time.Duration
	latency []time.Duration
}

// ingest posts events from concurrent clients for the duration, then
// checks that every acknowledged event is in its run and the log verifies.
func ingest(ctx context.Context, st *stack, cfg config) (ingestResult, error) {
	var res ingestResult
	_, key, err := st.db.CreateAPIKey(ctx, server.OperatorTenant, "bench-events", []auditshot.Scope{auditshot.ScopeWrite})
	if err != nil {
		return res, err
	}
	runs := make([]string, cfg.clients)
	for i := range runs {
		r := &auditshot.Run{TenantID: server.OperatorTenant, Workflow: "bench", Agent: auditshot.Agent{Name: "bench-agent"}}
		if err := st.db.CreateRun(ctx, r); err != nil {
			return res, err
		}
		runs[i] = r.ID
	}
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.clients}
	client := &http.Client{Transport: transport}
	var (
		acked    atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		lat      = make([][]time.Duration, cfg.clients)
	)
	stopProfile, err := benchstat.CPUProfile(profile)
	if err != nil {
		return res, err
	}
	defer stopProfile()
	deadline := time.Now().Add(cfg.duration)
	start := time.Now()
	for c := range cfg.clients {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				// The body is formatted, not marshalled: the load generator
				// shares the two cores with the server it measures.
				status, body, err := post(ctx, client, st.srv.URL+"/v1/runs/"+runs[c]+"/events", key, json.RawMessage(fmt.Appendf(nil,
					`{"type":"action","name":"refund_approved","reasoning":"amount under the approval limit","data":{"amount":%d,"currency":"USD","customer":"cust_42"}}`, 500+i)))
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("event: %d %s", status, body)
				}
				if err != nil {
					mu.Lock()
					firstErr = cmp(firstErr, err)
					mu.Unlock()
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if firstErr != nil {
		return res, firstErr
	}
	res.n = acked.Load()
	for _, l := range lat {
		res.latency = append(res.latency, l...)
	}
	for _, id := range runs {
		evs, err := st.db.ListEvents(ctx, server.OperatorTenant, id)
		if err != nil {
			return res, err
		}
		res.found += int64(len(evs))
	}
	if res.found != res.n {
		return res, fmt.Errorf("%d events acknowledged but %d stored", res.n, res.found)
	}
	if err := st.db.Verify(ctx, server.OperatorTenant); err != nil {
		return res, errors.Join(errors.New("ledger does not verify after ingestion"), err)
	}
	return res, nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
