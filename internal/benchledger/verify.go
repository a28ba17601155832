package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// exportChunk is how many entries are read at once for the bundle.
const exportChunk = 10_000

// verifyRounds is how many times the bundle is verified (median reported).
const verifyRounds = 3

// benchVerify exports entries [0, o.bundleSize) of s as a range bundle
// against a fresh checkpoint, writes it to a file and times bundle.Verify.
func benchVerify(ctx context.Context, o options, s *store, dir string, out io.Writer) error {
	start := time.Now()
	c, err := export(ctx, s, o.bundleSize)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "bundle.zip")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := bundle.Write(ctx, f, c, bundle.WriteOptions{}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bundle: %d entries (range [0, %d) of %d), %.1f MB, exported and written in %v\n",
		len(c.Entries), len(c.Entries), c.Range.Size, float64(st.Size())/1e6, time.Since(start).Round(100*time.Millisecond))
	var rates []float64
	for range verifyRounds {
		t0 := time.Now()
		rep, err := bundle.Verify(ctx, f, st.Size(), bundle.VerifyOptions{Keys: []string{s.vkey}, Origin: c.Origin})
		if err != nil {
			if rep != nil {
				fmt.Fprint(out, rep.Summary())
			}
			return err
		}
		rates = append(rates, float64(len(c.Entries))/time.Since(t0).Seconds())
	}
	fmt.Fprintf(out, "bundle.Verify: %d rounds, entries/s %.0f (median)\n", verifyRounds, median(rates))
	fmt.Fprintf(out, "verify-entries-per-second: %.0f\n", median(rates))
	return nil
}

// export reads the first n entries of s (or all, if fewer), their inclusion
// proofs and the range proof against a new checkpoint, through the store's
// public API.
func export(ctx context.Context, s *store, n int64) (bundle.Contents, error) {
	cp, err := s.db.SignCheckpoint(ctx, s.tenant)
	if err != nil {
		return bundle.Contents{}, err
	}
	n = min(n, cp.Size)
	entries := make([]bundle.Entry, n)
	for start := int64(0); start < n; start += exportChunk {
		es, err := s.db.Entries(ctx, s.tenant, start, min(start+exportChunk, n))
		if err != nil {
			return bundle.Contents{}, err
		}
		for i, e := range es {
			entries[start+int64(i)] = bundle.Entry{Index: start + int64(i), Bytes: e}
		}
	}
	var wg sync.WaitGroup
	const workers = 4
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := int64(w); i < n; i += workers {
				p, err := s.db.InclusionProof(ctx, s.tenant, i, cp.Size)
				if err != nil {
					errs[w] = fmt.Errorf("inclusion proof of %d: %w", i, err)
					return
				}
				entries[i].Proof = hashes(p)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return bundle.Contents{}, err
	}
	rp, err := s.db.RangeProof(ctx, s.tenant, 0, n, cp.Size)
	if err != nil {
		return bundle.Contents{}, err
	}
	origin := s.db.Origin(s.tenant)
	return bundle.Contents{
		Origin:     origin,
		Checkpoint: cp.Note,
		Keys:       []string{s.vkey},
		Entries:    entries,
		Range:      &ledger.RangeProof{Start: 0, End: n, Size: cp.Size, Hashes: hashes(rp)},
		Selection:  json.RawMessage(fmt.Sprintf(`{"range":[0,%d]}`, n)),
		Blobs: func(context.Context, string) (io.ReadCloser, error) {
			return nil, errors.New("the benchmark's entries refer to no blobs")
		},
	}, nil
}
