package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"text/tabwriter"

	"github.com/auditshot/auditshot/internal/benchstat"
)

// benchPage is the captured page: text, two style blocks and an inline
// SVG, with no external resources.
const benchPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Refund 981 — Account statement</title>
<style>
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: #1d2430; background: #f4f6fa; }
  header { display: flex; align-items: center; gap: 12px; padding: 16px 32px; background: #14325c; color: #fff; }
  header h1 { font-size: 20px; margin: 0; }
  main { max-width: 960px; margin: 24px auto; padding: 0 24px; }
</style>
<style>
  .card { background: #fff; border-radius: 10px; box-shadow: 0 2px 6px rgba(0,0,0,.12); padding: 20px 24px; margin-bottom: 20px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #e3e7ee; }
  th { font-weight: 600; color: #56607a; }
  .amount { text-align: right; font-variant-numeric: tabular-nums; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 999px; background: #e2f5e9; color: #17723d; font-size: 13px; }
</style>
</head>
<body>
<header>
  <svg width="36" height="36" viewBox="0 0 36 36" aria-hidden="true">
    <circle cx="18" cy="18" r="16" fill="#3d7be0"/>
    <path d="M10 19l5 5 11-12" stroke="#fff" stroke-width="3.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/>
  </svg>
  <h1>Northwind Bank — Refund 981</h1>
</header>
<main>
  <section class="card">
    <h2>Refund issued <span class="badge">Completed</span></h2>
    <p>The refund of the disputed charge was issued on 12 March to the card ending in 4242.
    Funds usually reach the account within three to five business days. This page is the
    customer's record of the refund; keep it for your files.</p>
  </section>
  <section class="card">
    <table>
      <tr><th>Date</th><th>Description</th><th class="amount">Amount</th></tr>
      <tr><td>03 Mar</td><td>Online order #55120</td><td class="amount">−129.00 EUR</td></tr>
      <tr><td>05 Mar</td><td>Dispute opened</td><td class="amount">0.00 EUR</td></tr>
      <tr><td>12 Mar</td><td>Refund 981</td><td class="amount">+129.00 EUR</td></tr>
    </table>
  </section>
  <section class="card">
    <svg width="100%" height="120" viewBox="0 0 600 120" role="img" aria-label="Balance over March">
      <rect width="600" height="120" fill="#f7f9fc"/>
      <polyline points="0,90 100,85 200,40 300,45 400,60 500,30 600,35" fill="none" stroke="#3d7be0" stroke-width="3"/>
      <text x="10" y="20" font-size="13" fill="#56607a">Balance, March</text>
    </svg>
  </section>
</main>
</body>
</html>
`

// servePage serves benchPage on 127.0.0.1 and returns its URL. The page
// must not be cached, so that every variant fetches it on every capture.
func servePage() (*httptest.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/statement" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, benchPage)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv, srv.URL + "/statement", nil
}

func printTable(w io.Writer, cells []*cell) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tconc\tcaptures\tp50 ms\tp95 ms\tcaptures/s\tbrowser RSS MB\t")
	for _, c := range cells {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.2f\t%.0f\t\n", c.name, c.conc, len(c.lat), c.p50(), c.p95(), c.throughput(), mb(c.rss))
	}
	tw.Flush()
	for _, c := range cells {
		if c.note != "" {
			fmt.Fprintf(w, "concurrency %d: %s\n", c.conc, c.note)
		}
	}
}

func printRatios(w io.Writer, cells []*cell, growth int, early, late int64) {
	find := func(name string, conc int) *cell {
		for _, c := range cells {
			if c.name == name && c.conc == conc {
				return c
			}
		}
		return &cell{}
	}
	lat := find("engine", 1).p50() / find("reused-tab", 1).p50()
	thr := find("engine", 2).throughput() / find("new-context", 2).throughput()
	grow := float64(late) / float64(early)
	fmt.Fprintf(w, "capture-latency-ratio-vs-reused-tab: %.2f   (engine p50 / reused-tab p50, concurrency 1; goal <= %.2f) %s\n",
		lat, goalLatencyRatio, benchstat.Verdict(lat <= goalLatencyRatio))
	fmt.Fprintf(w, "capture-throughput-ratio-vs-naive-isolation: %.2f   (engine / new-context captures/s, concurrency 2; goal >= %.2f) %s\n",
		thr, goalThroughputRatio, benchstat.Verdict(thr >= goalThroughputRatio))
	fmt.Fprintf(w, "engine-memory-mb-at-%d: %.0f\n", growthEarly, mb(early))
	fmt.Fprintf(w, "engine-memory-mb-at-%d: %.0f\n", growth, mb(late))
	fmt.Fprintf(w, "engine-memory-growth-ratio: %.2f   (goal <= %.2f) %s\n", grow, goalGrowthRatio, benchstat.Verdict(grow <= goalGrowthRatio))
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
