package ledger

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a SHA-256 hash of a leaf or an interior node of a log's Merkle
// tree (RFC 6962). It is tlog's hash type, so values pass to and from
// golang.org/x/mod/sumdb/tlog without conversion; its String method gives
// base64.
type Hash = tlog.Hash

// HashSize is the length of a Hash in bytes.
const HashSize = tlog.HashSize

// HashReader reads stored hashes by their stored-hash index (see
// StoredHashIndex). A store implements it over its table of hashes.
//
// ReadHashes MUST return exactly one hash per index, in the order asked, or
// an error; it SHOULD be fast for indexes sorted in increasing order. It
// MUST return only hashes that have been durably stored for the log the
// caller means: proofs are only as good as the hashes they are made from.
type HashReader = tlog.HashReader

// HashReaderFunc adapts a function to HashReader.
type HashReaderFunc = tlog.HashReaderFunc

// LeafHash returns the RFC 6962 leaf hash of an encoded entry:
// SHA-256(0x00 || entry). entry MUST be the bytes exactly as stored.
func LeafHash(entry []byte) Hash { return tlog.RecordHash(entry) }

// NodeHash returns the RFC 6962 interior node hash
// SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash { return tlog.NodeHash(left, right) }

// EmptyTreeHash returns the root hash of the empty tree, SHA-256 of no bytes
// (e3b0c442...).
func EmptyTreeHash() Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// The stored-hash layout.
//
// A store keeps, for a log of n leaves, the StoredHashCount(n) hashes of
// every complete subtree in x/mod/sumdb/tlog's layout: the hash of the
// subtree at level L (leaves are level 0) and index k (counting from the
// left at that level) is stored at StoredHashIndex(L, k). The layout is
// append-only: appending leaf n adds exactly the hashes StoredHashes
// returns, at indexes StoredHashIndex(0, n) up to StoredHashCount(n+1), and
// never changes a hash already stored. With it, a tree hash and every proof
// take O(log n) hash reads.

// StoredHashCount returns the number of stored hashes in a log of n leaves.
func StoredHashCount(n int64) int64 { return tlog.StoredHashCount(n) }

// StoredHashIndex returns the stored-hash index of the subtree at level and
// index n within that level.
func StoredHashIndex(level int, n int64) int64 { return tlog.StoredHashIndex(level, n) }

// SplitStoredHashIndex is the inverse of StoredHashIndex.
func SplitStoredHashIndex(index int64) (level int, n int64) {
	return tlog.SplitStoredHashIndex(index)
}

// StoredHashes returns the hashes to store when appending the encoded entry
// as leaf n, to be written at consecutive indexes starting at
// StoredHashIndex(0, n). r MUST be able to read every hash stored for leaves
// 0..n-1, including those of earlier entries of the same batch that are not
// yet committed.
func StoredHashes(n int64, entry []byte, r HashReader) ([]Hash, error) {
	return StoredHashesForLeafHash(n, LeafHash(entry), r)
}

// StoredHashesForLeafHash is StoredHashes for an entry whose leaf hash is
// already known.
func StoredHashesForLeafHash(n int64, leaf Hash, r HashReader) ([]Hash, error) {
	if n < 0 {
		return nil, fmt.Errorf("stored hashes for leaf %d: negative index", n)
	}
	hs, err := tlog.StoredHashesForRecordHash(n, leaf, r)
	if err != nil {
		return nil, fmt.Errorf("stored hashes for leaf %d: %w", n, err)
	}
	return hs, nil
}

// TreeHash returns the root hash of the log's first size leaves, reading
// O(log size) stored hashes from r. TreeHash(0, r) is EmptyTreeHash().
func TreeHash(size int64, r HashReader) (Hash, error) {
	if size < 0 {
		return Hash{}, fmt.Errorf("tree hash: negative size %d", size)
	}
	h, err := tlog.TreeHash(size, r)
	if err != nil {
		return Hash{}, fmt.Errorf("tree hash at size %d: %w", size, err)
	}
	return h, nil
}
