package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot/ledger"
)

// buildAppenders is how many goroutines fill the large log.
const buildAppenders = 256

// buildBig fills a new store's tenant log with o.bigSize entries through
// AddEvent from buildAppenders goroutines, or as many as o.bigLimit allows.
func buildBig(ctx context.Context, o options, dir string, out io.Writer) (*store, error) {
	s, err := openStore(ctx, filepath.Join(dir, "big.db"), "big", o.entrySize)
	if err != nil {
		return nil, err
	}
	size, err := s.size(ctx)
	if err != nil {
		s.close()
		return nil, err
	}
	var claimed atomic.Int64
	claimed.Store(size)
	start := time.Now()
	deadline := start.Add(o.bigLimit)
	var wg sync.WaitGroup
	errs := make([]error, buildAppenders)
	for w := range buildAppenders {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil && claimed.Add(1) <= o.bigSize {
				if err := s.add(ctx); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	progress := time.NewTicker(15 * time.Second)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-progress.C:
			n, _ := s.size(ctx)
			logger.Info("building large log", "entries", n, "target", o.bigSize, "elapsed", time.Since(start).Round(time.Second))
		}
	}
	progress.Stop()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		s.close()
		return nil, err
	}
	elapsed := time.Since(start)
	if size, err = s.size(ctx); err != nil {
		s.close()
		return nil, err
	}
	fmt.Fprintf(out, "large log: %d entries built through AddEvent with %d appenders in %v (%.0f entries/s)\n",
		size, buildAppenders, elapsed.Round(100*time.Millisecond), float64(size)/elapsed.Seconds())
	if size < o.bigSize {
		fmt.Fprintf(out, "large log: build limit %v reached at %d of %d entries; proof times below are at that size\n", o.bigLimit, size, o.bigSize)
	}
	return s, nil
}

// benchProofs times inclusion proofs of random entries at the log's
// checkpoint, each read from the store and verified against its root.
func benchProofs(ctx context.Context, o options, s *store, out io.Writer) error {
	cp, err := s.db.SignCheckpoint(ctx, s.tenant)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(cp.Size), 1))
	times := make([]time.Duration, 0, o.proofs)
	for range o.proofs {
		i := rng.Int64N(cp.Size)
		es, err := s.db.Entries(ctx, s.tenant, i, i+1)
		if err != nil {
			return err
		}
		leaf := ledger.LeafHash(es[0])
		t0 := time.Now()
		p, err := s.db.InclusionProof(ctx, s.tenant, i, cp.Size)
		if err != nil {
			return err
		}
		if err := ledger.VerifyInclusion(i, cp.Size, leaf, hashes(p), cp.RootHash); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	q := func(f float64) time.Duration { return times[int(f*float64(len(times)-1))] }
	fmt.Fprintf(out, "inclusion proofs at size %d (%d random entries, store read + verify): p50 %v, p90 %v, p99 %v, max %v\n",
		cp.Size, len(times), q(0.5), q(0.9), q(0.99), times[len(times)-1])
	label := "inclusion-proof-p50-us-at-1M"
	if cp.Size < 1_000_000 {
		label = fmt.Sprintf("inclusion-proof-p50-us-at-%d", cp.Size)
	}
	fmt.Fprintf(out, "%s: %.1f\n", label, float64(q(0.5).Nanoseconds())/1e3)
	return nil
}

func hashes(p [][32]byte) []ledger.Hash {
	out := make([]ledger.Hash, len(p))
	for i := range p {
		out[i] = p[i]
	}
	return out
}
