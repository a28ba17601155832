package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot/ledger"
)

// mustProof returns the tlog-proof of leaf i of m at size n, with a
// checkpoint signed by the golden key.
func mustProof(tb testing.TB, m *memLog, i, n int64, extra []byte) ledger.InclusionProof {
	tb.Helper()
	p, err := ledger.ProveInclusion(i, n, m)
	if err != nil {
		tb.Fatal(err)
	}
	cp := ledger.Checkpoint{Origin: goldenOrigin, Size: n, Hash: m.MustRoot(tb, n)}
	return ledger.InclusionProof{Extra: extra, Index: i, Hashes: p, Checkpoint: mustSign(tb, cp, goldenKey(tb).signer)}
}

func TestInclusionProofFormat(t *testing.T) {
	m := MustLog(t, 9)
	for _, p := range []ledger.InclusionProof{
		mustProof(t, m, 3, 9, nil),
		mustProof(t, m, 0, 1, nil),
		mustProof(t, m, 8, 9, []byte("opaque\x00extra")),
	} {
		b, err := ledger.FormatProof(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.ParseProof(b)
		if err != nil {
			t.Fatalf("ParseProof: %v\n%s", err, b)
		}
		if diff := cmp.Diff(got, p); diff != "" {
			t.Fatalf("ParseProof(FormatProof(p)) (-got +want):\n%s", diff)
		}
		entry := m.entries[p.Index]
		cp, err := ledger.VerifyProof(got, entry, goldenOrigin, note.VerifierList(goldenKey(t).verifier))
		if err != nil {
			t.Fatalf("VerifyProof: %v", err)
		}
		if cp.Size != mustCheckpointSize(t, p) {
			t.Fatalf("VerifyProof returned size %d", cp.Size)
		}
		if _, err := ledger.VerifyProof(got, append(entry, ' '), goldenOrigin, note.VerifierList(goldenKey(t).verifier)); !errors.Is(err, ledger.ErrInvalidProof) {
			t.Fatalf("VerifyProof of a changed entry: %v, want ErrInvalidProof", err)
		}
		if _, err := ledger.VerifyProof(got, entry, "other", note.VerifierList(goldenKey(t).verifier)); !errors.Is(err, ledger.ErrWrongOrigin) {
			t.Fatalf("VerifyProof with another origin: %v, want ErrWrongOrigin", err)
		}
		if _, err := ledger.VerifyProof(got, entry, goldenOrigin, nil); !errors.Is(err, ledger.ErrUnverifiedCheckpoint) {
			t.Fatalf("VerifyProof with no keys: %v, want ErrUnverifiedCheckpoint", err)
		}
	}
}

func mustCheckpointSize(tb testing.TB, p ledger.InclusionProof) int64 {
	tb.Helper()
	cp, _, err := ledger.OpenCheckpoint(p.Checkpoint, goldenOrigin, note.VerifierList(goldenKey(tb).verifier))
	if err != nil {
		tb.Fatal(err)
	}
	return cp.Size
}

func TestInclusionProofFormat_Text(t *testing.T) {
	m := MustLog(t, 2)
	p := mustProof(t, m, 1, 2, []byte("hi"))
	b, err := ledger.FormatProof(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "c2sp.org/tlog-proof@v1\nextra aGk=\nindex 1\n" + p.Hashes[0].String() + "\n\n" + string(p.Checkpoint)
	if string(b) != want {
		t.Fatalf("FormatProof:\n%s\nwant:\n%s", b, want)
	}
}

func TestParseProof_Rejects(t *testing.T) {
	m := MustLog(t, 4)
	good, err := ledger.FormatProof(mustProof(t, m, 1, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	lines := strings.SplitN(s, "\n", 5) // header, index, hash, hash, rest
	h := lines[2]
	cpText := strings.SplitN(s, "\n\n", 2)[1]
	tests := map[string]string{
		"Empty":            "",
		"WrongHeader":      strings.Replace(s, "tlog-proof@v1", "tlog-proof@v2", 1),
		"NoIndex":          lines[0] + "\n" + h + "\n\n" + cpText,
		"IndexLeadingZero": strings.Replace(s, "index 1\n", "index 01\n", 1),
		"IndexNegative":    strings.Replace(s, "index 1\n", "index -1\n", 1),
		"IndexPlus":        strings.Replace(s, "index 1\n", "index +1\n", 1),
		"IndexTwoSpaces":   strings.Replace(s, "index 1\n", "index  1\n", 1),
		"IndexHuge":        strings.Replace(s, "index 1\n", "index 9223372036854775808\n", 1),
		"EmptyExtra":       strings.Replace(s, "index 1\n", "extra \nindex 1\n", 1),
		"BadExtra":         strings.Replace(s, "index 1\n", "extra !!\nindex 1\n", 1),
		"ExtraAfterIndex":  strings.Replace(s, "index 1\n", "index 1\nextra aGk=\n", 1),
		"ShortHash":        strings.Replace(s, h, "AAAA", 1),
		"HashNoPadding":    strings.Replace(s, h, strings.TrimSuffix(h, "="), 1),
		"HashURLBase64":    strings.Replace(s, h, "________________________________________________", 1),
		"HashSpace":        strings.Replace(s, h, h+" ", 1),
		"HashCRLF":         strings.Replace(s, h+"\n", h+"\r\n", 1),
		"NoBlankLine":      strings.Replace(s, "\n\n", "\n", 1),
		"NoCheckpoint":     strings.SplitN(s, "\n\n", 2)[0] + "\n\n",
		"HashesOnly":       strings.SplitN(s, "\n\n", 2)[0] + "\n",
		"NoFinalNewline":   strings.SplitN(s, "\n\n", 2)[0],
		"CheckpointTrunc":  strings.TrimSuffix(s, "\n"),
		"CheckpointJunk":   s + "junk\n",
		"TwoBlankLines":    strings.Replace(s, "\n\n", "\n\n\n", 1),
		"CheckpointText":   strings.SplitN(s, "\n\n", 2)[0] + "\n\n" + strings.SplitN(cpText, "\n\n", 2)[0] + "\n",
		"BadCheckpoint":    strings.SplitN(s, "\n\n", 2)[0] + "\n\nx\n01\n" + h + "\n\n— k AAAAAAAA\n",
	}
	for name, in := range tests {
		if _, err := ledger.ParseProof([]byte(in)); !errors.Is(err, ledger.ErrInvalidProofFormat) {
			t.Errorf("%s: ParseProof error %v, want ErrInvalidProofFormat", name, err)
		}
	}
	if _, err := ledger.ParseProof([]byte(s + strings.Repeat("x", ledger.MaxProofSize))); !errors.Is(err, ledger.ErrInvalidProofFormat) {
		t.Errorf("oversize: %v", err)
	}
	// The error names the line.
	_, err = ledger.ParseProof([]byte(strings.Replace(s, h, "AAAA", 1)))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %v, want it to name line 3", err)
	}
	for name, p := range map[string]ledger.InclusionProof{
		"NegativeIndex": {Index: -1, Checkpoint: mustProof(t, m, 1, 4, nil).Checkpoint},
		"NoCheckpoint":  {Index: 1},
		"TooManyHashes": {Index: 1, Hashes: make([]ledger.Hash, 129), Checkpoint: mustProof(t, m, 1, 4, nil).Checkpoint},
		"BadCheckpoint": {Index: 1, Checkpoint: []byte("x\n")},
	} {
		if _, err := ledger.FormatProof(p); !errors.Is(err, ledger.ErrInvalidProofFormat) {
			t.Errorf("%s: FormatProof error %v, want ErrInvalidProofFormat", name, err)
		}
	}
}

func TestConsistencyProofFormat(t *testing.T) {
	m := MustLog(t, 9)
	for _, c := range [][2]int64{{0, 9}, {9, 9}, {3, 9}, {1, 2}} {
		hs, err := ledger.ProveConsistency(c[0], c[1], m)
		if err != nil {
			t.Fatal(err)
		}
		p := ledger.ConsistencyProof{OldSize: c[0], NewSize: c[1], Hashes: hs}
		b, err := ledger.FormatConsistencyProof(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.ParseConsistencyProof(b)
		if err != nil {
			t.Fatalf("ParseConsistencyProof: %v\n%s", err, b)
		}
		if diff := cmp.Diff(got, p); diff != "" {
			t.Fatalf("round trip (-got +want):\n%s", diff)
		}
		if err := ledger.VerifyConsistency(got.OldSize, got.NewSize, got.Hashes, m.MustRoot(t, c[0]), m.MustRoot(t, c[1])); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := ledger.FormatConsistencyProof(ledger.ConsistencyProof{OldSize: 1, NewSize: 2, Hashes: []ledger.Hash{{}}})
	if want := "auditshot.dev/consistency-proof@v1\nold 1\nnew 2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"; string(b) != want {
		t.Fatalf("FormatConsistencyProof = %q, want %q", b, want)
	}
	s := string(b)
	for name, in := range map[string]string{
		"Empty":         "",
		"WrongHeader":   strings.Replace(s, "consistency", "range", 1),
		"OutOfOrder":    strings.Replace(s, "old 1", "old 3", 1),
		"SwappedLines":  strings.Replace(strings.Replace(s, "old 1\n", "X\n", 1), "new 2\n", "old 1\n", 1),
		"MissingNew":    strings.Replace(s, "new 2\n", "", 1),
		"LeadingZero":   strings.Replace(s, "new 2", "new 02", 1),
		"BlankLine":     s + "\n",
		"Trailing":      s + "x",
		"NoNewline":     strings.TrimSuffix(s, "\n"),
		"BadHash":       strings.Replace(s, "AAA=", "AA==", 1),
		"HeaderOnly":    "auditshot.dev/consistency-proof@v1\n",
		"HeaderNoNLine": "auditshot.dev/consistency-proof@v1",
	} {
		if _, err := ledger.ParseConsistencyProof([]byte(in)); !errors.Is(err, ledger.ErrInvalidProofFormat) {
			t.Errorf("%s: error %v, want ErrInvalidProofFormat", name, err)
		}
	}
	if _, err := ledger.FormatConsistencyProof(ledger.ConsistencyProof{OldSize: 3, NewSize: 2}); !errors.Is(err, ledger.ErrInvalidProofFormat) {
		t.Errorf("FormatConsistencyProof out of order: %v", err)
	}
}

func TestRangeProofFormat(t *testing.T) {
	m := MustLog(t, 9)
	for _, c := range [][3]int64{{0, 9, 9}, {2, 5, 9}, {8, 9, 9}, {0, 1, 1}} {
		hs, err := ledger.ProveRange(c[0], c[1], c[2], m)
		if err != nil {
			t.Fatal(err)
		}
		p := ledger.RangeProof{Start: c[0], End: c[1], Size: c[2], Hashes: hs}
		b, err := ledger.FormatRangeProof(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ledger.ParseRangeProof(b)
		if err != nil {
			t.Fatalf("ParseRangeProof: %v\n%s", err, b)
		}
		if diff := cmp.Diff(got, p); diff != "" {
			t.Fatalf("round trip (-got +want):\n%s", diff)
		}
		if err := ledger.VerifyRange(got.Start, got.End, got.Size, m.leafHashes(c[0], c[1]), got.Hashes, m.MustRoot(t, c[2])); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := ledger.FormatRangeProof(ledger.RangeProof{Start: 1, End: 2, Size: 2, Hashes: []ledger.Hash{{}}})
	if want := "auditshot.dev/range-proof@v1\nstart 1\nend 2\nsize 2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"; string(b) != want {
		t.Fatalf("FormatRangeProof = %q, want %q", b, want)
	}
	s := string(b)
	for name, in := range map[string]string{
		"Empty":       "",
		"EmptyRange":  strings.Replace(s, "start 1", "start 2", 1),
		"PastSize":    strings.Replace(s, "end 2", "end 3", 1),
		"MissingSize": strings.Replace(s, "size 2\n", "", 1),
		"BlankLine":   s + "\n",
		"BadHash":     strings.Replace(s, "AAA=", "AAA", 1),
	} {
		if _, err := ledger.ParseRangeProof([]byte(in)); !errors.Is(err, ledger.ErrInvalidProofFormat) {
			t.Errorf("%s: error %v, want ErrInvalidProofFormat", name, err)
		}
	}
	if _, err := ledger.FormatRangeProof(ledger.RangeProof{Start: 2, End: 2, Size: 2}); !errors.Is(err, ledger.ErrInvalidProofFormat) {
		t.Errorf("FormatRangeProof of an empty range: %v", err)
	}
}
