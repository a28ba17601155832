package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// The store's bundles verify offline with the log's key alone.
func TestExport(t *testing.T) {
	ctx := context.Background()
	db, blobs, vkey := mustStoreWithBlobs(t, "acme", "other")

	png, err := blobs.Put(ctx, strings.NewReader("pretend PNG of the refund page"), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutArtifact(ctx, "acme", png); err != nil {
		t.Fatal(err)
	}
	run := MustCreateRun(t, db, "acme")
	MustCreateRun(t, db, "acme") // another run, not exported
	ev := &auditshot.Event{TenantID: "acme", RunID: run.ID, Type: auditshot.EventAction, Name: "refund_approved",
		Data: []byte(`{"amount":"500.00"}`), Artifacts: []auditshot.ArtifactRef{{Artifact: png, Role: auditshot.RoleAfter}}}
	if err := db.AddEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishRun(ctx, "acme", run.ID, auditshot.RunSucceeded); err != nil {
		t.Fatal(err)
	}
	verify := func(t *testing.T, b []byte) *bundle.Report {
		t.Helper()
		rep, err := bundle.Verify(ctx, bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: []string{vkey}})
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, rep.Summary())
		}
		return rep
	}

	t.Run("Runs", func(t *testing.T) {
		var buf bytes.Buffer
		x, err := db.Export(ctx, &buf, "acme", "key_auditor", auditshot.ExportSelection{Runs: []string{run.ID}}, blobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep := verify(t, buf.Bytes())
		if x.Entries != 3 || rep.Entries != 3 || rep.Blobs != 1 || x.Size != int64(buf.Len()) {
			t.Errorf("export %+v, report entries %d blobs %d", x, rep.Entries, rep.Blobs)
		}
		// The export itself is in the log, with the bundle's hash.
		last, err := db.Entries(ctx, "acme", x.Ledger.Index, x.Ledger.Index+1)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ledger.Parse(last[0])
		if err != nil || e.Type != ledger.TypeExportCreated || e.Actor != "key_auditor" || !strings.Contains(string(e.Data), x.SHA256) {
			t.Errorf("export entry %s %s %v", e.Type, e.Data, err)
		}
	})
	t.Run("Range", func(t *testing.T) {
		size, _ := db.LogSize(ctx, "acme")
		var buf bytes.Buffer
		x, err := db.Export(ctx, &buf, "acme", "key_auditor", auditshot.ExportSelection{Range: &auditshot.IndexRange{Start: 0, End: size}}, blobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep := verify(t, buf.Bytes())
		if !rep.RangeComplete || rep.Entries != int(size) || x.Entries != int(size) {
			t.Errorf("range export: complete %v entries %d of %d", rep.RangeComplete, rep.Entries, size)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		var buf bytes.Buffer
		_, err := db.Export(ctx, &buf, "other", "k", auditshot.ExportSelection{Runs: []string{run.ID}}, blobs, nil)
		wantCode(t, err, auditshot.ENOTFOUND)
		if buf.Len() != 0 {
			t.Errorf("another tenant's export wrote %d bytes", buf.Len())
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		var buf bytes.Buffer
		for _, sel := range []auditshot.ExportSelection{{}, {Range: &auditshot.IndexRange{Start: 5, End: 2}}, {Range: &auditshot.IndexRange{Start: 0, End: 1 << 40}}} {
			_, err := db.Export(ctx, &buf, "acme", "k", sel, blobs, nil)
			wantCode(t, err, auditshot.EINVALID)
		}
	})
}

// mustStoreWithBlobs opens a store with a fresh log key and a blob store,
// and creates the tenants; it returns the log's verifier key.
func mustStoreWithBlobs(t *testing.T, tenants ...string) (*sqlite.DB, *file.Store, string) {
	t.Helper()
	cfg, vkey := withKey(t, testConfig())
	db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "auditshot.db"), cfg)
	blobs, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	for _, id := range tenants {
		MustCreateTenant(t, db, id)
	}
	return db, blobs, vkey
}
