// Command benchledger is the ledger benchmark (`make bench-ledger`). In one
// run, on the same 1 KiB entries and with every append durable before it is
// acknowledged, it measures:
//
//   - append throughput (entries/s) of auditshot's ledger on SQLite (package
//     sqlite: WAL, synchronous=FULL, group commit) and of a Tessera POSIX log
//     (github.com/transparency-dev/tessera/storage/posix, whose files are
//     written with O_SYNC, renamed and their directory fsynced before an
//     entry's index future resolves), with 1, 16 and 256 concurrent
//     appenders, the median of several rounds, and the line
//     "ledger-append-ratio-vs-tessera: X" (auditshot/Tessera at 256);
//   - "inclusion-proof-p50-us-at-1M: N", the median time of an inclusion
//     proof (store read and verification) in a log of 1,000,000 entries
//     built through the store's public API;
//   - "verify-entries-per-second: Z", bundle.Verify over a bundle of
//     100,000 entries exported from that log.
//
// Tessera appends the very bytes the store wrote (read back with Entries).
// Everything is local; -quick runs a small smoke version. Goals: X >= 1.0,
// N < 1000, Z >= 50,000.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/auditshot/auditshot/internal/benchstat"
)

// options are the benchmark's parameters, from flags.
type options struct {
	dir        string
	keep       bool
	rounds     int
	roundTime  time.Duration
	appenders  []int
	entrySize  int
	bigSize    int64
	bigLimit   time.Duration
	proofs     int
	bundleSize int64
}

func main() {
	var o options
	quick := flag.Bool("quick", false, "smoke run: short rounds and small logs")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&o.dir, "dir", os.TempDir(), "directory for the benchmark's databases and logs (on the disk to measure)")
	flag.BoolVar(&o.keep, "keep", false, "keep the benchmark's files")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per appender count (the median is reported)")
	flag.DurationVar(&o.roundTime, "round", 3*time.Second, "how long each appender loops in a round")
	flag.IntVar(&o.entrySize, "entry-size", 1024, "approximate size of an encoded entry in bytes")
	flag.Int64Var(&o.bigSize, "n", 1_000_000, "entries in the log for inclusion proofs")
	flag.DurationVar(&o.bigLimit, "build-limit", 5*time.Minute, "stop building the large log after this long and report the size reached")
	flag.IntVar(&o.proofs, "proofs", 1000, "random inclusion proofs to time")
	flag.Int64Var(&o.bundleSize, "bundle", 100_000, "entries in the verified bundle")
	flag.Parse()
	o.appenders = []int{1, 16, 256}
	if *quick {
		o.rounds, o.roundTime = 1, 300*time.Millisecond
		o.bigSize, o.proofs, o.bundleSize = 5_000, 200, 2_000
	}
	if err := profiled(*cpuProfile, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchledger:", err)
		os.Exit(1)
	}
}

// profiled runs the benchmark, under the CPU profiler if profile names a
// file; an interrupt cancels it.
func profiled(profile string, o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopProfile, err := benchstat.CPUProfile(profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	return run(ctx, o, os.Stdout)
}

// logger reports progress on stderr, apart from the results on stdout.
var logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

func run(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp(o.dir, "benchledger-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(out, "benchledger: %s %s/%s, %d CPUs, files in %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), dir)
	fmt.Fprintln(out, "durable appends: sqlite WAL synchronous=FULL (group commit); tessera posix O_SYNC files + directory fsync")
	ratio, err := benchAppend(ctx, o, dir, out)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	fmt.Fprintf(out, "ledger-append-ratio-vs-tessera: %.2f\n", ratio)
	big, err := buildBig(ctx, o, dir, out)
	if err != nil {
		return fmt.Errorf("build large log: %w", err)
	}
	defer big.close()
	if err := benchProofs(ctx, o, big, out); err != nil {
		return fmt.Errorf("inclusion proofs: %w", err)
	}
	if err := benchVerify(ctx, o, big, dir, out); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}
