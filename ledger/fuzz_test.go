package ledger_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot/ledger"
)

// addGolden adds the golden files matching pattern to the seed corpus.
func addGolden(f *testing.F, pattern string) {
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seed files %s: %v", pattern, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseEntry checks that Parse never panics, that what it accepts
// marshals back to the same bytes, and that Marshal of arbitrary data either
// fails or gives bytes Parse accepts.
func FuzzParseEntry(f *testing.F) {
	addGolden(f, "entries/*.json")
	f.Add([]byte(`{"data":{"a":[1,-2,{"b":null}],"c":"\u0000"},` + tail))
	f.Add([]byte(`{"tenant":"t1", "type":"run.started"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ledger.Parse(b)
		if err == nil {
			again, err := ledger.Marshal(e)
			if err != nil {
				t.Fatalf("Marshal(Parse(b)): %v", err)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("Marshal(Parse(b)) = %q, want %q", again, b)
			}
		}
		// The same bytes as a payload: Marshal canonicalises or refuses.
		x := minimalEntry()
		x.Data = json.RawMessage(b)
		out, err := ledger.Marshal(x)
		if err != nil {
			return
		}
		y, err := ledger.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(data %q)) = %v", b, err)
		}
		if again := MustMarshal(t, y); !bytes.Equal(again, out) {
			t.Fatalf("Marshal is not idempotent on data %q", b)
		}
		// Canonicalising kept the meaning: encoding/json reads the same
		// value from the input and from the canonical payload.
		if len(y.Data) == 0 {
			return // no payload: b was empty or an empty object
		}
		if !json.Valid(b) {
			t.Fatalf("Marshal accepted invalid JSON data %q", b)
		}
		if a, c := decodeAny(t, b), decodeAny(t, y.Data); !reflect.DeepEqual(a, c) {
			t.Fatalf("data %q canonicalised to %q, which means %v, not %v", b, y.Data, c, a)
		}
	})
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("encoding/json cannot read %q: %v", b, err)
	}
	return v
}

// FuzzOpenCheckpoint checks that OpenCheckpoint and ParseCheckpoint never
// panic and that what they accept formats back to the same text.
func FuzzOpenCheckpoint(f *testing.F) {
	addGolden(f, "checkpoint*")
	f.Add([]byte("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n"))
	vs := note.VerifierList(goldenKey(f).verifier)
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, n, err := ledger.OpenCheckpoint(b, goldenOrigin, vs)
		if err == nil {
			text, err := ledger.FormatCheckpoint(cp)
			if err != nil || string(text) != n.Text {
				t.Fatalf("FormatCheckpoint(OpenCheckpoint(b)) = %q, %v; want %q", text, err, n.Text)
			}
		}
		cp, err = ledger.ParseCheckpoint(b)
		if err == nil {
			text, err := ledger.FormatCheckpoint(cp)
			if err != nil || !bytes.Equal(text, b) {
				t.Fatalf("FormatCheckpoint(ParseCheckpoint(b)) = %q, %v; want %q", text, err, b)
			}
		}
	})
}

// FuzzParseProof checks that the three proof parsers never panic and that
// what they accept formats back to the same bytes.
func FuzzParseProof(f *testing.F) {
	addGolden(f, "*.proof")
	addGolden(f, "*.tlog-proof")
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ledger.ParseProof(b); err == nil {
			again, err := ledger.FormatProof(p)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("FormatProof(ParseProof(b)) = %q, %v; want %q", again, err, b)
			}
		}
		if p, err := ledger.ParseConsistencyProof(b); err == nil {
			again, err := ledger.FormatConsistencyProof(p)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("FormatConsistencyProof(ParseConsistencyProof(b)) = %q, %v; want %q", again, err, b)
			}
		}
		if p, err := ledger.ParseRangeProof(b); err == nil {
			again, err := ledger.FormatRangeProof(p)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("FormatRangeProof(ParseRangeProof(b)) = %q, %v; want %q", again, err, b)
			}
		}
	})
}
