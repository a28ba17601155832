package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditshot/auditshot/ledger"
)

// memLog is an in-memory log that keeps tlog's stored-hash layout through
// ledger.StoredHashes, as a store does.
type memLog struct {
	entries [][]byte
	hashes  []ledger.Hash
}

// ReadHashes implements ledger.HashReader.
func (m *memLog) ReadHashes(indexes []int64) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("no stored hash %d (have %d)", x, len(m.hashes))
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memLog) size() int64 { return int64(len(m.entries)) }

// MustAppend appends an encoded entry and checks the stored-hash count.
func (m *memLog) MustAppend(tb testing.TB, entry []byte) {
	tb.Helper()
	n := m.size()
	hs, err := ledger.StoredHashes(n, entry, m)
	if err != nil {
		tb.Fatalf("StoredHashes(%d): %v", n, err)
	}
	if got, want := int64(len(m.hashes)), ledger.StoredHashIndex(0, n); got != want {
		tb.Fatalf("before leaf %d: %d stored hashes, StoredHashIndex(0, n) = %d", n, got, want)
	}
	m.hashes = append(m.hashes, hs...)
	m.entries = append(m.entries, entry)
	if got, want := int64(len(m.hashes)), ledger.StoredHashCount(n+1); got != want {
		tb.Fatalf("after leaf %d: %d stored hashes, StoredHashCount = %d", n, got, want)
	}
}

// MustRoot returns the tree hash at size.
func (m *memLog) MustRoot(tb testing.TB, size int64) ledger.Hash {
	tb.Helper()
	h, err := ledger.TreeHash(size, m)
	if err != nil {
		tb.Fatalf("TreeHash(%d): %v", size, err)
	}
	return h
}

// leafHashes returns the leaf hashes of entries [start, end).
func (m *memLog) leafHashes(start, end int64) []ledger.Hash {
	var out []ledger.Hash
	for _, e := range m.entries[start:end] {
		out = append(out, ledger.LeafHash(e))
	}
	return out
}

// MustMarshal marshals e or fails the test.
func MustMarshal(tb testing.TB, e ledger.Entry) []byte {
	tb.Helper()
	b, err := ledger.Marshal(e)
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	return b
}

// testTime is a fixed server time for entries made in tests.
var testTime = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// minimalEntry returns a valid entry with only the required members.
func minimalEntry() ledger.Entry {
	return ledger.Entry{V: ledger.Version, Type: ledger.TypeRunStarted, Tenant: "t1", Time: testTime}
}

// MustLog returns a log of n entries made by Marshal.
func MustLog(tb testing.TB, n int) *memLog {
	tb.Helper()
	m := &memLog{}
	for i := range n {
		e := minimalEntry()
		e.Type = ledger.TypeRunEvent
		e.IDs = map[string]string{ledger.IDRun: "run_1", ledger.IDEvent: fmt.Sprintf("ev_%d", i)}
		e.Time = testTime.Add(time.Duration(i) * time.Millisecond)
		m.MustAppend(tb, MustMarshal(tb, e))
	}
	return m
}

// flip returns h with one bit changed.
func flip(h ledger.Hash) ledger.Hash {
	h[7] ^= 0x10
	return h
}
