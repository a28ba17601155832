package bundle_test

import (
	"errors"
	"testing"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

func TestCheckConsistency(t *testing.T) {
	a := newTestLog(t)
	// b is signed by the same key and shares a's first 6 entries, then
	// diverges: a forked history.
	b := &testLog{tb: t, signer: a.signer, vkey: a.vkey, blobs: map[string][]byte{}}
	b.fill(1)
	proof := func(l *testLog, oldSize, newSize int64) []byte {
		hs, err := ledger.ProveConsistency(oldSize, newSize, l)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ledger.FormatConsistencyProof(ledger.ConsistencyProof{OldSize: oldSize, NewSize: newSize, Hashes: hs})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys := []string{a.vkey}
	tests := []struct {
		name         string
		first, other []byte
		proof        []byte
		want         error
	}{
		{"OK", a.checkpoint(8), a.checkpoint(logSize), proof(a, 8, logSize), nil},
		{"OKReversed", a.checkpoint(logSize), a.checkpoint(8), proof(a, 8, logSize), nil},
		{"OKSameSize", a.checkpoint(8), a.checkpoint(8), nil, nil},
		{"OKSharedPrefix", a.checkpoint(6), b.checkpoint(logSize), proof(b, 6, logSize), nil},
		{"OKEmpty", a.checkpoint(0), b.checkpoint(logSize), nil, nil},
		{"ErrFork", a.checkpoint(8), b.checkpoint(logSize), proof(b, 8, logSize), bundle.ErrFork},
		{"ErrForkOtherProof", a.checkpoint(8), b.checkpoint(logSize), proof(a, 8, logSize), bundle.ErrFork},
		{"ErrForkSameSize", a.checkpoint(10), b.checkpoint(10), nil, bundle.ErrFork},
		{"ErrForkNoProof", a.checkpoint(8), a.checkpoint(logSize), nil, bundle.ErrFork},
		{"ErrForkWrongSizes", a.checkpoint(8), a.checkpoint(logSize), proof(a, 7, logSize), bundle.ErrFork},
		{"ErrCheckpoint", a.checkpoint(8), func() []byte { s, _ := newKey(t, testOrigin); return a.checkpoint(logSize, s) }(), proof(a, 8, logSize), bundle.ErrCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bundle.CheckConsistency(testOrigin, keys, tt.first, tt.other, tt.proof)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("CheckConsistency: %v, want %v", err, tt.want)
			}
		})
	}
}
