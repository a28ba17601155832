package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// runExport writes an evidence bundle from the embedded store:
// `auditshot export --tenant T (--run ID... | --range A:B) -o FILE`.
// The bundle's report.pdf is printed by a browser started for the export,
// with no network (newPrintEngine); without a browser (or with
// --pdf=false) the bundle has report.html only.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dataFlags
	df.register(fs)
	tenant := fs.String("tenant", "", "tenant id (required)")
	var runs multi
	fs.Var(&runs, "run", "run id to export (repeatable)")
	rng := fs.String("range", "", "export the index range START:END of the tenant's log, with a completeness proof")
	out := fs.String("o", "", "bundle file to write (required)")
	actor := fs.String("actor", "cli", "who exports, recorded in the export.created entry")
	pdf := fs.Bool("pdf", true, "print the report as report.pdf with a local Chromium, offline; without a browser the bundle has report.html only, with a warning")
	browser := fs.String("chromium", "", "browser binary printing report.pdf (default: detected; env AUDITSHOT_CHROMIUM)")
	verbose := fs.Bool("v", false, "verbose logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	sel := auditshot.ExportSelection{Runs: runs}
	if *rng != "" {
		a, b, ok := strings.Cut(*rng, ":")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return usageError{fmt.Sprintf("export: --range %q: want START:END", *rng)}
		}
		sel.Range = &auditshot.IndexRange{Start: start, End: end}
	}
	switch {
	case *tenant == "":
		return usageError{"export: --tenant is required"}
	case *out == "":
		return usageError{"export: -o FILE is required"}
	case (len(runs) == 0) == (sel.Range == nil):
		return usageError{"export: give --run ID... or --range START:END"}
	}
	s, err := df.open(ctx, stderr, *verbose)
	if err != nil {
		return err
	}
	defer s.Close()
	f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	opts := sqlite.ExportOptions{Generator: "auditshot " + Version}
	if *pdf {
		// server.ReportPrinter prints under an offline egress policy.
		eng, err := (&engineFlags{chromium: *browser, verbose: *verbose}).newEngine(ctx, stderr, 1)
		if err != nil {
			fmt.Fprintf(stderr, "warning: the bundle will have no report.pdf: %v\n", err)
		} else {
			defer eng.Close()
			opts.PrintPDF = server.ReportPrinter(eng)
		}
	}
	bar := newProgressBar(stderr, "exporting")
	if bar != nil {
		opts.Progress = func(p bundle.Progress) { bar.update(p.Bytes, p.TotalBytes, p.Files, p.TotalFiles) }
	}
	x, err := s.db.ExportWith(ctx, f, *tenant, *actor, sel, s.blobs, opts)
	bar.done()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), *out); err != nil {
		return err
	}
	fp, _ := ledger.KeyFingerprint(s.vkey)
	fmt.Fprintf(stdout, "%s: %d entries proven against checkpoint %d, %d bytes, sha256 %s\n", *out, x.Entries, x.CheckpointSize, x.Size, x.SHA256)
	fmt.Fprintf(stdout, "recorded as ledger entry %d; verify with: auditshot verify %s --key '%s' (fingerprint %s)\n", x.Ledger.Index, *out, s.vkey, fp)
	return nil
}
