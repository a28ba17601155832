package bundle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/rfc3161/rfc3161test"
)

// t0 is the time of entry 0 of the test log; entry i is at t0 + i seconds.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// anchorAt returns an anchor over the checkpoint of the first size entries
// of l, stamped by tsa at t, for a bundle whose checkpoint is of bundleSize.
func (l *testLog) anchorAt(tsa *rfc3161test.TSA, size, bundleSize int64, t time.Time) bundle.AnchorFile {
	l.tb.Helper()
	cp := l.checkpoint(size)
	a := bundle.AnchorFile{CheckpointNote: cp, Token: tsa.TokenOver(cp, t)}
	if size != bundleSize {
		p, err := ledger.ProveConsistency(min(size, bundleSize), max(size, bundleSize), l)
		if err != nil {
			l.tb.Fatal(err)
		}
		a.Consistency = p
	}
	return a
}

// retimed returns a copy of l, signed with the same key, whose entry i
// claims the time at(i) instead: the log an operator holding the key
// could rebuild.
func (l *testLog) retimed(at map[int]time.Time) *testLog {
	l.tb.Helper()
	out := &testLog{tb: l.tb, signer: l.signer, vkey: l.vkey, blobs: l.blobs}
	for i, b := range l.entries {
		if t, ok := at[i]; ok {
			e, err := ledger.Parse(b)
			if err != nil {
				l.tb.Fatal(err)
			}
			e.Time = t
			if b, err = ledger.Marshal(e); err != nil {
				l.tb.Fatal(err)
			}
		}
		out.append(b)
	}
	return out
}

// verifyAnchored verifies b trusting l's key and tsa's root.
func verifyAnchored(tb testing.TB, b []byte, l *testLog, tsa *rfc3161test.TSA) (*bundle.Report, error) {
	tb.Helper()
	opts := bundle.VerifyOptions{Keys: []string{l.vkey}, Now: func() time.Time { return t0.Add(48 * time.Hour) }}
	if tsa != nil {
		opts.TSARoots = tsa.Roots
	}
	rep, err := bundle.Verify(tb.Context(), bytes.NewReader(b), int64(len(b)), opts)
	if (err == nil) != rep.OK() {
		tb.Fatalf("Verify: error %v but Report.OK() = %v", err, rep.OK())
	}
	return rep, err
}

func TestAnchors(t *testing.T) {
	tsa := rfc3161test.New(t, rfc3161test.Options{})
	l := newTestLog(t)
	cp := l.checkpoint(logSize)
	// Entries 0..5 were stamped a minute after entry 5; the whole log an
	// hour after its last entry.
	c := l.rangeContents(0, logSize, logSize, cp)
	c.Anchors = []bundle.AnchorFile{
		l.anchorAt(tsa, 6, logSize, t0.Add(5*time.Second+time.Minute)),
		l.anchorAt(tsa, logSize, logSize, t0.Add(time.Hour)),
	}
	good := write(t, c)

	t.Run("OK", func(t *testing.T) {
		rep, err := verifyAnchored(t, good, l, tsa)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		if len(rep.Anchors) != 2 || !rep.Anchors[0].Verified || rep.Anchors[0].CheckpointSize != 6 ||
			!rep.Anchors[1].GenTime.Equal(t0.Add(time.Hour)) || len(withoutReport(rep.Unchecked)) != 0 {
			t.Errorf("anchors %+v, unchecked %v", rep.Anchors, rep.Unchecked)
		}
		if !strings.Contains(rep.Summary(), "anchor:      anchors/") {
			t.Errorf("summary does not list the anchors:\n%s", rep.Summary())
		}
	})
	t.Run("NoTSARoots", func(t *testing.T) {
		rep, err := verifyAnchored(t, good, l, nil)
		if err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
		if !slices.Contains(rep.Warnings, bundle.NoTSARootsWarning) || len(withoutReport(rep.Unchecked)) != 5 || len(rep.Anchors) != 0 {
			t.Errorf("warnings %v, unchecked %v, anchors %v: want the anchors unchecked with a warning", rep.Warnings, rep.Unchecked, rep.Anchors)
		}
	})
	t.Run("BadToken", func(t *testing.T) {
		name := bundle.AnchorName(0, bundle.AnchorTokenExt)
		b := tamper(t, good, true, func(fs []zfile) []zfile {
			i := find(t, fs, name)
			fs[i].data = bytes.Replace(fs[i].data, []byte("2026"), []byte("2025"), 1)
			return fs
		})
		rep, err := verifyAnchored(t, b, l, tsa)
		wantProblem(t, rep, err, bundle.ErrAnchor, atFile(name))
	})
	t.Run("TokenOverAnotherCheckpoint", func(t *testing.T) {
		name := bundle.AnchorName(1, bundle.AnchorTokenExt)
		b := tamper(t, good, true, func(fs []zfile) []zfile {
			fs[find(t, fs, name)].data = tsa.TokenOver(l.checkpoint(7), t0.Add(time.Hour))
			return fs
		})
		rep, err := verifyAnchored(t, b, l, tsa)
		wantProblem(t, rep, err, bundle.ErrAnchor, atFile(name))
	})
	t.Run("UntrustedTSA", func(t *testing.T) {
		rep, err := verifyAnchored(t, good, l, rfc3161test.New(t, rfc3161test.Options{}))
		wantProblem(t, rep, err, bundle.ErrAnchor, atFile(bundle.AnchorName(0, bundle.AnchorTokenExt)))
	})
	t.Run("AnchorNotConsistent", func(t *testing.T) {
		// A checkpoint of a forked history, validly signed and stamped.
		fork := &testLog{tb: t, signer: l.signer, vkey: l.vkey, blobs: map[string][]byte{}}
		fork.fill(1)
		fcp := fork.checkpoint(logSize)
		name := bundle.AnchorName(1, bundle.AnchorCheckpointExt)
		b := tamper(t, good, true, func(fs []zfile) []zfile {
			fs[find(t, fs, name)].data = fcp
			fs[find(t, fs, bundle.AnchorName(1, bundle.AnchorTokenExt))].data = tsa.TokenOver(fcp, t0.Add(time.Hour))
			return fs
		})
		rep, err := verifyAnchored(t, b, l, tsa)
		wantProblem(t, rep, err, bundle.ErrAnchor, atFile(name))
	})
	t.Run("AnchorCheckpointByAnotherKey", func(t *testing.T) {
		other, _ := newKey(t, testOrigin)
		ocp := l.checkpoint(6, other)
		name := bundle.AnchorName(0, bundle.AnchorCheckpointExt)
		b := tamper(t, good, true, func(fs []zfile) []zfile {
			fs[find(t, fs, name)].data = ocp
			fs[find(t, fs, bundle.AnchorName(0, bundle.AnchorTokenExt))].data = tsa.TokenOver(ocp, t0.Add(time.Hour))
			return fs
		})
		rep, err := verifyAnchored(t, b, l, tsa)
		wantProblem(t, rep, err, bundle.ErrAnchor, atFile(name))
	})
	t.Run("WriteRejectsInconsistentAnchor", func(t *testing.T) {
		c := l.contents(logSize, cp, 2)
		a := l.anchorAt(tsa, 6, logSize, t0)
		a.Consistency = nil
		c.Anchors = []bundle.AnchorFile{a}
		var buf bytes.Buffer
		if err := bundle.Write(t.Context(), &buf, c, bundle.WriteOptions{}); err == nil {
			t.Error("Write accepted an anchor without its consistency proof")
		}
	})
}

// TestTamper_TimeOutsideAnchorWindow is the tamper suite's case "a claimed
// time outside the window its anchors allow": the operator holds the log's
// key and rebuilds a validly signed log, but the TSA's anchors pin the
// times.
func TestTamper_TimeOutsideAnchorWindow(t *testing.T) {
	tsa := rfc3161test.New(t, rfc3161test.Options{})
	orig := newTestLog(t)
	stamped := t0.Add(5*time.Second + time.Minute) // the first 6 entries existed then

	t.Run("BackDatedAfterAnchor", func(t *testing.T) {
		// Entry 8, appended after the stamped checkpoint of 6 entries,
		// is rewritten to claim a time an hour before the stamp. The
		// prefix of 6 entries is untouched, so the anchor still holds.
		forged := orig.retimed(map[int]time.Time{8: t0.Add(-time.Hour)})
		anchor := orig.anchorAt(tsa, 6, logSize, stamped)
		p, err := ledger.ProveConsistency(6, logSize, forged)
		if err != nil {
			t.Fatal(err)
		}
		anchor.Consistency = p
		c := forged.rangeContents(0, logSize, logSize, forged.checkpoint(logSize))
		c.Anchors = []bundle.AnchorFile{anchor}
		b := write(t, c)
		if rep, err := verify(t, b, orig.vkey); err != nil {
			t.Fatalf("without TSA roots the forged log verifies, as the key holder made it: %v\n%s", err, rep.Summary())
		}
		rep, err := verifyAnchored(t, b, orig, tsa)
		wantProblem(t, rep, err, bundle.ErrTime, atIndex(8))
	})
	t.Run("ForwardDatedBeforeAnchor", func(t *testing.T) {
		// Entry 3 claims a time a day later than the stamp over a
		// checkpoint that already held it.
		forged := orig.retimed(map[int]time.Time{3: t0.Add(24 * time.Hour)})
		c := forged.rangeContents(0, logSize, logSize, forged.checkpoint(logSize))
		c.Anchors = []bundle.AnchorFile{forged.anchorAt(tsa, 6, logSize, stamped)}
		rep, err := verifyAnchored(t, write(t, c), orig, tsa)
		wantProblem(t, rep, err, bundle.ErrTime, atIndex(3))
	})
	t.Run("WithinTolerance", func(t *testing.T) {
		// Clock skew smaller than the tolerance is not forgery.
		skewed := orig.retimed(map[int]time.Time{8: stamped.Add(-time.Minute)})
		c := skewed.rangeContents(0, logSize, logSize, skewed.checkpoint(logSize))
		c.Anchors = []bundle.AnchorFile{skewed.anchorAt(tsa, 6, logSize, stamped)}
		if rep, err := verifyAnchored(t, write(t, c), orig, tsa); err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
	})
}

// TestAnchors_EntryBindsToken checks that when the bundle holds the log's
// anchor entry, the anchor's token must be the one that entry records.
func TestAnchors_EntryBindsToken(t *testing.T) {
	tsa := rfc3161test.New(t, rfc3161test.Options{})
	l := newTestLog(t)
	stamped := t0.Add(time.Hour)
	cp := l.checkpoint(logSize)
	tok := tsa.TokenOver(cp, stamped)
	cpSum, tokSum := sha256.Sum256(cp), sha256.Sum256(tok)
	e := ledger.Entry{V: ledger.Version, Type: ledger.TypeAnchor, Tenant: "tenant_1", Time: stamped.Add(time.Second),
		Data: []byte(fmt.Sprintf(`{"checkpoint_size":%d,"checkpoint_sha256":%q,"gen_time":%q,"token_sha256":%q,"tsa":"test"}`,
			logSize, hex.EncodeToString(cpSum[:]), stamped.Format(ledger.TimeLayout), hex.EncodeToString(tokSum[:])))}
	b, err := ledger.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	l.append(b)
	size := int64(logSize + 1)
	bundleOf := func(token []byte) []byte {
		a := l.anchorAt(tsa, logSize, size, stamped)
		a.Token = token
		c := l.rangeContents(0, size, size, l.checkpoint(size))
		c.Anchors = []bundle.AnchorFile{a}
		return write(t, c)
	}
	t.Run("OK", func(t *testing.T) {
		if rep, err := verifyAnchored(t, bundleOf(tok), l, tsa); err != nil {
			t.Fatalf("Verify: %v\n%s", err, rep.Summary())
		}
	})
	t.Run("ErrOtherToken", func(t *testing.T) {
		rep, err := verifyAnchored(t, bundleOf(tsa.TokenOver(cp, stamped.Add(time.Second))), l, tsa)
		wantProblem(t, rep, err, bundle.ErrAnchor, atFile(bundle.AnchorName(0, bundle.AnchorTokenExt)))
	})
}
