package ledger_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (see testdata/README.md)")

type goldenEntry struct {
	name  string
	entry ledger.Entry
}

// goldenEntries are one entry of each type, as the service will write them.
// Changing any of them changes the golden files: run with -update and review
// the diff.
func goldenEntries() []goldenEntry {
	t0 := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const (
		png  = "3a1f5c9e0b7d2468ace13579bdf02468ace13579bdf02468ace13579bdf02468"
		png2 = "b4c3d2e1f00112233445566778899aabbccddeeff00112233445566778899aab"
		dom  = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
		zip  = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
		tsr  = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
	)
	agent := &ledger.Agent{ID: "agent_refunds", Name: "Refund assistant", Model: "claude-sonnet-4", Version: "1.4.0", CodeRef: "git:4f2a9c1"}
	ids := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	e := func(ms int, ty ledger.Type, actor string, id map[string]string, data string) ledger.Entry {
		return ledger.Entry{V: ledger.Version, Type: ty, Tenant: "acme", IDs: id, Time: at(ms), Actor: actor, Data: json.RawMessage(data)}
	}
	var out []goldenEntry
	add := func(x ledger.Entry) {
		out = append(out, goldenEntry{fmt.Sprintf("%02d-%s.json", len(out), x.Type), x})
	}
	add(e(0, ledger.TypeLogKey, "", nil, `{"key":"`+goldenVKey+`","reason":"created"}`))
	add(e(1, ledger.TypeKeyCreated, "key_bootstrap", ids(ledger.IDKey, "key_ci"), `{"name":"ci","scopes":["capture","write"]}`))
	x := e(2000, ledger.TypeRunStarted, "key_ci", ids(ledger.IDRun, "run_01"),
		`{"workflow":"refund","principal":"user:alice","subject":"customer:42","labels":{"env":"prod"}}`)
	x.Agent, x.ClientTime = agent, at(1990)
	add(x)
	x = e(3500, ledger.TypeCaptureCompleted, "key_ci", ids(ledger.IDRun, "run_01", ledger.IDCapture, "cap_01"),
		`{"url":"https://shop.example/orders/42","status":200,"title":"Order #42 — Refund"}`)
	x.Artifacts = []ledger.Artifact{{SHA256: png, Size: 183004, MediaType: "image/png", Role: "before"}, {SHA256: dom, Size: 52311, MediaType: "text/html", Role: "dom"}}
	add(x)
	x = e(4100, ledger.TypeRunEvent, "key_ci", ids(ledger.IDRun, "run_01", ledger.IDEvent, "ev_01"),
		"{\"type\":\"approval\",\"name\":\"refund approved\",\"data\":{\"amount\":\"500.00\",\"currency\":\"USD\",\"customer\":42},\n"+
			"\"reasoning\":\"Policy allows refunds < $1,000 & \\\"auto\\\" approval\\nfor \\u00e9lite customers \\ud83d\\ude00\"}")
	x.Agent, x.ClientTime = agent, at(4000)
	x.Artifacts = []ledger.Artifact{{SHA256: png, Size: 183004, MediaType: "image/png", Role: "before"}, {SHA256: png2, Size: 179220, MediaType: "image/png", Role: "after"}}
	add(x)
	x = e(5000, ledger.TypeRunFinished, "key_ci", ids(ledger.IDRun, "run_01"), `{"status":"succeeded"}`)
	x.Agent = agent
	add(x)
	add(e(60000, ledger.TypeEvidenceViewed, "key_auditor", ids(ledger.IDRun, "run_01"), `{"view":"run"}`))
	x = e(61000, ledger.TypeExportCreated, "key_auditor", ids(ledger.IDExport, "exp_01"), `{"selection":{"runs":["run_01"]}}`)
	x.Artifacts = []ledger.Artifact{{SHA256: zip, Size: 1048576, MediaType: "application/zip", Role: "bundle"}}
	add(x)
	add(e(62000, ledger.TypePolicyChanged, "key_admin", nil, `{"egress_allow":["10.0.0.0/8"],"retention_days":365}`))
	x = e(63000, ledger.TypeAnchor, "", nil, `{"checkpoint_size":9,"tsa":"https://tsa.example/tsr"}`)
	x.Artifacts = []ledger.Artifact{{SHA256: tsr, Size: 4120, MediaType: "application/timestamp-reply"}}
	add(x)
	add(e(64000, ledger.TypeTombstone, "", ids(ledger.IDCapture, "cap_01"), `{"reason":"retention","sha256":"`+dom+`"}`))
	add(e(65000, ledger.TypeKeyRevoked, "key_admin", ids(ledger.IDKey, "key_ci"), ``))
	return out
}

// goldenFiles makes every golden file from goldenEntries, by name.
func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	m := &memLog{}
	var leaves strings.Builder
	for i, g := range goldenEntries() {
		b := MustMarshal(t, g.entry)
		files["entries/"+g.name] = b
		m.MustAppend(t, b)
		h := ledger.LeafHash(b)
		fmt.Fprintf(&leaves, "%d %x %s\n", i, h[:], g.name)
	}
	n := m.size()
	root := m.MustRoot(t, n)
	fmt.Fprintf(&leaves, "root %d %x\n", n, root[:])
	files["leaves.txt"] = []byte(leaves.String())
	files["golden.vkey"] = []byte(goldenVKey + "\n")
	signer := goldenKey(t).signer
	files["checkpoint"] = mustSign(t, ledger.Checkpoint{Origin: goldenOrigin, Size: n, Hash: root}, signer)

	incl, err := ledger.ProveInclusion(3, n, m)
	if err != nil {
		t.Fatal(err)
	}
	files["entry-3.tlog-proof"] = must(ledger.FormatProof(ledger.InclusionProof{Index: 3, Hashes: incl, Checkpoint: files["checkpoint"]}))(t)
	cons, err := ledger.ProveConsistency(5, n, m)
	if err != nil {
		t.Fatal(err)
	}
	files["consistency-5.proof"] = must(ledger.FormatConsistencyProof(ledger.ConsistencyProof{OldSize: 5, NewSize: n, Hashes: cons}))(t)
	files["checkpoint-5"] = mustSign(t, ledger.Checkpoint{Origin: goldenOrigin, Size: 5, Hash: m.MustRoot(t, 5)}, signer)
	rng, err := ledger.ProveRange(2, 7, n, m)
	if err != nil {
		t.Fatal(err)
	}
	files["range-2-7.proof"] = must(ledger.FormatRangeProof(ledger.RangeProof{Start: 2, End: 7, Size: n, Hashes: rng}))(t)
	return files
}

func must(b []byte, err error) func(testing.TB) []byte {
	return func(tb testing.TB) []byte {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
}

// TestGolden checks that the formats have not drifted: what the code makes
// now is byte for byte what testdata/ holds.
func TestGolden(t *testing.T) {
	files := goldenFiles(t)
	if *update {
		if err := os.RemoveAll(filepath.Join("testdata", "entries")); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			path := filepath.Join("testdata", filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%v (run go test ./ledger -run TestGolden -update)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from what the code makes now:\n got: %q\nwant: %q\nIf the format change is intended, run go test ./ledger -run TestGolden -update and review the diff.", name, got, want)
		}
	}
	dir, err := os.ReadDir(filepath.Join("testdata", "entries"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range dir {
		if _, ok := files["entries/"+f.Name()]; !ok {
			t.Errorf("testdata/entries/%s is not made by goldenEntries", f.Name())
		}
	}
}

// TestGoldenFiles verifies the golden files as an offline verifier would,
// from the files alone.
func TestGoldenFiles(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vs, err := ledger.NewVerifiers(strings.TrimSpace(string(read("golden.vkey"))))
	if err != nil {
		t.Fatal(err)
	}
	cp, _, err := ledger.OpenCheckpoint(read("checkpoint"), goldenOrigin, vs)
	if err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join("testdata", "entries", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var leaves []ledger.Hash
	var entries [][]byte
	lines := strings.Split(strings.TrimSuffix(string(read("leaves.txt")), "\n"), "\n")
	for i, name := range names {
		b := read(filepath.Join("entries", filepath.Base(name)))
		e, err := ledger.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasSuffix(name, fmt.Sprintf("%02d-%s.json", i, e.Type)) {
			t.Errorf("%s holds a %s entry", name, e.Type)
		}
		if again := MustMarshal(t, e); !bytes.Equal(again, b) {
			t.Errorf("%s: Marshal(Parse(b)) differs", name)
		}
		h := ledger.LeafHash(b)
		if want := fmt.Sprintf("%d %x %s", i, h[:], filepath.Base(name)); lines[i] != want {
			t.Errorf("leaves.txt line %d = %q, want %q", i+1, lines[i], want)
		}
		leaves = append(leaves, h)
		entries = append(entries, b)
	}
	if int64(len(leaves)) != cp.Size {
		t.Fatalf("%d entries, checkpoint size %d", len(leaves), cp.Size)
	}
	if want := fmt.Sprintf("root %d %s", cp.Size, hex.EncodeToString(cp.Hash[:])); lines[len(lines)-1] != want {
		t.Errorf("leaves.txt last line = %q, want %q", lines[len(lines)-1], want)
	}
	// All entries against the checkpoint: a range proof of the whole log
	// is empty.
	if err := ledger.VerifyRange(0, cp.Size, cp.Size, leaves, nil, cp.Hash); err != nil {
		t.Fatalf("entries do not make the checkpoint's root: %v", err)
	}
	p, err := ledger.ParseProof(read("entry-3.tlog-proof"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyProof(p, entries[3], goldenOrigin, vs); err != nil {
		t.Fatalf("entry-3.tlog-proof: %v", err)
	}
	rp, err := ledger.ParseRangeProof(read("range-2-7.proof"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.VerifyRange(rp.Start, rp.End, rp.Size, leaves[2:7], rp.Hashes, cp.Hash); err != nil || rp.Size != cp.Size {
		t.Fatalf("range-2-7.proof: %v", err)
	}
	old, _, err := ledger.OpenCheckpoint(read("checkpoint-5"), goldenOrigin, vs)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := ledger.ParseConsistencyProof(read("consistency-5.proof"))
	if err != nil {
		t.Fatal(err)
	}
	if cons.OldSize != old.Size || cons.NewSize != cp.Size {
		t.Fatalf("consistency-5.proof is for sizes %d, %d", cons.OldSize, cons.NewSize)
	}
	if err := ledger.VerifyConsistency(old.Size, cp.Size, cons.Hashes, old.Hash, cp.Hash); err != nil {
		t.Fatalf("consistency-5.proof: %v", err)
	}
	// The golden checkpoint also opens with the key from the code, and not
	// with another key.
	if _, _, err := ledger.OpenCheckpoint(read("checkpoint"), goldenOrigin, note.VerifierList(mustKey(t, goldenOrigin).verifier)); err == nil {
		t.Fatal("golden checkpoint opened with another key")
	}
}
