package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/auditshot/auditshot/ledger"
)

// memLog is a Merkle tree in memory.
type memLog struct{ hashes []ledger.Hash }

func (l *memLog) ReadHashes(indexes []int64) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func newMemLog(t *testing.T, n int) (*memLog, [][]byte) {
	t.Helper()
	l := &memLog{}
	var entries [][]byte
	for i := range n {
		e := fmt.Appendf(nil, "entry %d", i)
		hs, err := ledger.StoredHashes(int64(i), e, l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		entries = append(entries, e)
	}
	return l, entries
}

// TestInclusionMemo checks that inclusionMemo.verify agrees with
// ledger.VerifyInclusion on valid and corrupted proofs, checked in index
// order as Verify does.
func TestInclusionMemo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 2, 3, 7, 8, 13, 64, 100, 257} {
		l, entries := newMemLog(t, size)
		root, err := ledger.TreeHash(int64(size), l)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 4 {
			m := &inclusionMemo{size: int64(size), root: root}
			for i := range int64(size) {
				p, err := ledger.ProveInclusion(i, int64(size), l)
				if err != nil {
					t.Fatal(err)
				}
				leaf := ledger.LeafHash(entries[i])
				if round > 0 && rng.IntN(3) == 0 {
					switch rng.IntN(4) {
					case 0:
						leaf[rng.IntN(len(leaf))] ^= 1
					case 1:
						if len(p) > 0 {
							p[rng.IntN(len(p))][0] ^= 1
						}
					case 2:
						if len(p) > 0 {
							p = p[:len(p)-1]
						}
					case 3:
						p = append(p, leaf)
					}
				}
				want := ledger.VerifyInclusion(i, int64(size), leaf, p, root) == nil
				if got := m.verify(i, leaf, m.keep(p)); got != want {
					t.Fatalf("size %d, index %d, round %d: verify = %v, ledger says %v", size, i, round, got, want)
				}
			}
		}
	}
}

// TestParseOwnProof checks that parseOwnProof accepts what FormatProof
// writes and only what ParseProof accepts with the same meaning.
func TestParseOwnProof(t *testing.T) {
	skey, vkey, err := ledger.GenerateKey("auditshot.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	_ = vkey
	l, _ := newMemLog(t, 100)
	root, err := ledger.TreeHash(100, l)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.SignCheckpoint(ledger.Checkpoint{Origin: "auditshot.test/log", Size: 100, Hash: root}, s)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, i := range []int64{0, 1, 42, 99} {
		hs, err := ledger.ProveInclusion(i, 100, l)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ledger.FormatProof(ledger.InclusionProof{Index: i, Hashes: hs, Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseOwnProof(b, i, cp, nil)
		if !ok || !slices.Equal(got, hs) {
			t.Fatalf("index %d: parseOwnProof = %v, %v", i, got, ok)
		}
		if _, ok := parseOwnProof(b, i+1, cp, nil); ok {
			t.Fatalf("index %d: accepted for index %d", i, i+1)
		}
		for range 2000 {
			mb := bytes.Clone(b)
			switch rng.IntN(4) {
			case 0:
				mb[rng.IntN(len(mb))] = byte(rng.IntN(256))
			case 1:
				mb = mb[:rng.IntN(len(mb))]
			case 2:
				k := rng.IntN(len(mb) + 1)
				mb = slices.Insert(mb, k, byte(rng.IntN(256)))
			case 3:
				k := rng.IntN(len(mb))
				mb = slices.Delete(mb, k, k+1)
			}
			got, ok := parseOwnProof(mb, i, cp, nil)
			if !ok {
				continue
			}
			p, err := ledger.ParseProof(mb)
			if err != nil || len(p.Extra) > 0 || p.Index != i || !bytes.Equal(p.Checkpoint, cp) || !slices.Equal(p.Hashes, got) {
				t.Fatalf("parseOwnProof accepted %q, ParseProof: %+v, %v", mb, p, err)
			}
		}
	}
}

// TestDecodeOwnManifest checks that decodeOwnManifest accepts manifests as
// Write writes them and otherwise only decodes as encoding/json does.
func TestDecodeOwnManifest(t *testing.T) {
	m := Manifest{Format: FormatVersion, Origin: "auditshot.test/log",
		Selection: json.RawMessage(`{"runs":["run_1", "a\"files\": [\n"]}`), Range: &Range{Start: 2, End: 5}}
	for i := range 5 {
		m.Files = append(m.Files, File{Path: EntryName(int64(i)), SHA256: fmt.Sprintf("%064x", i), Size: int64(i * 1000)})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	decode := func(b []byte) (Manifest, bool) {
		var m Manifest
		dec := json.NewDecoder(bytes.NewReader(b))
		if dec.Decode(&m) != nil || dec.More() {
			return Manifest{}, false
		}
		return m, true
	}
	want, _ := decode(b)
	got, ok := decodeOwnManifest(b)
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeOwnManifest = %+v, %v; want %+v", got, ok, want)
	}
	const alphabet = "{}[]\",:\\ \n0123456789ae-"
	rng := rand.New(rand.NewPCG(5, 6))
	accepted := 0
	for range 20000 {
		mb := bytes.Clone(b)
		switch rng.IntN(4) {
		case 0:
			mb[rng.IntN(len(mb))] = alphabet[rng.IntN(len(alphabet))]
		case 1:
			mb = mb[:rng.IntN(len(mb))]
		case 2:
			k := rng.IntN(len(mb) + 1)
			mb = slices.Insert(mb, k, alphabet[rng.IntN(len(alphabet))])
		case 3:
			k := rng.IntN(len(mb))
			mb = slices.Delete(mb, k, k+1)
		}
		got, ok := decodeOwnManifest(mb)
		if !ok {
			continue
		}
		accepted++
		want, wok := decode(mb)
		if !wok || !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeOwnManifest accepted %q as %+v; encoding/json: %+v, %v", mb, got, want, wok)
		}
	}
	if accepted == 0 {
		t.Fatal("no mutant accepted")
	}
}

// failingReaderAt fails reads that touch [failFrom, failTo).
type failingReaderAt struct {
	r                io.ReaderAt
	failFrom, failTo int64
}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.failTo && off+int64(len(p)) > f.failFrom {
		return 0, errors.New("injected failure")
	}
	return f.r.ReadAt(p, off)
}

// TestBlockCache checks that blockCache reads what its reader holds, and
// passes on its errors, under concurrent use.
func TestBlockCache(t *testing.T) {
	data := make([]byte, 5*cacheBlockSize/2*cacheBlocks/4+12345)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	under := failingReaderAt{r: bytes.NewReader(data), failFrom: 3*cacheBlockSize + 100, failTo: 3*cacheBlockSize + 200}
	c := newBlockCache(under, int64(len(data)))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 1000 {
				n := rng.IntN(70000)
				if rng.IntN(50) == 0 {
					n = rng.IntN(3 * cacheBlockSize)
				}
				off := rng.Int64N(int64(len(data))+10) - 5
				p := make([]byte, n)
				want := make([]byte, n)
				gn, gerr := c.ReadAt(p, off)
				wn, werr := under.ReadAt(want, off)
				if gn != wn || !bytes.Equal(p[:gn], want[:wn]) || (gerr == nil) != (werr == nil || wn == n) {
					t.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d, %v", n, off, gn, gerr, wn, werr)
					return
				}
			}
		})
	}
	wg.Wait()
}
