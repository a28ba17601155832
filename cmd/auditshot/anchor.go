package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/auditshot/auditshot/rfc3161"
)

// runAnchor timestamps a tenant's latest checkpoint at an RFC 3161 TSA and
// records the anchor in its log: `auditshot anchor --tenant T --tsa URL`.
// auditshot serve --tsa does it on a schedule; this command works beside a
// running server, or from cron without one.
func runAnchor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anchor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dataFlags
	df.register(fs)
	tenant := fs.String("tenant", "", "tenant id (required)")
	tsa := fs.String("tsa", "", "URL of the RFC 3161 time-stamping authority (required; env AUDITSHOT_TSA)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the TSA")
	verbose := fs.Bool("v", false, "verbose logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	u, err := url.Parse(*tsa)
	switch {
	case *tenant == "":
		return usageError{"anchor: --tenant is required"}
	case *tsa == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return usageError{"anchor: --tsa must be the http(s) URL of a time-stamping authority"}
	}
	// Only the database: a running server holds the blob store, and an
	// anchor needs no blob.
	db, _, err := openDB(ctx, df.dir, df.name, newLogger(stderr, *verbose))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	a, err := db.Anchor(ctx, *tenant, &rfc3161.Client{URL: *tsa}, u.Host)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "anchored checkpoint %d of %s at %s (TSA time), ledger entry %d\n", a.CheckpointSize, *tenant, a.GenTime.UTC().Format(time.RFC3339), a.Ledger.Index)
	return nil
}
