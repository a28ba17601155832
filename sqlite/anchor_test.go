package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/rfc3161"
	"github.com/auditshot/auditshot/rfc3161/rfc3161test"
	"github.com/auditshot/auditshot/sqlite"
)

// timestamperFunc adapts a function to auditshot.Timestamper.
type timestamperFunc func(ctx context.Context, digest [32]byte) ([]byte, error)

func (f timestamperFunc) Timestamp(ctx context.Context, digest [32]byte) ([]byte, error) {
	return f(ctx, digest)
}

func TestAnchor(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tsa := rfc3161test.New(t, rfc3161test.Options{Now: func() time.Time { return at }})
	client := &rfc3161.Client{URL: tsa.URL()}

	t.Run("OK", func(t *testing.T) {
		ctx := t.Context()
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		MustCreateRun(t, db, "acme")
		a, err := db.Anchor(ctx, "acme", client, "test-tsa")
		if err != nil {
			t.Fatalf("Anchor: %v", err)
		}
		cp, err := db.CheckpointAt(ctx, "acme", a.CheckpointSize)
		if err != nil {
			t.Fatal(err)
		}
		if a.CheckpointSHA256 != sha256.Sum256(cp.Note) || !a.GenTime.Equal(at) || a.TSA != "test-tsa" {
			t.Errorf("anchor %+v does not match checkpoint %d or the TSA's time %v", a, cp.Size, at)
		}
		if got, err := rfc3161.Verify(a.Token, a.CheckpointSHA256, tsa.Roots, at); err != nil || !got.Equal(at) {
			t.Errorf("token: Verify = %v, %v", got, err)
		}
		// The anchor entry binds the checkpoint and the token.
		entries, err := db.Entries(ctx, "acme", a.Ledger.Index, a.Ledger.Index+1)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ledger.Parse(entries[0])
		if err != nil {
			t.Fatal(err)
		}
		var d sqlite.AnchorData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		tokenSum := sha256.Sum256(a.Token)
		want := sqlite.AnchorData{CheckpointSize: cp.Size, CheckpointSHA256: hex.EncodeToString(a.CheckpointSHA256[:]),
			TSA: "test-tsa", GenTime: at.Format(ledger.TimeLayout), TokenSHA256: hex.EncodeToString(tokenSum[:])}
		if e.Type != ledger.TypeAnchor || d != want {
			t.Errorf("entry %s %+v, want anchor %+v", e.Type, d, want)
		}
		if a.Ledger.Index < cp.Size {
			t.Errorf("anchor entry %d is inside the checkpoint it anchors (size %d)", a.Ledger.Index, cp.Size)
		}
		// A second anchor covers the first anchor's entry.
		b, err := db.Anchor(ctx, "acme", client, "test-tsa")
		if err != nil {
			t.Fatal(err)
		}
		if b.CheckpointSize != a.Ledger.Index+1 {
			t.Errorf("second anchor is over size %d, want %d", b.CheckpointSize, a.Ledger.Index+1)
		}
		list, err := db.Anchors(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Ledger != a.Ledger || list[1].Ledger != b.Ledger || string(list[0].Token) != string(a.Token) ||
			!list[0].GenTime.Equal(at) || list[0].CheckpointSHA256 != a.CheckpointSHA256 {
			t.Errorf("Anchors = %+v", list)
		}
		if err := db.Verify(ctx, "acme"); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})
	t.Run("ErrTSAUnavailable", func(t *testing.T) {
		ctx := t.Context()
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		tsa.FailNext(1)
		_, err := db.Anchor(ctx, "acme", client, "test-tsa")
		wantCode(t, err, auditshot.EUNAVAILABLE)
		if list, err := db.Anchors(ctx, "acme"); err != nil || len(list) != 0 {
			t.Errorf("Anchors after a failure = %v, %v", list, err)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		wrong := timestamperFunc(func(_ context.Context, _ [32]byte) ([]byte, error) {
			return tsa.TokenOver([]byte("another checkpoint"), at), nil
		})
		_, err := db.Anchor(t.Context(), "acme", wrong, "test-tsa")
		wantCode(t, err, auditshot.EINTERNAL)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		_, err := db.Anchor(t.Context(), "nobody", client, "test-tsa")
		wantCode(t, err, auditshot.ENOTFOUND)
		_, err = db.Anchors(t.Context(), "nobody")
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}

// TestAnchorFiles exports a bundle with the store's anchors and verifies
// it with the TSA's root: the store's anchors bound every entry's time.
func TestAnchorFiles(t *testing.T) {
	ctx := t.Context()
	tsa := rfc3161test.New(t, rfc3161test.Options{Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC) }})
	client := &rfc3161.Client{URL: tsa.URL()}
	cfg, vkey := withKey(t, testConfig())
	db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "auditshot.db"), cfg)
	MustCreateTenant(t, db, "acme")
	MustCreateRun(t, db, "acme")
	if _, err := db.Anchor(ctx, "acme", client, "test-tsa"); err != nil {
		t.Fatal(err)
	}
	MustCreateRun(t, db, "acme")
	if _, err := db.Anchor(ctx, "acme", client, "test-tsa"); err != nil {
		t.Fatal(err)
	}
	MustCreateRun(t, db, "acme")
	size, err := db.LogSize(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	// Export gathers the anchors that bound the exported entries.
	var buf bytes.Buffer
	if _, err := db.Export(ctx, &buf, "acme", "key_auditor", auditshot.ExportSelection{Range: &auditshot.IndexRange{Start: 0, End: size}}, blobs, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := bundle.Verify(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()),
		bundle.VerifyOptions{Keys: []string{vkey}, TSARoots: tsa.Roots, Now: func() time.Time { return time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, rep.Summary())
	}
	if len(rep.Anchors) != 2 || !rep.Anchors[0].Verified || !rep.Anchors[1].Verified {
		t.Errorf("anchors %+v", rep.Anchors)
	}
}
