package ledger_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/auditshot/auditshot/ledger"
)

// The RFC 6962 test vectors: the eight leaves used by certificate-transparency
// and transparency-dev/merkle (testonly.LeafInputs), their leaf hashes, the
// roots of every prefix, and some inclusion and consistency proofs. Leaf
// indexes here are zero-based.
var (
	rfcLeaves = []string{"", "00", "10", "2021", "3031", "40414243",
		"5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	rfcLeafHashes = []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
		"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
		"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		"4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
		"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		"46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
	}
	// rfcRoots[n] is the root of the first n leaves.
	rfcRoots = []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	rfcInclusion = []struct {
		index, size int64
		proof       []string
	}{
		{0, 1, nil},
		{0, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{5, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 3, []string{
			"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
		{1, 5, []string{
			"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	}
	rfcConsistency = []struct {
		old, new int64
		proof    []string
	}{
		{1, 1, nil},
		{1, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{6, 8, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
		{2, 5, []string{
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
		{6, 7, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	}
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func hexHashes(tb testing.TB, ss []string) []ledger.Hash {
	tb.Helper()
	out := []ledger.Hash{}
	for _, s := range ss {
		out = append(out, ledger.Hash(mustHex(tb, s)))
	}
	return out
}

func TestRFC6962Vectors(t *testing.T) {
	if got := ledger.EmptyTreeHash(); hex.EncodeToString(got[:]) != rfcRoots[0] {
		t.Fatalf("EmptyTreeHash = %x, want %s", got[:], rfcRoots[0])
	}
	m := &memLog{}
	for i, in := range rfcLeaves {
		leaf := mustHex(t, in)
		if got := ledger.LeafHash(leaf); hex.EncodeToString(got[:]) != rfcLeafHashes[i] {
			t.Errorf("LeafHash(leaf %d) = %x, want %s", i, got[:], rfcLeafHashes[i])
		}
		m.MustAppend(t, leaf)
	}
	for n, want := range rfcRoots {
		if got := m.MustRoot(t, int64(n)); hex.EncodeToString(got[:]) != want {
			t.Errorf("TreeHash(%d) = %x, want %s", n, got[:], want)
		}
	}
	// NodeHash of the first two leaf hashes is the root of size 2.
	lh := hexHashes(t, rfcLeafHashes)
	if got := ledger.NodeHash(lh[0], lh[1]); hex.EncodeToString(got[:]) != rfcRoots[2] {
		t.Errorf("NodeHash(leaf0, leaf1) = %x, want %s", got[:], rfcRoots[2])
	}
	for _, v := range rfcInclusion {
		want := hexHashes(t, v.proof)
		got, err := ledger.ProveInclusion(v.index, v.size, m)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("ProveInclusion(%d, %d) (-got +want):\n%s", v.index, v.size, diff)
		}
		root := ledger.Hash(mustHex(t, rfcRoots[v.size]))
		if err := ledger.VerifyInclusion(v.index, v.size, lh[v.index], want, root); err != nil {
			t.Errorf("VerifyInclusion(%d, %d): %v", v.index, v.size, err)
		}
	}
	for _, v := range rfcConsistency {
		want := hexHashes(t, v.proof)
		got, err := ledger.ProveConsistency(v.old, v.new, m)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("ProveConsistency(%d, %d) (-got +want):\n%s", v.old, v.new, diff)
		}
		r1, r2 := ledger.Hash(mustHex(t, rfcRoots[v.old])), ledger.Hash(mustHex(t, rfcRoots[v.new]))
		if err := ledger.VerifyConsistency(v.old, v.new, want, r1, r2); err != nil {
			t.Errorf("VerifyConsistency(%d, %d): %v", v.old, v.new, err)
		}
	}
}

// refRoot is the Merkle Tree Hash of RFC 6962 section 2.1, written from the
// definition, over leaf hashes.
func refRoot(leaves []ledger.Hash) ledger.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := refRoot(leaves[:k]), refRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// tlogStore is a log kept with tlog's own functions, independently of
// ledger's wrappers.
type tlogStore []tlog.Hash

func (s *tlogStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = (*s)[x]
	}
	return out, nil
}

func randomEntry(rng *rand.Rand, i int) ledger.Entry {
	e := minimalEntry()
	e.Type = ledger.Types()[rng.IntN(len(ledger.Types()))]
	e.Tenant = fmt.Sprintf("tenant-%d", rng.IntN(3))
	e.IDs = map[string]string{ledger.IDRun: fmt.Sprintf("run_%d", rng.IntN(1000))}
	e.Data = json.RawMessage(fmt.Sprintf(`{"i":%d,"r":%d}`, i, rng.Int64N(1<<53)))
	return e
}

// TestDifferential checks that roots and proofs computed through ledger
// equal those of x/mod/sumdb/tlog used directly, equal the RFC 6962
// definition, and verify with transparency-dev/merkle used directly.
func TestDifferential(t *testing.T) {
	h := rfc6962.DefaultHasher
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 42))
		m, ts := &memLog{}, &tlogStore{}
		var leaves []ledger.Hash
		roots := []ledger.Hash{ledger.EmptyTreeHash()}
		// Check every size: roots, then a sample of proofs.
		for n := int64(1); n <= 300; n++ {
			b := MustMarshal(t, randomEntry(rng, int(n)))
			m.MustAppend(t, b)
			hs, err := tlog.StoredHashes(n-1, b, ts)
			if err != nil {
				t.Fatal(err)
			}
			*ts = append(*ts, hs...)
			leaves = append(leaves, ledger.LeafHash(b))

			root := m.MustRoot(t, n)
			want, err := tlog.TreeHash(n, ts)
			if err != nil {
				t.Fatal(err)
			}
			if root != want || root != refRoot(leaves) {
				t.Fatalf("seed %d size %d: root %v, tlog %v, RFC 6962 %v", seed, n, root, want, refRoot(leaves))
			}
			roots = append(roots, root)
			if n > 40 && rng.IntN(8) != 0 {
				continue
			}
			for i := int64(0); i < n; i++ {
				p, err := ledger.ProveInclusion(i, n, m)
				if err != nil {
					t.Fatal(err)
				}
				tp, err := tlog.ProveRecord(n, i, ts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal([]ledger.Hash(tp), p) {
					t.Fatalf("size %d leaf %d: inclusion proof %v differs from tlog's %v", n, i, p, tp)
				}
				if err := proof.VerifyInclusion(h, uint64(i), uint64(n), leaves[i][:], toBytes(p), root[:]); err != nil {
					t.Fatalf("size %d leaf %d: merkle rejects the inclusion proof: %v", n, i, err)
				}
				if err := ledger.VerifyInclusion(i, n, leaves[i], p, root); err != nil {
					t.Fatalf("size %d leaf %d: %v", n, i, err)
				}
			}
			for old := int64(1); old <= n; old++ {
				if n > 40 && rng.IntN(4) != 0 {
					continue
				}
				p, err := ledger.ProveConsistency(old, n, m)
				if err != nil {
					t.Fatal(err)
				}
				tp, err := tlog.ProveTree(n, old, ts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal([]ledger.Hash(tp), p) {
					t.Fatalf("sizes %d, %d: consistency proof %v differs from tlog's %v", old, n, p, tp)
				}
				if err := proof.VerifyConsistency(h, uint64(old), uint64(n), toBytes(p), roots[old][:], root[:]); err != nil {
					t.Fatalf("sizes %d, %d: merkle rejects the consistency proof: %v", old, n, err)
				}
				if err := ledger.VerifyConsistency(old, n, p, roots[old], root); err != nil {
					t.Fatalf("sizes %d, %d: %v", old, n, err)
				}
			}
			// A few ranges, checked against merkle's compact ranges.
			for range 4 {
				start := rng.Int64N(n)
				end := start + 1 + rng.Int64N(n-start)
				p, err := ledger.ProveRange(start, end, n, m)
				if err != nil {
					t.Fatal(err)
				}
				if err := ledger.VerifyRange(start, end, n, leaves[start:end], p, root); err != nil {
					t.Fatalf("range [%d, %d) of %d: %v", start, end, n, err)
				}
				checkCompact(t, leaves[:n], start, end, p)
			}
		}
	}
}

// checkCompact checks that a range proof is the left and right compact
// ranges that merkle computes from the leaves.
func checkCompact(t *testing.T, leaves []ledger.Hash, start, end int64, p []ledger.Hash) {
	t.Helper()
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	build := func(from, to int64) [][]byte {
		r := f.NewEmptyRange(uint64(from))
		for _, l := range leaves[from:to] {
			if err := r.Append(append([]byte(nil), l[:]...), nil); err != nil {
				t.Fatal(err)
			}
		}
		return r.Hashes()
	}
	want := append(build(0, start), build(end, int64(len(leaves)))...)
	if !slices.EqualFunc(toBytes(p), want, bytes.Equal) {
		t.Fatalf("range [%d, %d) of %d: proof %x differs from compact ranges %x", start, end, len(leaves), p, want)
	}
}

func toBytes(hs []ledger.Hash) [][]byte {
	out := [][]byte{}
	for _, h := range hs {
		out = append(out, append([]byte(nil), h[:]...))
	}
	return out
}

func TestStoredHashIndex(t *testing.T) {
	for _, x := range []int64{0, 1, 2, 3, 100, 12345} {
		level, n := ledger.SplitStoredHashIndex(x)
		if got := ledger.StoredHashIndex(level, n); got != x {
			t.Errorf("StoredHashIndex(SplitStoredHashIndex(%d)) = %d", x, got)
		}
	}
	if _, err := ledger.TreeHash(-1, &memLog{}); err == nil {
		t.Error("TreeHash(-1): no error")
	}
	if _, err := ledger.StoredHashes(-1, nil, &memLog{}); err == nil {
		t.Error("StoredHashes(-1): no error")
	}
	if _, err := ledger.TreeHash(3, &memLog{}); err == nil {
		t.Error("TreeHash past the stored hashes: no error")
	}
}
