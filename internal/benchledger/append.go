package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"github.com/auditshot/auditshot/ledger"
)

// Tessera's batching matches the store's group commit defaults
// (sqlite.DefaultMaxBatch writes, sqlite.DefaultBatchWait).
const (
	tesseraBatchSize = 512
	tesseraBatchAge  = time.Millisecond
	// maxPool bounds the entries kept to feed Tessera.
	maxPool = 20_000
)

// tesseraLog is a Tessera POSIX log being appended to.
type tesseraLog struct {
	add      tessera.AddFn
	shutdown func(context.Context) error
	cancel   context.CancelFunc
}

func openTessera(path string) (*tesseraLog, error) {
	ctx, cancel := context.WithCancel(context.Background())
	driver, err := posix.New(ctx, posix.Config{Path: path})
	if err != nil {
		cancel()
		return nil, err
	}
	skey, _, err := ledger.GenerateKey("tessera.bench/log")
	if err != nil {
		cancel()
		return nil, err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		cancel()
		return nil, err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(tesseraBatchSize, tesseraBatchAge).
		WithCheckpointInterval(time.Second)
	a, shutdown, _, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	return &tesseraLog{add: a.Add, shutdown: shutdown, cancel: cancel}, nil
}

func (l *tesseraLog) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := l.shutdown(ctx)
	l.cancel()
	return err
}

// measure runs conc appenders, each calling fn in a loop for d, and returns
// the appends per second (counting until the last in-flight append ends).
func measure(ctx context.Context, conc int, d time.Duration, fn func(ctx context.Context) error) (float64, error) {
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conc)
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := fn(ctx); err != nil {
					errs[w] = err
					return
				}
				total.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return 0, err
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}

// benchAppend measures both logs and prints the table; it returns the ratio
// auditshot/Tessera at the largest appender count.
func benchAppend(ctx context.Context, o options, dir string, out io.Writer) (float64, error) {
	s, err := openStore(ctx, filepath.Join(dir, "append.db"), "append", o.entrySize)
	if err != nil {
		return 0, err
	}
	defer s.close()
	tl, err := openTessera(filepath.Join(dir, "tessera"))
	if err != nil {
		return 0, fmt.Errorf("open tessera: %w", err)
	}
	defer tl.close()

	// pool holds the store's entries, which Tessera appends in turn.
	var pool [][]byte
	var read int64
	var next atomic.Int64
	refill := func() error {
		n, err := s.size(ctx)
		if err != nil {
			return err
		}
		if start := max(read, n-maxPool); start < n {
			es, err := s.db.Entries(ctx, s.tenant, start, n)
			if err != nil {
				return err
			}
			pool = append(pool, es...)
			pool = pool[max(0, len(pool)-maxPool):]
		}
		read = n
		return nil
	}
	addTessera := func(ctx context.Context) error {
		e := pool[int(next.Add(1))%len(pool)]
		_, err := tl.add(ctx, tessera.NewEntry(e))()
		return err
	}
	if err := refill(); err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "entry size: %d bytes (run.event); %d rounds of %v per appender count, median\n\n",
		s.entryLen, o.rounds, o.roundTime)
	fmt.Fprintf(out, "%-10s %18s %18s %8s\n", "appenders", "auditshot entries/s", "tessera entries/s", "ratio")
	var ratio float64
	for _, conc := range o.appenders {
		var ours, theirs []float64
		for r := range o.rounds {
			rate, err := measure(ctx, conc, o.roundTime, s.add)
			if err != nil {
				return 0, fmt.Errorf("auditshot, %d appenders: %w", conc, err)
			}
			ours = append(ours, rate)
			if err := refill(); err != nil {
				return 0, err
			}
			if rate, err = measure(ctx, conc, o.roundTime, addTessera); err != nil {
				return 0, fmt.Errorf("tessera, %d appenders: %w", conc, err)
			}
			theirs = append(theirs, rate)
			logger.Info("append round", "appenders", conc, "round", r+1, "auditshot", int(ours[r]), "tessera", int(rate))
		}
		a, b := median(ours), median(theirs)
		ratio = a / b
		fmt.Fprintf(out, "%-10d %18.0f %18.0f %8.2f\n", conc, a, b, ratio)
	}
	fmt.Fprintln(out)
	return ratio, nil
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
