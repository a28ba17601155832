package bundle_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// TestTamper checks that every kind of tampering an operator without the
// log's key could try makes Verify fail, naming the culprit.
func TestTamper(t *testing.T) {
	l := newTestLog(t)
	cp := l.checkpoint(logSize)
	list := write(t, l.contents(logSize, cp, 1, 2, 3, 4, 5, 12))
	full := write(t, l.rangeContents(0, logSize, logSize, cp))
	if rep, err := verify(t, full, l.vkey); err != nil {
		t.Fatalf("untampered bundle: %v\n%s", err, rep.Summary())
	}
	sha := l.artifactOf(1)

	t.Run("EntryChanged", func(t *testing.T) {
		b := tamper(t, full, true, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.EntryName(2))
			fs[i].data = bytes.Replace(fs[i].data, []byte(`"500.00"`), []byte(`"5.00"`), 1)
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(2))
	})
	t.Run("EntryNotCanonical", func(t *testing.T) {
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.EntryName(4))
			fs[i].data = append(fs[i].data, ' ')
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrEntry, atIndex(4))
	})
	t.Run("EntryChangedManifestStale", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.EntryName(5))
			fs[i].data = bytes.Replace(fs[i].data, []byte(`"ok"`), []byte(`"no"`), 1)
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrFileHash, atFile(bundle.EntryName(5)))
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(5))
	})
	t.Run("BlobChanged", func(t *testing.T) {
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.BlobName(sha))
			fs[i].data = []byte("png before refunD") // same size
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrBlob, atBlob(sha))
	})
	t.Run("BlobRemoved", func(t *testing.T) {
		b := tamper(t, list, true, func(fs []zfile) []zfile { return remove(fs, bundle.BlobName(sha)) })
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrBlob, func(p bundle.Problem) bool { return p.Blob == sha && p.Index == 1 })
	})
	t.Run("TombstoneRemoved", func(t *testing.T) {
		// Without the tombstone, the deleted blob of entry 3 is missing.
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			return remove(fs, bundle.EntryName(12), bundle.ProofName(12))
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrBlob, atIndex(3))
	})
	t.Run("EntryRemovedFromRange", func(t *testing.T) {
		b := tamper(t, full, true, func(fs []zfile) []zfile {
			return remove(fs, bundle.EntryName(6), bundle.ProofName(6))
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrRange, atIndex(6))
		if rep.Range == nil || rep.RangeComplete {
			t.Errorf("range %v complete %v, want the claimed range, not complete", rep.Range, rep.RangeComplete)
		}
	})
	t.Run("LastEntryRemovedFromRange", func(t *testing.T) {
		b := tamper(t, full, true, func(fs []zfile) []zfile {
			return remove(fs, bundle.EntryName(11), bundle.ProofName(11))
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrRange, atIndex(11))
	})
	t.Run("RangeProofRemoved", func(t *testing.T) {
		b := tamper(t, full, true, func(fs []zfile) []zfile { return remove(fs, bundle.RangeProofFile) })
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrRange, atFile(bundle.RangeProofFile))
	})
	t.Run("EntriesSwapped", func(t *testing.T) {
		b := tamper(t, full, true, func(fs []zfile) []zfile {
			i, j := find(t, fs, bundle.EntryName(7)), find(t, fs, bundle.EntryName(8))
			fs[i].data, fs[j].data = fs[j].data, fs[i].data
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(7))
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(8))
	})
	t.Run("ProofFromAnotherCheckpoint", func(t *testing.T) {
		other := write(t, l.contents(logSize-1, l.checkpoint(logSize-1), 4))
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			fs[find(t, fs, bundle.ProofName(4))].data = unzip(t, other)[find(t, unzip(t, other), bundle.ProofName(4))].data
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(4))
	})
	t.Run("Truncated", func(t *testing.T) {
		// The attacker drops the last entries and makes a checkpoint of the
		// shorter log, with proofs and a range proof that fit it.
		const short = logSize - 3
		attacker, attackerKey := newKey(t, testOrigin)
		forged := l.checkpoint(short, attacker)
		c := l.rangeContents(4, short, short, forged) // 3 refers to a tombstoned blob
		c.Keys = append(c.Keys, attackerKey)
		b := write(t, c)
		t.Run("SignedByOtherKey", func(t *testing.T) {
			rep, err := verify(t, b, l.vkey)
			wantProblem(t, rep, err, bundle.ErrCheckpoint, atFile(bundle.CheckpointFile))
		})
		t.Run("OldSignatureReused", func(t *testing.T) {
			// Keep the log's signature line from the real checkpoint.
			real := string(cp[len(noteText(cp)):])
			spliced := []byte(noteText(forged) + real)
			b := tamper(t, b, true, func(fs []zfile) []zfile { return replaceAll(fs, forged, spliced) })
			rep, err := verify(t, b, l.vkey)
			wantProblem(t, rep, err, bundle.ErrCheckpoint, atFile(bundle.CheckpointFile))
			if !errorsIs(rep, ledger.ErrBadSignature) {
				t.Errorf("want ledger.ErrBadSignature:\n%s", rep.Summary())
			}
		})
	})
	t.Run("ResignedWithAnotherKey", func(t *testing.T) {
		attacker, _ := newKey(t, testOrigin)
		forged := l.checkpoint(logSize, attacker)
		b := tamper(t, full, true, func(fs []zfile) []zfile { return replaceAll(fs, cp, forged) })
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrCheckpoint, atFile(bundle.CheckpointFile))
		if !errorsIs(rep, ledger.ErrUnverifiedCheckpoint) {
			t.Errorf("want ledger.ErrUnverifiedCheckpoint:\n%s", rep.Summary())
		}
	})
	t.Run("ResignedWithBundleKeysReplaced", func(t *testing.T) {
		// Without --key, a full forgery verifies: the report must say the
		// keys came from the bundle, and show a fingerprint that is not the
		// log's.
		attacker, attackerKey := newKey(t, testOrigin)
		forged := l.checkpoint(logSize, attacker)
		c := l.contents(logSize, forged, 2)
		c.Keys = []string{attackerKey}
		rep, err := verify(t, write(t, c))
		real, _ := ledger.KeyFingerprint(l.vkey)
		if err != nil || !rep.KeysFromBundle || len(rep.KeyFingerprints) != 1 || rep.KeyFingerprints[0] == real {
			t.Errorf("err %v, report:\n%s", err, rep.Summary())
		}
	})
	t.Run("ExtraFile", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile {
			return append(fs, zfile{"entries/notes.txt", []byte("hi")})
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile("entries/notes.txt"))
	})
	t.Run("ExtraFileInManifest", func(t *testing.T) {
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			return append(fs, zfile{"notes.txt", []byte("hi")})
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile("notes.txt"))
	})
	t.Run("ExtraBlob", func(t *testing.T) {
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			return append(fs, zfile{bundle.BlobName(sha[:63] + "0"), []byte("x")})
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.BlobName(sha[:63]+"0")))
	})
	t.Run("ManifestLineRemoved", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.ManifestFile)
			m := unmarshalManifest(t, fs[i].data)
			m.Files = slices.DeleteFunc(m.Files, func(f bundle.File) bool { return f.Path == bundle.CheckpointFile })
			fs[i].data = marshalManifest(t, m)
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.CheckpointFile))
	})
	t.Run("ManifestLineTwice", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.ManifestFile)
			m := unmarshalManifest(t, fs[i].data)
			m.Files = append(m.Files, m.Files[2])
			fs[i].data = marshalManifest(t, m)
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(unmarshalManifest(t, unzip(t, list)[len(unzip(t, list))-1].data).Files[2].Path))
	})
	t.Run("FileMissing", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile { return remove(fs, bundle.ProofName(3)) })
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.ProofName(3)))
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(3))
	})
	for _, name := range []string{"../evil", "/etc/passwd", "entries/../checkpoint", `blobs\x`, "./checkpoint"} {
		t.Run(fmt.Sprintf("UnsafePath%q", name), func(t *testing.T) {
			b := tamper(t, list, true, func(fs []zfile) []zfile { return append(fs, zfile{name, []byte("x")}) })
			rep, err := verify(t, b, l.vkey)
			wantProblem(t, rep, err, bundle.ErrLayout, atFile(name))
		})
	}
	t.Run("TerminalEscapeInPath", func(t *testing.T) {
		name := "entries/\x1b[2Jok"
		b := tamper(t, list, false, func(fs []zfile) []zfile { return append(fs, zfile{name, []byte("x")}) })
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(name))
		if strings.ContainsRune(rep.Summary(), 0x1b) {
			t.Errorf("summary holds a raw escape character:\n%q", rep.Summary())
		}
	})
	t.Run("DuplicatePath", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile {
			return append(fs, zfile{bundle.EntryName(2), fs[find(t, fs, bundle.EntryName(3))].data})
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.EntryName(2)))
	})
	t.Run("ProofExtraData", func(t *testing.T) {
		b := tamper(t, list, true, func(fs []zfile) []zfile {
			i := find(t, fs, bundle.ProofName(2))
			fs[i].data = bytes.Replace(fs[i].data, []byte("\nindex "), []byte("\nextra aGk=\nindex "), 1)
			return fs
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrInclusion, atIndex(2))
	})
	t.Run("EntryOutsideRange", func(t *testing.T) {
		part := write(t, l.rangeContents(4, 8, logSize, cp))
		b := tamper(t, part, true, func(fs []zfile) []zfile {
			src := unzip(t, list)
			return append(fs, src[find(t, src, bundle.EntryName(2))], src[find(t, src, bundle.ProofName(2))])
		})
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrRange, atIndex(2))
	})
	t.Run("NotAZip", func(t *testing.T) {
		rep, err := verify(t, []byte("PK not really"), l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, func(bundle.Problem) bool { return true })
	})
	t.Run("ManifestMissing", func(t *testing.T) {
		b := tamper(t, list, false, func(fs []zfile) []zfile { return remove(fs, bundle.ManifestFile) })
		rep, err := verify(t, b, l.vkey)
		wantProblem(t, rep, err, bundle.ErrLayout, atFile(bundle.ManifestFile))
	})
}
