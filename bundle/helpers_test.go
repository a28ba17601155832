package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "auditshot.test/tenant_1"

// testLog is a ledger log in memory: entries, their stored hashes and the
// blobs they refer to.
type testLog struct {
	tb      testing.TB
	signer  note.Signer
	vkey    string
	hashes  []ledger.Hash
	entries [][]byte
	blobs   map[string][]byte
}

var _ ledger.HashReader = (*testLog)(nil)

// ReadHashes implements ledger.HashReader.
func (l *testLog) ReadHashes(indexes []int64) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

// newKey returns a signer and vkey for a key named name.
func newKey(tb testing.TB, name string) (note.Signer, string) {
	tb.Helper()
	skey, vkey, err := ledger.GenerateKey(name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, vkey
}

// newTestLog returns a log of 12 entries of several types that refer to a
// few blobs, one of them deleted under retention (tombstoned).
func newTestLog(tb testing.TB) *testLog {
	tb.Helper()
	s, vkey := newKey(tb, testOrigin)
	l := &testLog{tb: tb, signer: s, vkey: vkey, blobs: map[string][]byte{}}
	l.fill(0)
	return l
}

// fill appends the standard 12 entries; variant changes the data of the
// last six, for forks.
func (l *testLog) fill(variant int) {
	before := l.blob("png before refund")
	after := l.blob("png after refund")
	dom := l.blob("<html>the dom</html>")
	deleted := l.blob("expired video")
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ids := map[string]string{ledger.IDRun: "run_1"}
	add := func(typ ledger.Type, data string, arts ...ledger.Artifact) {
		e := ledger.Entry{V: ledger.Version, Type: typ, Tenant: "tenant_1", IDs: ids,
			Time: t0.Add(time.Duration(len(l.entries)) * time.Second), Actor: "key_1",
			Artifacts: arts, Data: json.RawMessage(data)}
		if typ == ledger.TypeTombstone {
			e.Actor = ""
		}
		b, err := ledger.Marshal(e)
		if err != nil {
			l.tb.Fatal(err)
		}
		l.append(b)
	}
	add(ledger.TypeRunStarted, `{"workflow":"refunds"}`)
	add(ledger.TypeCaptureCompleted, `{"url":"https://shop.example/refund"}`, before, dom)
	add(ledger.TypeRunEvent, `{"name":"refund approved","amount":"500.00"}`, before, after)
	add(ledger.TypeCaptureCompleted, `{"url":"https://shop.example/video"}`, deleted)
	add(ledger.TypeRunEvent, `{"name":"decision","customer":"42"}`)
	add(ledger.TypeRunFinished, `{"status":"ok"}`)
	for i := range 6 {
		add(ledger.TypeRunEvent, fmt.Sprintf(`{"name":"note","n":%d,"variant":%d}`, i, variant), dom)
	}
	add(ledger.TypeTombstone, `{"reason":"retention","sha256":"`+deleted.SHA256+`"}`)
	delete(l.blobs, deleted.SHA256)
	// 13 entries: the tombstone is the last; tests use sizes up to 13.
}

func (l *testLog) blob(content string) ledger.Artifact {
	sum := sha256.Sum256([]byte(content))
	h := hex.EncodeToString(sum[:])
	l.blobs[h] = []byte(content)
	return ledger.Artifact{SHA256: h, Size: int64(len(content)), MediaType: "application/octet-stream"}
}

func (l *testLog) append(b []byte) {
	hs, err := ledger.StoredHashes(int64(len(l.entries)), b, l)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.hashes = append(l.hashes, hs...)
	l.entries = append(l.entries, b)
}

// checkpoint returns the checkpoint of the first size entries signed by
// signers (the log's key if none).
func (l *testLog) checkpoint(size int64, signers ...note.Signer) []byte {
	l.tb.Helper()
	root, err := ledger.TreeHash(size, l)
	if err != nil {
		l.tb.Fatal(err)
	}
	if len(signers) == 0 {
		signers = []note.Signer{l.signer}
	}
	cp, err := ledger.SignCheckpoint(ledger.Checkpoint{Origin: testOrigin, Size: size, Hash: root}, signers...)
	if err != nil {
		l.tb.Fatal(err)
	}
	return cp
}

// contents returns the bundle contents of the given entries against a
// checkpoint of size (signed by cp's signers).
func (l *testLog) contents(size int64, cp []byte, indexes ...int64) bundle.Contents {
	l.tb.Helper()
	c := bundle.Contents{
		Origin: testOrigin, Checkpoint: cp, Keys: []string{l.vkey},
		Selection: json.RawMessage(`{"runs":["run_1"]}`),
		Blobs: func(_ context.Context, sha string) (io.ReadCloser, error) {
			b, ok := l.blobs[sha]
			if !ok {
				return nil, os.ErrNotExist
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		},
	}
	for _, i := range indexes {
		p, err := ledger.ProveInclusion(i, size, l)
		if err != nil {
			l.tb.Fatal(err)
		}
		c.Entries = append(c.Entries, bundle.Entry{Index: i, Bytes: l.entries[i], Proof: p})
	}
	return c
}

// rangeContents returns the contents of the range export [start, end) at
// size.
func (l *testLog) rangeContents(start, end, size int64, cp []byte) bundle.Contents {
	l.tb.Helper()
	var idx []int64
	for i := start; i < end; i++ {
		idx = append(idx, i)
	}
	c := l.contents(size, cp, idx...)
	hs, err := ledger.ProveRange(start, end, size, l)
	if err != nil {
		l.tb.Fatal(err)
	}
	c.Range = &ledger.RangeProof{Start: start, End: end, Size: size, Hashes: hs}
	c.Selection = json.RawMessage(fmt.Sprintf(`{"range":{"start":%d,"end":%d}}`, start, end))
	return c
}

// write writes a bundle and returns its bytes.
func write(tb testing.TB, c bundle.Contents) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := bundle.Write(tb.Context(), &buf, c, bundle.WriteOptions{}); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// verify verifies a bundle with the given trusted keys.
func verify(tb testing.TB, b []byte, keys ...string) (*bundle.Report, error) {
	tb.Helper()
	rep, err := bundle.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: keys})
	if rep == nil {
		tb.Fatal("Verify returned a nil Report")
	}
	if (err == nil) != rep.OK() {
		tb.Fatalf("Verify: error %v but Report.OK() = %v", err, rep.OK())
	}
	return rep, err
}

// zfile is one member of a zip being rewritten.
type zfile struct {
	name string
	data []byte
}

// unzip returns the members of a zip in order.
func unzip(tb testing.TB, b []byte) []zfile {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	var out []zfile
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, zfile{f.Name, data})
	}
	return out
}

// rezip writes members as a zip. If fixManifest, manifest.json is rewritten
// to list the members as they are, as an attacker without the key can.
func rezip(tb testing.TB, files []zfile, fixManifest bool) []byte {
	tb.Helper()
	if fixManifest {
		files = recomputeManifest(tb, files)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func recomputeManifest(tb testing.TB, files []zfile) []zfile {
	tb.Helper()
	i := slices.IndexFunc(files, func(f zfile) bool { return f.name == bundle.ManifestFile })
	if i < 0 {
		tb.Fatal("no manifest")
	}
	var m bundle.Manifest
	if err := json.Unmarshal(files[i].data, &m); err != nil {
		tb.Fatal(err)
	}
	m.Files = nil
	for _, f := range files {
		if f.name != bundle.ManifestFile {
			sum := sha256.Sum256(f.data)
			m.Files = append(m.Files, bundle.File{Path: f.name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(f.data))})
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	out := slices.Clone(files)
	out[i].data = b
	return out
}

// tamper unzips b, lets modify change the members, and zips them again.
func tamper(tb testing.TB, b []byte, fixManifest bool, modify func([]zfile) []zfile) []byte {
	tb.Helper()
	return rezip(tb, modify(unzip(tb, b)), fixManifest)
}

// find returns the index of the member named name.
func find(tb testing.TB, files []zfile, name string) int {
	tb.Helper()
	i := slices.IndexFunc(files, func(f zfile) bool { return f.name == name })
	if i < 0 {
		tb.Fatalf("no member %s", name)
	}
	return i
}

// remove returns files without the named members.
func remove(files []zfile, names ...string) []zfile {
	return slices.DeleteFunc(files, func(f zfile) bool { return slices.Contains(names, f.name) })
}

// wantProblem checks that verification failed with err wrapping category
// and that some problem matches.
func wantProblem(tb testing.TB, rep *bundle.Report, err, category error, match func(bundle.Problem) bool) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("Verify succeeded on a tampered bundle:\n%s", rep.Summary())
	}
	if !errors.Is(err, bundle.ErrFailed) || !errors.Is(err, category) {
		tb.Errorf("error %v: want it to wrap ErrFailed and %v", err, category)
	}
	for _, p := range rep.Problems {
		if errors.Is(p.Err, category) && match(p) {
			return
		}
	}
	tb.Errorf("no %v problem names the culprit; report:\n%s", category, rep.Summary())
}

func atIndex(i int64) func(bundle.Problem) bool {
	return func(p bundle.Problem) bool { return p.Index == i }
}

func atBlob(sha string) func(bundle.Problem) bool {
	return func(p bundle.Problem) bool { return p.Blob == sha }
}

func atFile(name string) func(bundle.Problem) bool {
	return func(p bundle.Problem) bool { return p.File == name }
}

// artifactOf returns the SHA-256 of the first artifact of entry i.
func (l *testLog) artifactOf(i int) string {
	e, err := ledger.Parse(l.entries[i])
	if err != nil || len(e.Artifacts) == 0 {
		l.tb.Fatalf("entry %d has no artifact", i)
	}
	return e.Artifacts[0].SHA256
}

// replaceAll replaces old by new in every member.
func replaceAll(files []zfile, old, new []byte) []zfile {
	for i := range files {
		files[i].data = bytes.ReplaceAll(files[i].data, old, new)
	}
	return files
}

// noteText returns the text of a signed note (without signatures).
func noteText(msg []byte) string {
	text, _, _ := strings.Cut(string(msg), "\n\n")
	return text + "\n"
}

func unmarshalManifest(tb testing.TB, b []byte) bundle.Manifest {
	tb.Helper()
	var m bundle.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func marshalManifest(tb testing.TB, m bundle.Manifest) []byte {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// errorsIs reports whether some problem of rep wraps target.
func errorsIs(rep *bundle.Report, target error) bool {
	return slices.ContainsFunc(rep.Problems, func(p bundle.Problem) bool { return errors.Is(p.Err, target) })
}
