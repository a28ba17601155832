package bundle_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// BenchmarkVerify verifies range bundles of entries of about 1 KiB each
// and reports entries verified per second.
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{10_000, 50_000} {
		for _, file := range []bool{false, true} {
			name := fmt.Sprintf("entries=%d", n)
			if file {
				name += "/file"
			}
			b.Run(name, func(b *testing.B) { benchVerify(b, n, file) })
		}
	}
}

// benchVerify verifies a bundle of n entries, read from memory or, if
// file, from a file (as auditshot verify does).
func benchVerify(b *testing.B, n int, file bool) {
	s, vkey := newKey(b, testOrigin)
	l := &testLog{tb: b, signer: s, vkey: vkey, blobs: map[string][]byte{}}
	pad := string(bytes.Repeat([]byte("x"), 900))
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for i := range n {
		e, err := ledger.Marshal(ledger.Entry{V: ledger.Version, Type: ledger.TypeRunEvent, Tenant: "tenant_1",
			Time: t0.Add(time.Duration(i) * time.Millisecond), Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, pad))})
		if err != nil {
			b.Fatal(err)
		}
		l.append(e)
	}
	zb := write(b, l.rangeContents(0, int64(n), int64(n), l.checkpoint(int64(n))))
	var r io.ReaderAt = bytes.NewReader(zb)
	if file {
		f, err := os.Create(filepath.Join(b.TempDir(), "bundle.zip"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(zb); err != nil {
			b.Fatal(err)
		}
		r = f
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := bundle.Verify(b.Context(), r, int64(len(zb)), bundle.VerifyOptions{Keys: []string{vkey}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}
