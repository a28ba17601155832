package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/auditshot/auditshot/ledger"
)

// Fast paths of Verify for the common case of a well-formed bundle. Each
// only ever concludes that a check holds when the general code
// (ledger.ParseProof, ledger.VerifyInclusion) would conclude the same; when
// it cannot, the caller runs the general code, which reports the problem.

// maxProofHashes mirrors the bound of ledger's proof parsers.
const maxProofHashes = 128

// strictBase64 is standard base64 rejecting stray bits, as ledger's
// parsers decode it.
var strictBase64 = base64.StdEncoding.Strict()

// hashB64Len is the length of a hash in padded standard base64.
const hashB64Len = (ledger.HashSize + 2) / 3 * 4

// parseOwnProof parses b as the C2SP tlog-proof of entry index against the
// checkpoint cpRaw, which MUST have opened with OpenCheckpoint (so it is a
// well-formed signed checkpoint). It returns the proof's hashes (appended to
// hs[:0]) and true only if b is exactly what ledger.FormatProof writes for
// InclusionProof{Index: index, Hashes: hashes, Checkpoint: cpRaw}: then
// ledger.ParseProof accepts b with that index and checkpoint and these
// hashes. Otherwise it returns false and the caller parses b with
// ledger.ParseProof.
func parseOwnProof(b []byte, index int64, cpRaw []byte, hs []ledger.Hash) ([]ledger.Hash, bool) {
	if len(b) > ledger.MaxProofSize || index < 0 {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(b, []byte(ledger.InclusionProofHeader+"\n"))
	if !ok {
		return nil, false
	}
	var line [32]byte
	want := append(strconv.AppendInt(append(line[:0], "index "...), index, 10), '\n')
	if rest, ok = bytes.CutPrefix(rest, want); !ok {
		return nil, false
	}
	hs = hs[:0]
	for {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, false
		}
		l := rest[:nl]
		rest = rest[nl+1:]
		if len(l) == 0 {
			break
		}
		if len(l) != hashB64Len || len(hs) == maxProofHashes {
			return nil, false
		}
		var h [ledger.HashSize + 1]byte
		n, err := strictBase64.Decode(h[:], l)
		if err != nil || n != ledger.HashSize {
			return nil, false
		}
		var enc [hashB64Len]byte
		base64.StdEncoding.Encode(enc[:], h[:ledger.HashSize])
		if !bytes.Equal(enc[:], l) {
			return nil, false
		}
		hs = append(hs, ledger.Hash(h[:ledger.HashSize]))
	}
	if len(cpRaw) == 0 || !bytes.Equal(rest, cpRaw) {
		return nil, false
	}
	return hs, true
}

// inclusionMemo verifies the inclusion proofs of entries in increasing
// index order against one tree, remembering for each level the last node
// a verified proof passed through, with its hash and the rest of that
// proof. Verifying an RFC 6962 inclusion proof is a chain of hashes in
// which the steps from level j on depend only on the node's position
// index>>j, its hash and the proof's hashes from j on: a proof that reaches
// a remembered node with the same hash and the same remaining hashes
// reaches the same root, so its verification is complete. Neighbouring
// entries so cost about two hashes each instead of a full path.
type inclusionMemo struct {
	size  int64
	root  ledger.Hash
	nodes [64]memoNode
	buf   []ledger.Hash // hashes of the proof being parsed
	arena []ledger.Hash // storage of the proofs kept in nodes
}

// keep returns a copy of hs that stays valid as long as m.
func (m *inclusionMemo) keep(hs []ledger.Hash) []ledger.Hash {
	if cap(m.arena)-len(m.arena) < len(hs) {
		m.arena = make([]ledger.Hash, 0, max(4096, len(hs)))
	}
	n := len(m.arena)
	m.arena = append(m.arena, hs...)
	return m.arena[n:len(m.arena):len(m.arena)]
}

type memoNode struct {
	set  bool
	node int64
	hash ledger.Hash
	rest []ledger.Hash // the proof's hashes from this level on
}

// verify reports whether p proves leaf at index in the tree of m.size
// leaves with root m.root, exactly as ledger.VerifyInclusion would return
// nil. It keeps p (which the caller MUST NOT modify afterwards).
func (m *inclusionMemo) verify(index int64, leaf ledger.Hash, p []ledger.Hash) bool {
	if index < 0 || index >= m.size {
		return false
	}
	inner := bits.Len64(uint64(index) ^ uint64(m.size-1))
	border := bits.OnesCount64(uint64(index) >> uint(inner))
	if len(p) != inner+border || len(p) >= len(m.nodes) {
		return false
	}
	seed := leaf
	var path [64]ledger.Hash // path[j]: the hash after j steps
	j := 0
	for ; j < len(p); j++ {
		if j > 0 {
			if n := &m.nodes[j]; n.set && n.node == index>>j && n.hash == seed && slices.Equal(n.rest, p[j:]) {
				break
			}
		}
		path[j] = seed
		if j < inner && (index>>j)&1 == 0 {
			seed = nodeHash(seed, p[j])
		} else {
			seed = nodeHash(p[j], seed)
		}
	}
	if j == len(p) && seed != m.root {
		return false
	}
	for k := 1; k < j; k++ {
		m.nodes[k] = memoNode{set: true, node: index >> k, hash: path[k], rest: p[k:]}
	}
	return true
}

// nodeHash is ledger.NodeHash (RFC 6962 interior node hash) without
// allocating.
func nodeHash(left, right ledger.Hash) ledger.Hash {
	var b [1 + 2*ledger.HashSize]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[1+ledger.HashSize:], right[:])
	return sha256.Sum256(b[:])
}

// manifestFilesKey begins the file list in a manifest as Write indents it.
const manifestFilesKey = "\n  \"files\": ["

// decodeOwnManifest decodes manifest.json b as Write writes it
// (json.MarshalIndent with an indent of two spaces, file paths and hashes
// of printable ASCII without escapes). It returns false if b is not so;
// the caller then decodes b with encoding/json. When it returns true, m is
// what json.Decoder.Decode would have stored from b, and b holds nothing
// after the JSON object but a newline.
//
// The members before "files" are decoded with encoding/json; only the file
// list, which is most of a large manifest, is parsed here, strictly.
func decodeOwnManifest(b []byte) (m Manifest, ok bool) {
	at := bytes.Index(b, []byte(manifestFilesKey+"\n"))
	if at < 0 {
		return Manifest{}, false
	}
	// The key cannot be inside a string (which holds no raw newline), and
	// if the head followed by "]}" decodes as a whole object, "files" is a
	// member of the top-level object: its last member, as checked below.
	head := append(bytes.Clone(b[:at+len(manifestFilesKey)]), "]}"...)
	dec := json.NewDecoder(bytes.NewReader(head))
	if dec.Decode(&m) != nil || dec.More() {
		return Manifest{}, false
	}
	s := string(b[at+len(manifestFilesKey)+1:])
	files := make([]File, 0, strings.Count(s, "\n    {\n"))
	for {
		var f File
		if s, ok = strings.CutPrefix(s, "    {\n      \"path\": \""); !ok {
			return Manifest{}, false
		}
		if f.Path, s, ok = plainString(s); !ok {
			return Manifest{}, false
		}
		if s, ok = strings.CutPrefix(s, ",\n      \"sha256\": \""); !ok {
			return Manifest{}, false
		}
		if f.SHA256, s, ok = plainString(s); !ok {
			return Manifest{}, false
		}
		if s, ok = strings.CutPrefix(s, ",\n      \"size\": "); !ok {
			return Manifest{}, false
		}
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 0 || n > 1 && s[0] == '0' {
			return Manifest{}, false
		}
		size, err := strconv.ParseInt(s[:n], 10, 64)
		if err != nil {
			return Manifest{}, false
		}
		f.Size = size
		if s, ok = strings.CutPrefix(s[n:], "\n    }"); !ok {
			return Manifest{}, false
		}
		files = append(files, f)
		if s, ok = strings.CutPrefix(s, ",\n"); !ok {
			break
		}
	}
	if s != "\n  ]\n}\n" && s != "\n  ]\n}" {
		return Manifest{}, false
	}
	m.Files = files
	return m, true
}

// plainString returns the JSON string content at the start of s, up to
// its closing quote (which it consumes), if it is printable ASCII without
// escapes: then encoding/json decodes it to the same bytes.
func plainString(s string) (str, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i], s[i+1:], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", "", false
		}
	}
	return "", "", false
}

// Verify reads the archive through a cache of large blocks: zip members
// are small and read with several ReadAt calls each (local header, data,
// data descriptor), which on a file are as many system calls.
const (
	cacheBlockSize = 1 << 20
	cacheBlocks    = 32
)

// blockCache is an io.ReaderAt that reads r in blocks of cacheBlockSize,
// keeping the last cacheBlocks read. Reads of a block or more, and reads a
// block cannot serve (r failed or returned less), go to r itself, so that
// r's errors surface unchanged. It is safe for concurrent use.
type blockCache struct {
	r    io.ReaderAt
	size int64

	mu     sync.Mutex
	blocks map[int64]*cacheBlock
	fifo   []int64  // blocks in the cache, oldest first
	free   [][]byte // buffers of evicted blocks, for reuse
}

type cacheBlock struct {
	ready chan struct{} // closed when data and ok are set
	data  []byte
	ok    bool
	// Under blockCache.mu: the goroutines using data, and whether the
	// block left the cache (its buffer is reused when both say so).
	refs    int
	evicted bool
}

func newBlockCache(r io.ReaderAt, size int64) *blockCache {
	return &blockCache{r: r, size: size, blocks: map[int64]*cacheBlock{}}
}

// ReadAt implements io.ReaderAt.
func (c *blockCache) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || len(p) >= cacheBlockSize || off > c.size-int64(len(p)) {
		return c.r.ReadAt(p, off)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		b := c.acquire(at / cacheBlockSize)
		if b == nil {
			return c.r.ReadAt(p, off)
		}
		n += copy(p[n:], b.data[at%cacheBlockSize:])
		c.release(b)
	}
	return n, nil
}

// acquire returns block i, reading it if needed, or nil if it cannot be
// read whole. The caller MUST release a block it got.
func (c *blockCache) acquire(i int64) *cacheBlock {
	c.mu.Lock()
	b, ok := c.blocks[i]
	if !ok {
		b = &cacheBlock{ready: make(chan struct{})}
		c.blocks[i] = b
		c.fifo = append(c.fifo, i)
		if len(c.fifo) > cacheBlocks {
			old := c.blocks[c.fifo[0]]
			delete(c.blocks, c.fifo[0])
			c.fifo = slices.Delete(c.fifo, 0, 1)
			old.evicted = true
			c.recycle(old)
		}
		if n := len(c.free); n > 0 {
			b.data = c.free[n-1]
			c.free = c.free[:n-1]
		} else {
			b.data = make([]byte, cacheBlockSize)
		}
	}
	b.refs++
	c.mu.Unlock()
	if ok {
		<-b.ready
	} else {
		b.data = b.data[:min(cacheBlockSize, c.size-i*cacheBlockSize)]
		n, _ := c.r.ReadAt(b.data, i*cacheBlockSize)
		b.ok = n == len(b.data)
		close(b.ready)
	}
	if !b.ok {
		c.release(b)
		return nil
	}
	return b
}

// release ends a use of b.
func (c *blockCache) release(b *cacheBlock) {
	c.mu.Lock()
	b.refs--
	c.recycle(b)
	c.mu.Unlock()
}

// recycle keeps the buffer of b for reuse if b is out of the cache and
// unused. c.mu MUST be held.
func (c *blockCache) recycle(b *cacheBlock) {
	if b.evicted && b.refs == 0 && b.data != nil {
		if len(c.free) < cacheBlocks {
			c.free = append(c.free, b.data[:cacheBlockSize])
		}
		b.data = nil
	}
}
