package ledger_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/auditshot/auditshot/ledger"
)

// benchEntry is an entry of about 1 KiB, like the ledger benchmark's.
func benchEntry() ledger.Entry {
	e := goldenEntries()[4].entry
	e.Data = json.RawMessage(fmt.Sprintf(`{"note":%q,"n":1}`, strings.Repeat("x", 400)))
	return e
}

func BenchmarkMarshal(b *testing.B) {
	e := benchEntry()
	for b.Loop() {
		if _, err := ledger.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	raw := MustMarshal(b, benchEntry())
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ledger.Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRange verifies 100,000 leaves against a root, as
// `auditshot verify` does for a bundle of a range (leaf hashing excluded).
func BenchmarkVerifyRange(b *testing.B) {
	const n = 100_000
	m := &memLog{}
	for i := range n {
		m.MustAppend(b, []byte(fmt.Sprint(i)))
	}
	root, leaves := m.MustRoot(b, n), m.leafHashes(0, n)
	for b.Loop() {
		if err := ledger.VerifyRange(0, n, n, leaves, nil, root); err != nil {
			b.Fatal(err)
		}
	}
}
