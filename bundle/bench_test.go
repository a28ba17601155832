package bundle_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// BenchmarkVerify verifies a range bundle of 10,000 entries of about 1 KiB
// each and reports entries verified per second.
func BenchmarkVerify(b *testing.B) {
	const n = 10_000
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
	zb := write(b, l.rangeContents(0, n, n, l.checkpoint(n)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := bundle.Verify(b.Context(), bytes.NewReader(zb), int64(len(zb)), bundle.VerifyOptions{Keys: []string{vkey}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}
