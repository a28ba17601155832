// Command benchui measures the auditor console's runs list on a store of
// 100,000 runs, side by side with the query beneath it:
//
//   - store: the first page of runs of one workflow, as the list shows it
//     (sqlite.DB.ListRuns, 50 runs, newest first), called in process;
//   - console: GET /ui/runs?workflow=X through the real HTTP API handler,
//     over loopback HTTP with a signed-in session (POST /ui/login with an
//     audit-scope API key), the whole page read;
//
// in interleaved rounds, each request for a workflow chosen in turn; the
// ratio of their p50 latencies is the console's overhead. It also reports
// the store's p50 for other listings (other filters and sorts, text
// search, a second page) and the query plan of the measured one.
//
// The runs (with 5 events each, varied workflows, agents, statuses and
// subjects; about 675,000 ledger entries) are written through the store's
// own write path, as the server writes them, by 256 concurrent writers
// sharing group commits, and their text is then indexed (IndexRunText).
// That is bound by the store's one write sequencer: about 4 minutes on 2
// shared cores. So the seeded data directory is cached under the system
// temporary directory, keyed by the seed's version and size, and reused
// by later runs (in seconds) unless -fresh.
//
// Usage:
//
//	go run ./internal/benchui [-runs 100000] [-n 1000] [-rounds 10] [-fresh] [-cpuprofile file]
//
// It exits non-zero on errors (including a server without the console:
// GET /ui/runs answering 404); a missed goal is reported as MISS.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/internal/benchstat"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/sqlite"
)

// rareText is in the data of one seeded event.
const rareText = "ORD-0012341"

// goalOverhead is the most the console's p50 may be, as a multiple of the
// store's.
const goalOverhead = 2.0

var quiet = slog.New(slog.DiscardHandler)

type config struct {
	runs   int
	n      int
	rounds int
	fresh  bool
	// cpuprofile, if set, is where a CPU profile of the measured requests
	// is written.
	cpuprofile string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 100_000, "runs in the store")
	flag.IntVar(&cfg.n, "n", 1000, "requests per variant")
	flag.IntVar(&cfg.rounds, "rounds", 10, "interleaved rounds the requests are split into")
	flag.BoolVar(&cfg.fresh, "fresh", false, "seed a new data directory even if one is cached")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured requests to this file")
	flag.Parse()
	if cfg.runs < len(workflows) || cfg.n < cfg.rounds || cfg.rounds < 1 {
		fmt.Fprintln(os.Stderr, "benchui: want -runs >= 20 and -n >= -rounds >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchui:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	dir, seeded, err := dataDir(ctx, cfg.runs, cfg.fresh, w)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, dir, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSeeded(ctx, db, cfg.runs); err != nil {
		return err
	}
	size, err := db.LogSize(ctx, tenantID)
	if err != nil {
		return err
	}
	how := "cached"
	if seeded {
		how = "seeded now"
	}
	fmt.Fprintf(w, "store: %d runs, %d events, %d ledger entries (%s, %s)\n", cfg.runs, cfg.runs*eventsPerRun, size, how, dir)

	// The console under test: the whole service on loopback, with a
	// capture engine that never starts its browser.
	blobs, err := file.New(file.Config{Dir: dir + "/blobs", Logger: quiet})
	if err != nil {
		return err
	}
	defer blobs.Close()
	eng, err := chromium.New(chromium.Config{Egress: egress.New(egress.Config{Logger: quiet}), Concurrency: 1, Logger: quiet})
	if err != nil {
		return err
	}
	defer eng.Close()
	webhookKey := make([]byte, 32)
	rand.Read(webhookKey)
	srv, err := server.Start(ctx, server.Config{DB: db, Blobs: blobs, Engine: eng, Addr: "127.0.0.1:0",
		WebhookKey: webhookKey, Logger: quiet, Version: "bench"})
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	_, secret, err := db.CreateAPIKey(ctx, tenantID, "benchui auditor", []auditshot.Scope{auditshot.ScopeAudit})
	if err != nil {
		return err
	}

	wf := func(i int) string { return workflows[i%len(workflows)] }
	plan, err := db.ExplainListRuns(ctx, tenantID, auditshot.RunFilter{Workflow: wf(0)})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "plan of ListRuns(workflow=X): %s\n", strings.Join(plan, "; "))
	for _, text := range []string{rareText, "approve"} {
		if plan, err = db.ExplainListRuns(ctx, tenantID, auditshot.RunFilter{Text: text}); err != nil {
			return err
		}
		fmt.Fprintf(w, "plan of ListRuns(q=%q): %s\n", text, strings.Join(plan, "; "))
	}
	if err := others(ctx, db, w); err != nil {
		return err
	}

	store := func(i int) error {
		runs, _, err := db.ListRuns(ctx, tenantID, auditshot.RunFilter{Workflow: wf(i)})
		if err == nil && len(runs) == 0 {
			err = errors.New("no runs")
		}
		return err
	}
	plain, closeSQL, err := plainQuery(ctx, db, dir)
	if err != nil {
		return err
	}
	defer closeSQL()
	c, consoleErr := signIn(ctx, srv.URL, secret)
	if consoleErr == nil {
		_, consoleErr = c.runsPage(ctx, "workflow="+wf(0))
	}
	if consoleErr != nil {
		// Still measure the store, then fail.
		d, err := measure(cfg, store)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nstore ListRuns(workflow=X) p50: %.2f ms\n", benchstat.MS(benchstat.Percentile(d[0], 50)))
		return fmt.Errorf("console: %w", consoleErr)
	}
	var dsrv, ddb []time.Duration // the server's own times for each measured page
	console := func(i int) error {
		st, err := c.runsPage(ctx, "workflow="+wf(i))
		dsrv, ddb = append(dsrv, st.app), append(ddb, st.db)
		return err
	}
	stopProfile, err := benchstat.CPUProfile(cfg.cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	d, err := measure(cfg, plain(false), plain(true), store, console)
	if err != nil {
		return err
	}
	dsql, dprep, ds, dc := d[0], d[1], d[2], d[3]
	dsrv, ddb = dsrv[len(dsrv)-len(dc):], ddb[len(ddb)-len(dc):] // not the warm-up's
	fmt.Fprintf(w, "\nfirst page of one workflow (50 runs), %d requests per variant in %d interleaved rounds, concurrency 1\n", cfg.n, cfg.rounds)
	fmt.Fprintf(w, "%38s  %8s  %8s  %8s\n", "variant", "requests", "p50 ms", "p95 ms")
	for _, v := range []struct {
		name string
		d    []time.Duration
	}{{"plain SQL (rows scanned, not decoded)", dsql}, {"  the same, prepared once", dprep}, {"store ListRuns(workflow=X)", ds},
		{"GET /ui/runs?workflow=X, server time", dsrv}, {"  of which its runs query (ListRuns)", ddb},
		{"GET /ui/runs?workflow=X, round trip", dc}} {
		fmt.Fprintf(w, "%38s  %8d  %8.2f  %8.2f\n", v.name, len(v.d), benchstat.MS(benchstat.Percentile(v.d, 50)), benchstat.MS(benchstat.Percentile(v.d, 95)))
	}
	x := func(a, b []time.Duration) float64 {
		return float64(benchstat.Percentile(a, 50)) / float64(benchstat.Percentile(b, 50))
	}
	fmt.Fprintf(w, "\nserver time: %.2f x the store's ListRuns, %.2f x the plain SQL, %.2f x the plain SQL prepared once\n",
		x(dsrv, ds), x(dsrv, dsql), x(dsrv, dprep))
	fmt.Fprintf(w, "round trip over loopback (the client's HTTP stack on the same cores included): %.2f x ListRuns, %.2f x the plain SQL\n",
		x(dc, ds), x(dc, dsql))
	ratio := x(dsrv, dsql)
	fmt.Fprintf(w, "ui-runs-list-p50-ms: %.2f\n", benchstat.MS(benchstat.Percentile(dsrv, 50)))
	fmt.Fprintf(w, "ui-overhead-ratio: %.2f   (goal <= %g) %s\n", ratio, goalOverhead, benchstat.Verdict(ratio <= goalOverhead))
	return nil
}

// plainQuery returns a measured variant that runs the SQL statement
// ListRuns runs for the first page of a workflow, on a connection of its
// own to the same database, and reads every column of its rows into a Go
// value (as database/sql gives it: int64, string, []byte or nil) without
// decoding them into runs (the agent and labels stay JSON text): the plain
// query the page needs, given to the driver as text each time (as
// QueryContext does) or, with prepare, through one prepared statement.
func plainQuery(ctx context.Context, db *sqlite.DB, dir string) (func(prepare bool) func(i int) error, func() error, error) {
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "auditshot.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, nil, err
	}
	raw.SetMaxOpenConns(1)
	type stmt struct {
		query string
		args  []any
	}
	stmts := map[string]stmt{}
	for _, w := range workflows {
		q, args, err := db.ListRunsSQL(ctx, tenantID, auditshot.RunFilter{Workflow: w})
		if err != nil {
			raw.Close()
			return nil, nil, err
		}
		stmts[w] = stmt{q, args}
	}
	var prepared *sql.Stmt // the same statement for every workflow
	return func(prepare bool) func(i int) error {
		return func(i int) error {
			st := stmts[workflows[i%len(workflows)]]
			var rows *sql.Rows
			var err error
			if prepare {
				if prepared == nil {
					if prepared, err = raw.PrepareContext(ctx, st.query); err != nil {
						return err
					}
				}
				rows, err = prepared.QueryContext(ctx, st.args...)
			} else {
				rows, err = raw.QueryContext(ctx, st.query, st.args...)
			}
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil {
				return err
			}
			vals := make([]any, len(cols))
			for k := range vals {
				vals[k] = new(any) // the driver's value: int64, string, []byte or nil
			}
			n := 0
			for rows.Next() {
				if err := rows.Scan(vals...); err != nil {
					return err
				}
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if n == 0 {
				return errors.New("plain SQL: no runs")
			}
			return nil
		}
	}, raw.Close, nil
}

// others reports the store's p50 for other listings the console makes.
func others(ctx context.Context, db *sqlite.DB, w io.Writer) error {
	_, page2, err := db.ListRuns(ctx, tenantID, auditshot.RunFilter{Workflow: workflows[1]})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nstore ListRuns, first page of 50 unless said, 20 calls each\n%48s  %8s  %8s\n", "listing", "p50 ms", "runs")
	for _, l := range []struct {
		name string
		f    auditshot.RunFilter
	}{
		{"all, newest", auditshot.RunFilter{}},
		{"workflow=X, oldest", auditshot.RunFilter{Workflow: workflows[1], Sort: auditshot.RunSortOldest}},
		{"workflow=X, second page", auditshot.RunFilter{Workflow: workflows[1], Cursor: page2}},
		{"agent=X, newest", auditshot.RunFilter{AgentID: "agent-03"}},
		{"status=failed, newest", auditshot.RunFilter{Status: auditshot.RunFailed}},
		{"subject=X, newest", auditshot.RunFilter{Subject: "customer-1234"}},
		{"all, sort=workflow", auditshot.RunFilter{Sort: auditshot.RunSortWorkflow}},
		{"status=failed, sort=workflow", auditshot.RunFilter{Status: auditshot.RunFailed, Sort: auditshot.RunSortWorkflow}},
		{"last day, sort=status", auditshot.RunFilter{From: time.Now().Add(-24 * time.Hour), Sort: auditshot.RunSortStatus}},
		{`q="` + rareText + `" (rare text)`, auditshot.RunFilter{Text: rareText}},
		{`q="customer-1234" (text)`, auditshot.RunFilter{Text: "customer-1234"}},
		{`q="approve" (common text)`, auditshot.RunFilter{Text: "approve"}},
		{`q="zq" (short: 5000 runs checked, none has it)`, auditshot.RunFilter{Text: "zq"}},
	} {
		var d []time.Duration
		var n int
		for range 20 {
			start := time.Now()
			runs, _, err := db.ListRuns(ctx, tenantID, l.f)
			if err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			d = append(d, time.Since(start))
			n = len(runs)
		}
		fmt.Fprintf(w, "%48s  %8.2f  %8d\n", l.name, benchstat.MS(benchstat.Percentile(d, 50)), n)
	}
	return nil
}

// measure times cfg.n calls of each of fns, in cfg.rounds interleaved
// rounds after a warm-up of each, and returns the times of each.
func measure(cfg config, fns ...func(i int) error) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(fns))
	time1 := func(k, i int) error {
		start := time.Now()
		if err := fns[k](i); err != nil {
			return err
		}
		out[k] = append(out[k], time.Since(start))
		return nil
	}
	for i := range 10 {
		for k := range fns {
			if err := time1(k, i); err != nil {
				return nil, err
			}
		}
	}
	for k := range fns {
		out[k] = out[k][:0] // the warm-up does not count
	}
	per := cfg.n / cfg.rounds
	for r := range cfg.rounds {
		for k := range fns {
			for i := range per {
				if err := time1(k, r*per+i); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
