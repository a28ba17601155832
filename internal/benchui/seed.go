package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// seedVersion names the seeded data: change it when seed changes what it
// writes, so that a cached data directory of the old seed is not reused.
const seedVersion = 3

// tenantID is the tenant the runs are seeded into.
const tenantID = "bench"

// The values the seeded runs vary over.
var (
	workflows = []string{"refund", "kyc-review", "invoice-match", "chargeback", "onboarding", "password-reset",
		"address-change", "loan-precheck", "claim-intake", "fraud-triage", "order-cancel", "subscription-pause",
		"vendor-setup", "expense-audit", "payout-release", "contract-renewal", "ticket-triage", "gdpr-export",
		"price-override", "account-close"}
	statuses   = []auditshot.RunStatus{auditshot.RunSucceeded, auditshot.RunSucceeded, auditshot.RunFailed, auditshot.RunCancelled, auditshot.RunRunning}
	eventNames = []string{"open_page", "read_record", "fill_form", "decide", "submit", "approve", "notify_customer"}
	eventTypes = []auditshot.EventType{auditshot.EventAction, auditshot.EventAction, auditshot.EventAction, auditshot.EventDecision,
		auditshot.EventAction, auditshot.EventApproval, auditshot.EventNote}
)

const (
	agents   = 12
	subjects = 5000
	// eventsPerRun is the events of each run.
	eventsPerRun = 5
	// seedWorkers is how many runs are written at once: the store commits
	// their writes in shared batches.
	seedWorkers = 256
)

// seedRun returns run i as the seed writes it, and its status. Its
// workflow, agent, status and subject are drawn independently from a hash
// of i, so that no filter and sort are correlated.
func seedRun(i int) (*auditshot.Run, auditshot.RunStatus) {
	x := uint64(i+1) * 0x9E3779B97F4A7C15
	x ^= x >> 31
	pick := func(n int) int { v := int(x % uint64(n)); x /= uint64(n); return v }
	r := &auditshot.Run{TenantID: tenantID, ID: fmt.Sprintf("run-%06d", i), Workflow: workflows[pick(len(workflows))],
		Agent:     auditshot.Agent{ID: fmt.Sprintf("agent-%02d", pick(agents)), Name: "bench agent", Model: "model-1", Version: "1.0"},
		Principal: fmt.Sprintf("user-%d", i%97), Labels: map[string]string{"env": "bench"}}
	status := statuses[pick(len(statuses))]
	r.Subject = fmt.Sprintf("customer-%d", pick(subjects))
	return r, status
}

// dataDir returns a data directory holding n seeded runs, and whether it
// was seeded now. Unless fresh, it reuses the directory cached under the
// system temporary directory for this seedVersion and n.
func dataDir(ctx context.Context, n int, fresh bool, w io.Writer) (dir string, seeded bool, err error) {
	dir = filepath.Join(os.TempDir(), fmt.Sprintf("auditshot-benchui-v%d-%d", seedVersion, n))
	done := filepath.Join(dir, "seeded")
	if _, err := os.Stat(done); err == nil && !fresh {
		return dir, false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, err
	}
	skey, vkey, err := ledger.GenerateKey("bench.auditshot")
	if err != nil {
		return "", false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "log.key"), []byte(skey+"\n"+vkey+"\n"), 0o600); err != nil {
		return "", false, err
	}
	fmt.Fprintf(w, "seeding %d runs into %s ...\n", n, dir)
	start := time.Now()
	if err := seed(ctx, dir, n); err != nil {
		return "", false, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(w, "seeded in %.1fs\n", time.Since(start).Seconds())
	return dir, true, os.WriteFile(done, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
}

// openStore opens the store of a data directory with its log key. now, if
// not nil, is the store's clock.
func openStore(ctx context.Context, dir string, now func() time.Time) (*sqlite.DB, error) {
	b, err := os.ReadFile(filepath.Join(dir, "log.key"))
	if err != nil {
		return nil, err
	}
	skey, vkey, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	verifier, err := ledger.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(dir, "auditshot.db"), sqlite.Config{Signer: signer, Verifier: verifier,
		PublicKey: vkey, OriginBase: "bench.auditshot", Logger: quiet, Now: now})
}

// seed writes n runs through the store's own write path, as the server
// does: CreateRun, eventsPerRun AddEvent calls and (for all but the
// running ones) FinishRun, each appending its ledger entry in the
// transaction of its rows; then it indexes their text (IndexRunText).
// Runs start about 30 seconds apart, ending now.
// seedWorkers runs are written at once, so the store's group commit
// batches them; that, not a side door into the tables, is what makes it
// fast.
func seed(ctx context.Context, dir string, n int) error {
	var tick atomic.Int64
	base := time.Now().Add(-time.Duration(n) * 30 * time.Second)
	clock := func() time.Time { return base.Add(time.Duration(tick.Load()) * 30 * time.Second) }
	db, err := openStore(ctx, dir, clock)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreateTenant(ctx, &auditshot.Tenant{ID: tenantID, Name: "Bench", Plan: auditshot.Plans["unlimited"]}); err != nil {
		return err
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				// The clock moves forward with the runs started, so start
				// times follow run numbers roughly, ties and all.
				for cur := tick.Load(); int64(i) > cur && !tick.CompareAndSwap(cur, int64(i)); cur = tick.Load() {
				}
				if err := seedOne(ctx, db, i); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("run %d: %w", i, err); cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Index the runs' text now rather than in the first search.
	if err := db.IndexRunText(ctx); err != nil {
		return err
	}
	if _, err := db.SignCheckpoint(ctx, tenantID); err != nil {
		return err
	}
	return nil
}

func seedOne(ctx context.Context, db *sqlite.DB, i int) error {
	r, status := seedRun(i)
	if err := db.CreateRun(ctx, r); err != nil {
		return err
	}
	for j := range eventsPerRun {
		k := (i + j*3) % len(eventNames)
		e := &auditshot.Event{TenantID: tenantID, RunID: r.ID, Type: eventTypes[k], Name: eventNames[k],
			Data: fmt.Appendf(nil, `{"step":%d,"order":"ORD-%07d","amount":"%d.%02d","note":"%s for %s"}`,
				j, (i*13+j)%9999991, i%500, j*7%100, eventNames[k], r.Subject)}
		if j == 3 {
			e.Reasoning = "the record matches the policy for " + r.Workflow
		}
		if err := db.AddEvent(ctx, e); err != nil {
			return err
		}
	}
	if status != auditshot.RunRunning {
		if _, err := db.FinishRun(ctx, tenantID, r.ID, status); err != nil {
			return err
		}
	}
	return nil
}

// checkSeeded returns an error unless the store holds n runs of the seed.
func checkSeeded(ctx context.Context, db *sqlite.DB, n int) error {
	last, _ := seedRun(n - 1)
	r, err := db.FindRun(ctx, tenantID, last.ID)
	if err != nil {
		return fmt.Errorf("the cached data has no run %s (use -fresh): %w", last.ID, err)
	}
	if r.Workflow != last.Workflow {
		return errors.New("the cached data is not this seed's (use -fresh)")
	}
	return nil
}
