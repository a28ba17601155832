package ledger

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrInvalidProof is wrapped by every error of VerifyInclusion,
// VerifyConsistency and VerifyRange: the proof does not prove the claim.
var ErrInvalidProof = errors.New("invalid proof")

// Proofs are made from stored hashes (see StoredHashIndex) with
// golang.org/x/mod/sumdb/tlog and checked with
// github.com/transparency-dev/merkle, two independent RFC 6962
// implementations. Each proof reads O(log size) stored hashes.

// ProveInclusion returns the RFC 6962 inclusion proof (audit path) of leaf
// index in the tree of the first size leaves: the sibling hashes from the
// leaf's up to the root's child. It requires 0 <= index < size.
func ProveInclusion(index, size int64, r HashReader) ([]Hash, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("prove inclusion of leaf %d in tree of size %d: index out of range", index, size)
	}
	p, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return nil, fmt.Errorf("prove inclusion of leaf %d in tree of size %d: %w", index, size, err)
	}
	return p, nil
}

// VerifyInclusion checks that leaf is the hash of leaf index in the tree of
// size leaves whose root is root.
func VerifyInclusion(index, size int64, leaf Hash, p []Hash, root Hash) error {
	if index < 0 || index >= size {
		return fmt.Errorf("%w: leaf %d outside tree of size %d", ErrInvalidProof, index, size)
	}
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(size), leaf[:], hashBytes(p), root[:])
	if err != nil {
		return fmt.Errorf("%w: inclusion of leaf %d in tree of size %d: %s", ErrInvalidProof, index, size, proofErrText(err))
	}
	return nil
}

// ProveConsistency returns the RFC 6962 consistency proof that the tree of
// the first oldSize leaves is a prefix of the tree of the first newSize
// leaves. It requires 0 <= oldSize <= newSize; the proof is empty when
// oldSize is 0 or equal to newSize.
func ProveConsistency(oldSize, newSize int64, r HashReader) ([]Hash, error) {
	if oldSize < 0 || oldSize > newSize {
		return nil, fmt.Errorf("prove consistency of tree sizes %d and %d: sizes out of order", oldSize, newSize)
	}
	if oldSize == 0 || oldSize == newSize {
		return []Hash{}, nil
	}
	p, err := tlog.ProveTree(newSize, oldSize, r)
	if err != nil {
		return nil, fmt.Errorf("prove consistency of tree sizes %d and %d: %w", oldSize, newSize, err)
	}
	return p, nil
}

// VerifyConsistency checks that the tree of oldSize leaves with root oldRoot
// is a prefix of the tree of newSize leaves with root newRoot: that nothing
// the old tree held was changed, removed or reordered. Every tree is
// consistent with the empty tree, whatever oldRoot says.
func VerifyConsistency(oldSize, newSize int64, p []Hash, oldRoot, newRoot Hash) error {
	if oldSize < 0 || oldSize > newSize {
		return fmt.Errorf("%w: tree sizes %d and %d out of order", ErrInvalidProof, oldSize, newSize)
	}
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(oldSize), uint64(newSize), hashBytes(p), oldRoot[:], newRoot[:])
	if err != nil {
		return fmt.Errorf("%w: consistency of tree sizes %d and %d: %s", ErrInvalidProof, oldSize, newSize, proofErrText(err))
	}
	return nil
}

// A range proof shows that given leaves are exactly leaves [start, end) of a
// tree of size leaves: no leaf of the range was left out, added, changed or
// moved. It is the roots of the minimal perfect subtrees covering [0, start)
// followed by those covering [end, size), left to right (compact ranges, as
// in github.com/transparency-dev/merkle/compact); the verifier rebuilds the
// root from them and the range's leaves. Its length is
// RangeProofSize(start, end, size), at most about 2·log2(size).

// RangeProofSize returns the number of hashes in the range proof of
// [start, end) in a tree of size leaves, or -1 if the range is invalid.
func RangeProofSize(start, end, size int64) int {
	if start < 0 || start >= end || end > size {
		return -1
	}
	return compact.RangeSize(0, uint64(start)) + compact.RangeSize(uint64(end), uint64(size))
}

// ProveRange returns the range proof of leaves [start, end) in the tree of
// the first size leaves. It requires 0 <= start < end <= size.
func ProveRange(start, end, size int64, r HashReader) ([]Hash, error) {
	if RangeProofSize(start, end, size) < 0 {
		return nil, fmt.Errorf("prove range [%d, %d) in tree of size %d: range out of bounds", start, end, size)
	}
	ids := compact.RangeNodes(0, uint64(start), nil)
	ids = compact.RangeNodes(uint64(end), uint64(size), ids)
	if len(ids) == 0 {
		return []Hash{}, nil
	}
	indexes := make([]int64, len(ids))
	for i, id := range ids {
		indexes[i] = StoredHashIndex(int(id.Level), int64(id.Index))
	}
	hs, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("prove range [%d, %d) in tree of size %d: %w", start, end, size, err)
	}
	if len(hs) != len(indexes) {
		return nil, fmt.Errorf("prove range [%d, %d) in tree of size %d: read %d hashes, want %d", start, end, size, len(hs), len(indexes))
	}
	return hs, nil
}

// VerifyRange checks that leaves are the leaf hashes [start, end) of the
// tree of size leaves whose root is root, given its range proof. It hashes
// each leaf once, so it is O(end-start + log size).
func VerifyRange(start, end, size int64, leaves []Hash, p []Hash, root Hash) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: range [%d, %d) of tree of size %d: %s", ErrInvalidProof, start, end, size, fmt.Sprintf(format, args...))
	}
	want := RangeProofSize(start, end, size)
	switch {
	case want < 0:
		return fail("range out of bounds")
	case int64(len(leaves)) != end-start:
		return fail("%d leaves given, want %d", len(leaves), end-start)
	case len(p) != want:
		return fail("proof has %d hashes, want %d", len(p), want)
	}
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	nLeft := compact.RangeSize(0, uint64(start))
	left, err := f.NewRange(0, uint64(start), hashBytes(p[:nLeft]))
	if err != nil {
		return fail("%v", err)
	}
	mid := f.NewEmptyRange(uint64(start))
	for _, l := range leaves {
		if err := mid.Append(l[:], nil); err != nil {
			return fail("%v", err)
		}
	}
	right, err := f.NewRange(uint64(end), uint64(size), hashBytes(p[nLeft:]))
	if err != nil {
		return fail("%v", err)
	}
	if err := left.AppendRange(mid, nil); err != nil {
		return fail("%v", err)
	}
	if err := left.AppendRange(right, nil); err != nil {
		return fail("%v", err)
	}
	got, err := left.GetRootHash(nil)
	if err != nil {
		return fail("%v", err)
	}
	if Hash(got) != root {
		return fail("computed root %x, want %x", got, root[:])
	}
	return nil
}

// hashBytes returns the hashes as fresh byte slices, as merkle wants them
// (it may modify them).
func hashBytes(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		h := hs[i]
		out[i] = h[:]
	}
	return out
}

// proofErrText gives merkle's verification errors in one line.
func proofErrText(err error) string {
	var rm proof.RootMismatchError
	if errors.As(err, &rm) {
		return fmt.Sprintf("computed root %x, want %x", rm.CalculatedRoot, rm.ExpectedRoot)
	}
	return err.Error()
}
