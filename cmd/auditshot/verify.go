package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/auditshot/auditshot/bundle"
)

// runVerify checks an evidence bundle offline: `auditshot verify BUNDLE
// [--key VKEY]... [--tsa-root PEMFILE]...`. It exits 0 only when every check holds, 1 when one
// fails (the summary names the entry, blob or file), 2 when it could not
// run.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keys multi
	fs.Var(&keys, "key", "verifier key of the log (note vkey text, or a file holding it); repeatable. Without it the bundle's own keys are used, with a warning")
	origin := fs.String("origin", "", "the log origin the bundle must come from")
	var tsaRoots multi
	fs.Var(&tsaRoots, "tsa-root", "PEM file of root certificates trusted to certify time-stamping authorities; repeatable. Without it the bundle's time anchors are not checked, with a warning")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditshot verify BUNDLE [--key VKEY]... [--tsa-root PEMFILE]... [--origin ORIGIN]")
		fs.PrintDefaults()
	}
	path, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if path == "" {
		return usageError{"verify: a bundle file is required"}
	}
	vkeys, err := readKeys(keys)
	if err != nil {
		return usageError{"verify: --key: " + err.Error()}
	}
	roots, err := readTSARoots(tsaRoots)
	if err != nil {
		return usageError{"verify: --tsa-root: " + err.Error()}
	}
	f, err := os.Open(path)
	if err != nil {
		return usageError{"verify: " + err.Error()}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return usageError{"verify: " + err.Error()}
	}
	opts := bundle.VerifyOptions{Keys: vkeys, Origin: *origin, TSARoots: roots}
	bar := newProgressBar(stderr, "verifying")
	if bar != nil {
		opts.Progress = func(p bundle.Progress) { bar.update(p.Bytes, p.TotalBytes, p.Files, p.TotalFiles) }
	}
	rep, err := bundle.Verify(ctx, f, st.Size(), opts)
	bar.done()
	fmt.Fprint(stdout, rep.Summary())
	switch {
	case errors.Is(err, bundle.ErrFailed):
		return errVerifyFailed
	case err != nil:
		return usageError{"verify: " + err.Error()}
	}
	return nil
}

// errVerifyFailed is returned when the bundle does not verify; the summary
// already says why.
var errVerifyFailed = errors.New("the bundle does NOT verify")

// readKeys returns each --key as vkey text: the value itself, or the
// content of the file it names.
func readKeys(keys []string) ([]string, error) {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if st, err := os.Stat(k); err == nil && st.Mode().IsRegular() {
			b, err := os.ReadFile(k)
			if err != nil {
				return nil, err
			}
			k = strings.TrimSpace(string(b))
		}
		out = append(out, k)
	}
	return out, nil
}

// readTSARoots returns the certificates of the PEM files as a pool, or nil
// if there are none. Every file MUST hold at least one certificate.
func readTSARoots(files []string) (*x509.CertPool, error) {
	if len(files) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", name)
		}
	}
	return pool, nil
}

// progressBar draws a one-line progress bar on a terminal.
type progressBar struct {
	w     io.Writer
	label string
	last  int
}

// newProgressBar returns a bar when w is a terminal, else nil (whose
// methods do nothing).
func newProgressBar(w io.Writer, label string) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w, label: label, last: -1}
}

func (b *progressBar) update(bytes, totalBytes int64, files, totalFiles int) {
	if b == nil || totalBytes <= 0 {
		return
	}
	pct := int(bytes * 100 / totalBytes)
	if pct == b.last {
		return
	}
	b.last = pct
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%% %d/%d files", b.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, files, totalFiles)
}

func (b *progressBar) done() {
	if b != nil && b.last >= 0 {
		fmt.Fprintln(b.w)
	}
}
