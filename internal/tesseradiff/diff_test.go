package tesseradiff_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// sizes are the tree sizes at which the three logs are compared: edge cases
// of the RFC 6962 tree shape and of Tessera's 256-wide tiles and bundles.
var sizes = []int64{1, 2, 3, 7, 64, 255, 256, 257, 1000}

const tenantID = "tenant_diff"

// TestDifferential appends the store's entries to all three logs and
// compares, at each size, the roots, inclusion proofs of several leaves and
// consistency proofs from every earlier size.
func TestDifferential(t *testing.T) {
	store := newStoreLog(t)
	mem := &memLog{}
	tl := newTesseraLog(t)
	rng := rand.New(rand.NewPCG(1, 2))

	var done []int64
	for _, n := range sizes {
		entries := store.growTo(t, n)
		for _, e := range entries {
			mem.append(t, e)
		}
		tl.append(t, entries)

		roots := map[string][]ledger.Hash{
			"memory":  {mem.root(t, n)},
			"sqlite":  {store.root(t, n)},
			"tessera": {tl.root(t, n)},
		}
		checkSame(t, fmt.Sprintf("root at size %d", n), roots)
		root := roots["memory"][0]

		for _, i := range leafIndexes(rng, n) {
			leaf := ledger.LeafHash(mem.entries[i])
			proofs := map[string][]ledger.Hash{
				"memory":  mem.inclusion(t, i, n),
				"sqlite":  store.inclusion(t, i, n),
				"tessera": tl.inclusion(t, i, n),
			}
			checkSame(t, fmt.Sprintf("inclusion proof of %d at size %d", i, n), proofs)
			for name, p := range proofs {
				if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(n), leaf[:], raw(p), root[:]); err != nil {
					t.Errorf("%s inclusion proof of %d at size %d: %v", name, i, n, err)
				}
			}
		}

		for _, m := range done {
			proofs := map[string][]ledger.Hash{
				"memory":  mem.consistency(t, m, n),
				"sqlite":  store.consistency(t, m, n),
				"tessera": tl.consistency(t, m, n),
			}
			checkSame(t, fmt.Sprintf("consistency proof %d -> %d", m, n), proofs)
			old := mem.root(t, m)
			for name, p := range proofs {
				if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(m), uint64(n), raw(p), old[:], root[:]); err != nil {
					t.Errorf("%s consistency proof %d -> %d: %v", name, m, n, err)
				}
			}
		}
		done = append(done, n)
	}
}

// leafIndexes returns the first, middle and last leaf of a tree of size n
// and a few random ones.
func leafIndexes(rng *rand.Rand, n int64) []int64 {
	idx := []int64{0, n / 2, n - 1}
	for range 4 {
		idx = append(idx, rng.Int64N(n))
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// checkSame fails the test unless every log gave the same hashes.
func checkSame(t *testing.T, what string, got map[string][]ledger.Hash) {
	t.Helper()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	})
	first := names[0]
	for _, name := range names[1:] {
		if a, b := fmt.Sprintf("%x", raw(got[first])), fmt.Sprintf("%x", raw(got[name])); a != b {
			t.Errorf("%s: %s gives %s, %s gives %s", what, first, a, name, b)
		}
	}
}

func raw(hs []ledger.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// newKey returns a new signer and its verifier, for a key named name.
func newKey(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// memLog is (a): the ledger package's math over hashes held in memory.
type memLog struct {
	entries [][]byte
	hashes  []ledger.Hash
}

// ReadHashes implements ledger.HashReader.
func (m *memLog) ReadHashes(indexes []int64) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memLog) append(t *testing.T, entry []byte) {
	t.Helper()
	hs, err := ledger.StoredHashes(int64(len(m.entries)), entry, m)
	if err != nil {
		t.Fatalf("memory: stored hashes of entry %d: %v", len(m.entries), err)
	}
	m.entries = append(m.entries, entry)
	m.hashes = append(m.hashes, hs...)
}

func (m *memLog) root(t *testing.T, n int64) ledger.Hash {
	t.Helper()
	h, err := ledger.TreeHash(n, m)
	if err != nil {
		t.Fatalf("memory: tree hash %d: %v", n, err)
	}
	return h
}

func (m *memLog) inclusion(t *testing.T, i, n int64) []ledger.Hash {
	t.Helper()
	p, err := ledger.ProveInclusion(i, n, m)
	if err != nil {
		t.Fatalf("memory: inclusion proof of %d at %d: %v", i, n, err)
	}
	return p
}

func (m *memLog) consistency(t *testing.T, old, n int64) []ledger.Hash {
	t.Helper()
	p, err := ledger.ProveConsistency(old, n, m)
	if err != nil {
		t.Fatalf("memory: consistency proof %d -> %d: %v", old, n, err)
	}
	return p
}

// storeLog is (b): a tenant's log in the SQLite store, grown through its
// public API (a run and its events).
type storeLog struct {
	db     *sqlite.DB
	v      note.Verifier
	runID  string
	served int64 // entries already returned by growTo
}

func newStoreLog(t *testing.T) *storeLog {
	t.Helper()
	ctx := t.Context()
	s, v := newKey(t, "auditshot.test/"+tenantID)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "auditshot.db"), sqlite.Config{
		Signer: s, Verifier: v, OriginBase: "auditshot.test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	if err := db.CreateTenant(ctx, &auditshot.Tenant{ID: tenantID, Name: "Differential", Plan: auditshot.Plans["free"]}); err != nil {
		t.Fatal(err)
	}
	r := &auditshot.Run{TenantID: tenantID, Workflow: "differential", Agent: auditshot.Agent{ID: "agent-1"}}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	return &storeLog{db: db, v: v, runID: r.ID}
}

// growTo adds events until the log has n entries, from 16 goroutines, and
// returns the entries it has not returned before.
func (s *storeLog) growTo(t *testing.T, n int64) [][]byte {
	t.Helper()
	ctx := t.Context()
	size := s.size(t)
	if size > n {
		t.Fatalf("sqlite: log has %d entries, more than %d", size, n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n-size)
	next := make(chan int64)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				data := json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, bytes.Repeat([]byte("x"), int(i%97))))
				e := &auditshot.Event{TenantID: tenantID, RunID: s.runID, Type: auditshot.EventAction,
					Name: "step", Data: data}
				if err := s.db.AddEvent(ctx, e); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := size; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("sqlite: add event: %v", err)
	}
	if got := s.size(t); got != n {
		t.Fatalf("sqlite: log has %d entries, want %d", got, n)
	}
	es, err := s.db.Entries(ctx, tenantID, s.served, n)
	if err != nil {
		t.Fatal(err)
	}
	s.served = n
	return es
}

func (s *storeLog) size(t *testing.T) int64 {
	t.Helper()
	n, err := s.db.LogSize(t.Context(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// root signs a checkpoint, checks its size and signature, and returns its
// root hash.
func (s *storeLog) root(t *testing.T, n int64) ledger.Hash {
	t.Helper()
	cp, err := s.db.SignCheckpoint(t.Context(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != n {
		t.Fatalf("sqlite: checkpoint size %d, want %d", cp.Size, n)
	}
	c, _, err := ledger.OpenCheckpoint(cp.Note, s.db.Origin(tenantID), note.VerifierList(s.v))
	if err != nil {
		t.Fatalf("sqlite: open checkpoint: %v", err)
	}
	if c.Hash != cp.RootHash {
		t.Fatalf("sqlite: checkpoint note root %x, RootHash %x", c.Hash, cp.RootHash)
	}
	return cp.RootHash
}

func (s *storeLog) inclusion(t *testing.T, i, n int64) []ledger.Hash {
	t.Helper()
	p, err := s.db.InclusionProof(t.Context(), tenantID, i, n)
	if err != nil {
		t.Fatalf("sqlite: inclusion proof of %d at %d: %v", i, n, err)
	}
	return hashes(p)
}

func (s *storeLog) consistency(t *testing.T, old, n int64) []ledger.Hash {
	t.Helper()
	p, err := s.db.ConsistencyProof(t.Context(), tenantID, old, n)
	if err != nil {
		t.Fatalf("sqlite: consistency proof %d -> %d: %v", old, n, err)
	}
	return hashes(p)
}

func hashes(p [][32]byte) []ledger.Hash {
	out := make([]ledger.Hash, len(p))
	for i := range p {
		out[i] = p[i]
	}
	return out
}

// tesseraLog is (c): a Tessera POSIX log in a temporary directory. Tessera
// hashes each entry's data as-is as an RFC 6962 leaf, as the ledger does.
type tesseraLog struct {
	appender *tessera.Appender
	reader   tessera.LogReader
	origin   string
	v        note.Verifier
}

const tesseraOrigin = "tessera.test/diff"

func newTesseraLog(t *testing.T) *tesseraLog {
	t.Helper()
	// The appender's background work runs until the test has shut it down.
	ctx, cancel := context.WithCancel(context.Background())
	driver, err := posix.New(ctx, posix.Config{Path: t.TempDir()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s, v := newKey(t, tesseraOrigin)
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(s).
		WithBatching(256, 5*time.Millisecond).
		WithCheckpointInterval(100 * time.Millisecond)
	a, shutdown, r, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		cancel()
		t.Fatalf("tessera: new appender: %v", err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := shutdown(sctx); err != nil {
			t.Errorf("tessera: shutdown: %v", err)
		}
		cancel()
	})
	return &tesseraLog{appender: a, reader: r, origin: tesseraOrigin, v: v}
}

// append adds entries in order and checks the indexes they get. Each Add
// call returns once the entry is queued, and Tessera orders the log as the
// calls were made, so the entries are batched yet keep their order.
func (l *tesseraLog) append(t *testing.T, entries [][]byte) {
	t.Helper()
	ctx := t.Context()
	first, err := l.reader.NextIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	futures := make([]tessera.IndexFuture, len(entries))
	for i, e := range entries {
		futures[i] = l.appender.Add(ctx, tessera.NewEntry(e))
	}
	for i, f := range futures {
		idx, err := f()
		if err != nil {
			t.Fatalf("tessera: add: %v", err)
		}
		if want := first + uint64(i); idx.Index != want {
			t.Fatalf("tessera: entry got index %d, want %d", idx.Index, want)
		}
	}
}

// root waits for Tessera to publish a checkpoint of size n, checks its
// signature with the ledger's checkpoint reader, and returns its root.
func (l *tesseraLog) root(t *testing.T, n int64) ledger.Hash {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg, err := l.reader.ReadCheckpoint(ctx)
		if err == nil {
			cp, _, err := ledger.OpenCheckpoint(msg, l.origin, note.VerifierList(l.v))
			if err != nil {
				t.Fatalf("tessera: open checkpoint: %v", err)
			}
			if cp.Size == n {
				return cp.Hash
			}
			if cp.Size > n {
				t.Fatalf("tessera: checkpoint size %d, more than %d", cp.Size, n)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tessera: no checkpoint of size %d after 20s (last error: %v)", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *tesseraLog) proofBuilder(t *testing.T, n int64) *client.ProofBuilder {
	t.Helper()
	pb, err := client.NewProofBuilder(t.Context(), uint64(n), l.reader.ReadTile)
	if err != nil {
		t.Fatalf("tessera: proof builder at %d: %v", n, err)
	}
	return pb
}

func (l *tesseraLog) inclusion(t *testing.T, i, n int64) []ledger.Hash {
	t.Helper()
	p, err := l.proofBuilder(t, n).InclusionProof(t.Context(), uint64(i))
	if err != nil {
		t.Fatalf("tessera: inclusion proof of %d at %d: %v", i, n, err)
	}
	return fromRaw(t, p)
}

func (l *tesseraLog) consistency(t *testing.T, old, n int64) []ledger.Hash {
	t.Helper()
	p, err := l.proofBuilder(t, n).ConsistencyProof(t.Context(), uint64(old), uint64(n))
	if err != nil {
		t.Fatalf("tessera: consistency proof %d -> %d: %v", old, n, err)
	}
	return fromRaw(t, p)
}

func fromRaw(t *testing.T, p [][]byte) []ledger.Hash {
	t.Helper()
	out := make([]ledger.Hash, len(p))
	for i, h := range p {
		if len(h) != ledger.HashSize {
			t.Fatalf("tessera: proof hash %d has %d bytes", i, len(h))
		}
		copy(out[i][:], h)
	}
	return out
}
