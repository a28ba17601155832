package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

const logSize = 13

func TestWriteVerify(t *testing.T) {
	l := newTestLog(t)
	cp := l.checkpoint(logSize)
	t.Run("List", func(t *testing.T) {
		b := write(t, l.contents(logSize, cp, 1, 2, 4, 12))
		rep, err := verify(t, b, l.vkey)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		fp, _ := ledger.KeyFingerprint(l.vkey)
		switch {
		case rep.Origin != testOrigin || rep.CheckpointSize != logSize || rep.CheckpointRoot == "":
			t.Errorf("origin %q size %d root %q", rep.Origin, rep.CheckpointSize, rep.CheckpointRoot)
		case rep.Entries != 4 || rep.Blobs != 3 || rep.Range != nil:
			t.Errorf("entries %d blobs %d range %v, want 4, 3, nil", rep.Entries, rep.Blobs, rep.Range)
		case len(rep.KeyFingerprints) != 1 || rep.KeyFingerprints[0] != fp || rep.KeysFromBundle:
			t.Errorf("fingerprints %v (from bundle %v), want [%s]", rep.KeyFingerprints, rep.KeysFromBundle, fp)
		}
	})
	t.Run("Range", func(t *testing.T) {
		b := write(t, l.rangeContents(0, logSize, logSize, cp))
		rep, err := verify(t, b, l.vkey)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		if rep.Entries != logSize || rep.Range == nil || *rep.Range != (bundle.Range{Start: 0, End: logSize}) || !rep.RangeComplete || rep.Tombstoned != 1 || rep.Blobs != 3 {
			t.Errorf("report:\n%s", rep.Summary())
		}
	})
	t.Run("RangeMiddle", func(t *testing.T) {
		// Entry 3 refers to a blob deleted by tombstone 12: a range
		// without the tombstone cannot be exported, so use [4, 10).
		b := write(t, l.rangeContents(4, 10, logSize, cp))
		if rep, err := verify(t, b, l.vkey); err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
	})
	t.Run("KeysFromBundle", func(t *testing.T) {
		b := write(t, l.contents(logSize, cp, 0, 5))
		rep, err := verify(t, b)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		if !rep.KeysFromBundle || !strings.Contains(rep.Summary(), bundle.KeysFromBundleWarning) {
			t.Errorf("no warning about keys from the bundle:\n%s", rep.Summary())
		}
	})
	t.Run("ExtraSignatureIgnored", func(t *testing.T) {
		witness, wkey := newKey(t, "witness.example")
		cp2 := l.checkpoint(logSize, l.signer, witness)
		rep, err := verify(t, write(t, l.contents(logSize, cp2, 2)), l.vkey)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		if len(rep.IgnoredSignatures) != 1 || !strings.HasPrefix(wkey, rep.IgnoredSignatures[0]) {
			t.Errorf("ignored signatures %v, want the witness's", rep.IgnoredSignatures)
		}
	})
	t.Run("ReservedFiles", func(t *testing.T) {
		b := tamper(t, write(t, l.contents(logSize, cp, 2)), true, func(fs []zfile) []zfile {
			return append(fs, zfile{"anchors/00000000000000000013.tsr", []byte("token")}, zfile{"report.pdf", []byte("%PDF")})
		})
		rep, err := verify(t, b, l.vkey)
		if err != nil || len(rep.Unchecked) != 3 {
			t.Errorf("Verify: %v, unchecked %v, want 3 reserved files reported unchecked (with report.html)", err, rep.Unchecked)
		}
	})
	t.Run("WrongOrigin", func(t *testing.T) {
		b := write(t, l.contents(logSize, cp, 2))
		rep, err := bundle.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: []string{l.vkey}, Origin: "auditshot.test/other"})
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.ManifestFile))
	})
}

func TestWriteDeterministic(t *testing.T) {
	l := newTestLog(t)
	c := l.rangeContents(0, logSize, logSize, l.checkpoint(logSize))
	var calls []bundle.Progress
	var a bytes.Buffer
	if err := bundle.Write(t.Context(), &a, c, bundle.WriteOptions{Progress: func(p bundle.Progress) { calls = append(calls, p) }}); err != nil {
		t.Fatal(err)
	}
	// Entries given in another order give the same bytes.
	c.Entries[0], c.Entries[5] = c.Entries[5], c.Entries[0]
	b := write(t, c)
	if !bytes.Equal(a.Bytes(), b) {
		t.Error("the same contents gave different bytes")
	}
	last := calls[len(calls)-1]
	if last.Files != last.TotalFiles || last.Bytes != last.TotalBytes || last.TotalBytes == 0 {
		t.Errorf("last progress %+v: want all files and bytes done", last)
	}
	var vcalls int
	_, err := bundle.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: []string{l.vkey}, Progress: func(bundle.Progress) { vcalls++ }})
	if err != nil || vcalls == 0 {
		t.Errorf("Verify: %v, %d progress calls", err, vcalls)
	}
}

func TestWriteErrors(t *testing.T) {
	l := newTestLog(t)
	cp := l.checkpoint(logSize)
	t.Run("BlobMismatch", func(t *testing.T) {
		c := l.contents(logSize, cp, 1)
		c.Blobs = func(context.Context, string) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("not the blob")), nil
		}
		err := bundle.Write(t.Context(), io.Discard, c, bundle.WriteOptions{})
		if !errors.Is(err, bundle.ErrInvalidContents) || !strings.Contains(err.Error(), "blob ") {
			t.Errorf("Write: %v, want ErrInvalidContents naming the blob", err)
		}
	})
	t.Run("BlobMissing", func(t *testing.T) {
		c := l.contents(logSize, cp, 1)
		c.Blobs = func(context.Context, string) (io.ReadCloser, error) { return nil, os.ErrNotExist }
		if err := bundle.Write(t.Context(), io.Discard, c, bundle.WriteOptions{}); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Write: %v, want os.ErrNotExist", err)
		}
	})
	t.Run("BadProof", func(t *testing.T) {
		c := l.contents(logSize, cp, 1, 2)
		c.Entries[0].Proof = c.Entries[1].Proof
		if err := bundle.Write(t.Context(), io.Discard, c, bundle.WriteOptions{}); !errors.Is(err, ledger.ErrInvalidProof) {
			t.Errorf("Write: %v, want ErrInvalidProof", err)
		}
	})
	t.Run("UntrustedCheckpoint", func(t *testing.T) {
		other, _ := newKey(t, testOrigin)
		c := l.contents(logSize, l.checkpoint(logSize, other), 1)
		if err := bundle.Write(t.Context(), io.Discard, c, bundle.WriteOptions{}); !errors.Is(err, bundle.ErrInvalidContents) {
			t.Errorf("Write: %v, want ErrInvalidContents", err)
		}
	})
	t.Run("RangeWithoutTombstone", func(t *testing.T) {
		// Entry 3's blob was deleted; the tombstone (12) is outside [2, 6).
		c := l.rangeContents(2, 6, logSize, cp)
		if err := bundle.Write(t.Context(), io.Discard, c, bundle.WriteOptions{}); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Write: %v, want os.ErrNotExist", err)
		}
	})
	t.Run("IncompleteRange", func(t *testing.T) {
		c := l.rangeContents(2, 6, logSize, cp)
		c.Entries = c.Entries[1:]
		if err := bundle.Write(t.Context(), io.Discard, c, bundle.WriteOptions{}); !errors.Is(err, bundle.ErrInvalidContents) {
			t.Errorf("Write: %v, want ErrInvalidContents", err)
		}
	})
}
