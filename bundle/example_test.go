package bundle_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/auditshot/auditshot/bundle"
)

// ExampleVerify shows the wiring of `auditshot verify BUNDLE [--key VKEY]`:
// verify, print the summary, and exit non-zero unless every check held.
func ExampleVerify() {
	ctx := context.Background()
	keys := []string{ /* --key values, e.g. "auditshot.example/tenant_1+1a2b3c4d+AQ..." */ }
	f, err := os.Open("evidence.zip")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rep, err := bundle.Verify(ctx, f, st.Size(), bundle.VerifyOptions{
		Keys:     keys,
		Progress: func(p bundle.Progress) { fmt.Fprintf(os.Stderr, "\r%d/%d files", p.Files, p.TotalFiles) },
	})
	fmt.Print(rep.Summary())
	switch {
	case errors.Is(err, bundle.ErrFailed):
		os.Exit(1) // the summary names every culprit
	case err != nil:
		fmt.Fprintln(os.Stderr, "verify:", err) // could not run: bad --key, I/O error
		os.Exit(2)
	}
}
