package ledger_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/auditshot/auditshot/ledger"
)

// sizes are the tree sizes the tamper tests run on: small, powers of two
// and their neighbours.
var sizes = []int64{1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 33}

func wantInvalid(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if !errors.Is(err, ledger.ErrInvalidProof) {
		t.Errorf(format+": error %v, want ErrInvalidProof", append(args, err)...)
	}
}

func TestInclusion_Tamper(t *testing.T) {
	m := MustLog(t, 33)
	for _, n := range sizes {
		root := m.MustRoot(t, n)
		for i := range n {
			leaf := ledger.LeafHash(m.entries[i])
			p, err := ledger.ProveInclusion(i, n, m)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.VerifyInclusion(i, n, leaf, p, root); err != nil {
				t.Fatalf("leaf %d of %d: %v", i, n, err)
			}
			for j := range p {
				bad := slices.Clone(p)
				bad[j] = flip(bad[j])
				wantInvalid(t, ledger.VerifyInclusion(i, n, leaf, bad, root), "leaf %d of %d, hash %d flipped", i, n, j)
			}
			wantInvalid(t, ledger.VerifyInclusion(i, n, flip(leaf), p, root), "leaf %d of %d, wrong leaf", i, n)
			wantInvalid(t, ledger.VerifyInclusion(i, n, leaf, p, flip(root)), "leaf %d of %d, wrong root", i, n)
			wantInvalid(t, ledger.VerifyInclusion(i, n, leaf, append(slices.Clone(p), root), root), "leaf %d of %d, extra hash", i, n)
			if len(p) > 0 {
				wantInvalid(t, ledger.VerifyInclusion(i, n, leaf, p[:len(p)-1], root), "leaf %d of %d, truncated", i, n)
			}
			for _, j := range []int64{i - 1, i + 1} {
				if j >= 0 && j < n {
					wantInvalid(t, ledger.VerifyInclusion(j, n, leaf, p, root), "leaf %d of %d claimed at %d", i, n, j)
				}
			}
			// A wrong size, with that size's root as a checkpoint would
			// bind them, fails unless the proof is the same for both.
			for _, n2 := range []int64{n - 1, n + 1} {
				if n2 <= i || n2 > m.size() {
					continue
				}
				if p2, _ := ledger.ProveInclusion(i, n2, m); slices.Equal(p, p2) {
					continue
				}
				wantInvalid(t, ledger.VerifyInclusion(i, n2, leaf, p, m.MustRoot(t, n2)), "leaf %d of %d claimed in size %d", i, n, n2)
			}
		}
		wantInvalid(t, ledger.VerifyInclusion(n, n, ledger.Hash{}, nil, root), "index = size")
		wantInvalid(t, ledger.VerifyInclusion(-1, n, ledger.Hash{}, nil, root), "negative index")
	}
	for _, c := range [][2]int64{{0, 0}, {-1, 5}, {5, 5}, {6, 5}, {0, 34}} {
		if _, err := ledger.ProveInclusion(c[0], c[1], m); err == nil {
			t.Errorf("ProveInclusion(%d, %d): no error", c[0], c[1])
		}
	}
}

func TestConsistency_Tamper(t *testing.T) {
	m := MustLog(t, 33)
	for _, n := range sizes {
		root := m.MustRoot(t, n)
		for old := int64(0); old <= n; old++ {
			oldRoot := m.MustRoot(t, old)
			p, err := ledger.ProveConsistency(old, n, m)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.VerifyConsistency(old, n, p, oldRoot, root); err != nil {
				t.Fatalf("sizes %d, %d: %v", old, n, err)
			}
			if old == 0 {
				if len(p) != 0 {
					t.Fatalf("sizes 0, %d: proof has %d hashes, want none", n, len(p))
				}
				continue
			}
			for j := range p {
				bad := slices.Clone(p)
				bad[j] = flip(bad[j])
				wantInvalid(t, ledger.VerifyConsistency(old, n, bad, oldRoot, root), "sizes %d, %d, hash %d flipped", old, n, j)
			}
			wantInvalid(t, ledger.VerifyConsistency(old, n, p, flip(oldRoot), root), "sizes %d, %d, wrong old root", old, n)
			wantInvalid(t, ledger.VerifyConsistency(old, n, p, oldRoot, flip(root)), "sizes %d, %d, wrong new root", old, n)
			wantInvalid(t, ledger.VerifyConsistency(old, n, append(slices.Clone(p), root), oldRoot, root), "sizes %d, %d, extra hash", old, n)
			if len(p) > 0 {
				wantInvalid(t, ledger.VerifyConsistency(old, n, p[:len(p)-1], oldRoot, root), "sizes %d, %d, truncated", old, n)
			}
			if old < n {
				// The old size claimed one off, with that size's root.
				for _, o2 := range []int64{old - 1, old + 1} {
					if o2 < 1 || o2 >= n {
						continue
					}
					if p2, _ := ledger.ProveConsistency(o2, n, m); slices.Equal(p, p2) {
						continue
					}
					wantInvalid(t, ledger.VerifyConsistency(o2, n, p, m.MustRoot(t, o2), root), "sizes %d, %d claimed as %d", old, n, o2)
				}
			}
		}
		// A forked history: a different old tree of the same size is not a
		// prefix.
		if n > 1 {
			fork := MustLog(t, int(n-1))
			fork.MustAppend(t, []byte("forked"))
			p, _ := ledger.ProveConsistency(n-1, n, m)
			wantInvalid(t, ledger.VerifyConsistency(n, n, nil, fork.MustRoot(t, n), root), "fork at size %d", n)
			wantInvalid(t, ledger.VerifyConsistency(n-1, n, p, m.MustRoot(t, n-1), fork.MustRoot(t, n)), "fork at size %d", n)
		}
	}
	wantInvalid(t, ledger.VerifyConsistency(5, 4, nil, ledger.Hash{}, ledger.Hash{}), "sizes out of order")
	wantInvalid(t, ledger.VerifyConsistency(-1, 4, nil, ledger.Hash{}, ledger.Hash{}), "negative size")
	wantInvalid(t, ledger.VerifyConsistency(0, 4, []ledger.Hash{{}}, ledger.Hash{}, ledger.Hash{}), "non-empty proof from size 0")
	for _, c := range [][2]int64{{-1, 5}, {6, 5}, {1, 34}} {
		if _, err := ledger.ProveConsistency(c[0], c[1], m); err == nil {
			t.Errorf("ProveConsistency(%d, %d): no error", c[0], c[1])
		}
	}
}

func TestRange(t *testing.T) {
	m := MustLog(t, 33)
	for _, n := range sizes {
		root := m.MustRoot(t, n)
		for start := range n {
			for end := start + 1; end <= n; end++ {
				leaves := m.leafHashes(start, end)
				p, err := ledger.ProveRange(start, end, n, m)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) != ledger.RangeProofSize(start, end, n) {
					t.Fatalf("[%d, %d) of %d: %d hashes, RangeProofSize %d", start, end, n, len(p), ledger.RangeProofSize(start, end, n))
				}
				if err := ledger.VerifyRange(start, end, n, leaves, p, root); err != nil {
					t.Fatalf("[%d, %d) of %d: %v", start, end, n, err)
				}
				if n != 13 && n != 32 {
					continue // the tamper cases below on two sizes only, for time
				}
				checkRangeTamper(t, m, start, end, n, leaves, p, root)
			}
		}
	}
	for _, c := range [][3]int64{{0, 0, 5}, {3, 2, 5}, {-1, 2, 5}, {0, 6, 5}} {
		if _, err := ledger.ProveRange(c[0], c[1], c[2], m); err == nil {
			t.Errorf("ProveRange(%v): no error", c)
		}
		wantInvalid(t, ledger.VerifyRange(c[0], c[1], c[2], nil, nil, ledger.Hash{}), "VerifyRange(%v)", c)
	}
}

func checkRangeTamper(t *testing.T, m *memLog, start, end, n int64, leaves, p []ledger.Hash, root ledger.Hash) {
	t.Helper()
	for j := range p {
		bad := slices.Clone(p)
		bad[j] = flip(bad[j])
		wantInvalid(t, ledger.VerifyRange(start, end, n, leaves, bad, root), "[%d, %d) of %d, proof hash %d flipped", start, end, n, j)
	}
	for j := range leaves {
		bad := slices.Clone(leaves)
		bad[j] = flip(bad[j])
		wantInvalid(t, ledger.VerifyRange(start, end, n, bad, p, root), "[%d, %d) of %d, leaf %d changed", start, end, n, j)
	}
	if len(leaves) > 1 {
		swapped := slices.Clone(leaves)
		swapped[0], swapped[1] = swapped[1], swapped[0]
		wantInvalid(t, ledger.VerifyRange(start, end, n, swapped, p, root), "[%d, %d) of %d, leaves swapped", start, end, n)
		// A leaf removed from the range, whatever range is claimed.
		short := slices.Delete(slices.Clone(leaves), 0, 1)
		wantInvalid(t, ledger.VerifyRange(start, end, n, short, p, root), "[%d, %d) of %d, leaf removed", start, end, n)
		wantInvalid(t, ledger.VerifyRange(start+1, end, n, short, p, root), "[%d, %d) of %d, leaf removed, start moved", start, end, n)
		wantInvalid(t, ledger.VerifyRange(start, end-1, n, leaves[:len(leaves)-1], p, root), "[%d, %d) of %d, last leaf removed", start, end, n)
	}
	wantInvalid(t, ledger.VerifyRange(start, end, n, leaves, p, flip(root)), "[%d, %d) of %d, wrong root", start, end, n)
	wantInvalid(t, ledger.VerifyRange(start, end, n, append(slices.Clone(leaves), leaves[0]), p, root), "[%d, %d) of %d, leaf added", start, end, n)
	// The range claimed at another place, or in a tree of another size with
	// that size's root.
	for _, s2 := range []int64{start - 1, start + 1} {
		if s2 >= 0 && s2+(end-start) <= n {
			wantInvalid(t, ledger.VerifyRange(s2, s2+(end-start), n, leaves, p, root), "[%d, %d) of %d claimed at %d", start, end, n, s2)
		}
	}
	for _, n2 := range []int64{n - 1, n + 1} {
		if n2 >= end && n2 <= m.size() {
			wantInvalid(t, ledger.VerifyRange(start, end, n2, leaves, p, m.MustRoot(t, n2)), "[%d, %d) of %d claimed in size %d", start, end, n, n2)
		}
	}
}
