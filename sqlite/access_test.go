package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

func TestAccessLog(t *testing.T) {
	ctx := context.Background()
	sha := strings.Repeat("cd", 32)

	t.Run("OK", func(t *testing.T) {
		db, blobs, _ := mustStoreWithBlobs(t, "acme", "other")
		run := MustCreateRun(t, db, "acme")
		views := []*auditshot.EvidenceView{
			{TenantID: "acme", Actor: "key_auditor", What: auditshot.ViewRun, RunID: run.ID},
			{TenantID: "acme", Actor: "key_auditor", What: auditshot.ViewArtifact, RunID: run.ID, CaptureID: "cap-1", SHA256: sha},
			{TenantID: "acme", Actor: "key_other", What: auditshot.ViewLedger},
		}
		var refs []auditshot.LedgerRef
		for _, v := range views {
			ref, err := db.RecordView(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, *ref)
		}
		if _, err := db.RecordView(ctx, &auditshot.EvidenceView{TenantID: "other", Actor: "key_x", What: auditshot.ViewLedger}); err != nil {
			t.Fatal(err)
		}
		// The entry is in the log as RecordView answered.
		b, err := db.Entries(ctx, "acme", refs[1].Index, refs[1].Index+1)
		if err != nil {
			t.Fatal(err)
		}
		if h := ledger.LeafHash(b[0]); refs[1].LeafHash != hex.EncodeToString(h[:]) {
			t.Errorf("leaf hash %s, entry hashes to %x", refs[1].LeafHash, h)
		}
		e, err := ledger.Parse(b[0])
		if err != nil {
			t.Fatal(err)
		}
		want := ledger.Entry{V: ledger.Version, Type: ledger.TypeEvidenceViewed, Tenant: "acme", Actor: "key_auditor",
			IDs:  map[string]string{ledger.IDRun: run.ID, ledger.IDCapture: "cap-1"},
			Data: []byte(`{"sha256":"` + sha + `","what":"artifact"}`)}
		if diff := cmp.Diff(e, want, cmpopts.IgnoreFields(ledger.Entry{}, "Time")); diff != "" {
			t.Errorf("evidence.viewed entry (-got +want):\n%s", diff)
		}

		var out bytes.Buffer
		x, err := db.Export(ctx, &out, "acme", "key_exporter", auditshot.ExportSelection{Runs: []string{run.ID}}, blobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.ListAccess(ctx, "acme", auditshot.AccessFilter{})
		if err != nil {
			t.Fatal(err)
		}
		wantList := []auditshot.AccessEntry{
			{Type: "export.created", Actor: "key_exporter", What: "export", ExportID: x.ID, SHA256: x.SHA256, Ledger: x.Ledger},
			{Type: "evidence.viewed", Actor: "key_other", What: "ledger", Ledger: refs[2]},
			{Type: "evidence.viewed", Actor: "key_auditor", What: "artifact", RunID: run.ID, CaptureID: "cap-1", SHA256: sha, Ledger: refs[1]},
			{Type: "evidence.viewed", Actor: "key_auditor", What: "run", RunID: run.ID, Ledger: refs[0]},
		}
		if diff := cmp.Diff(got, wantList, cmpopts.IgnoreFields(auditshot.AccessEntry{}, "Time")); diff != "" {
			t.Errorf("ListAccess (-got +want):\n%s", diff)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Time.After(got[i-1].Time) {
				t.Errorf("entry %d (%v) is newer than entry %d (%v)", i, got[i].Time, i-1, got[i-1].Time)
			}
		}
		if got[0].Time.IsZero() {
			t.Error("access entry without time")
		}

		// Limit keeps the newest; Before pages on.
		got, err = db.ListAccess(ctx, "acme", auditshot.AccessFilter{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Type != "export.created" || got[1].Ledger != refs[2] {
			t.Errorf("ListAccess(limit 2) = %+v", got)
		}
		got, err = db.ListAccess(ctx, "acme", auditshot.AccessFilter{Limit: 2, Before: got[1].Ledger.Index})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, wantList[2:], cmpopts.IgnoreFields(auditshot.AccessEntry{}, "Time")); diff != "" {
			t.Errorf("ListAccess(second page) (-got +want):\n%s", diff)
		}
		// By key, and by run (its views, and the export that selected it).
		for _, c := range []struct {
			f    auditshot.AccessFilter
			want []auditshot.AccessEntry
		}{
			{auditshot.AccessFilter{Actor: "key_auditor"}, wantList[2:]},
			{auditshot.AccessFilter{Actor: "key_other"}, wantList[1:2]},
			{auditshot.AccessFilter{Actor: "key_nobody"}, nil},
			{auditshot.AccessFilter{RunID: run.ID}, []auditshot.AccessEntry{wantList[0], wantList[2], wantList[3]}},
			{auditshot.AccessFilter{RunID: run.ID, Actor: "key_exporter"}, wantList[:1]},
			{auditshot.AccessFilter{RunID: "run-none"}, nil},
		} {
			got, err := db.ListAccess(ctx, "acme", c.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, c.want, cmpopts.IgnoreFields(auditshot.AccessEntry{}, "Time")); diff != "" {
				t.Errorf("ListAccess(%+v) (-got +want):\n%s", c.f, diff)
			}
		}
		// Tenants see only their own access.
		got, err = db.ListAccess(ctx, "other", auditshot.AccessFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Actor != "key_x" {
			t.Errorf("other tenant's access = %+v", got)
		}
		got, err = db.ListAccess(ctx, "nobody", auditshot.AccessFilter{Limit: 10})
		if err != nil || len(got) != 0 {
			t.Errorf("unknown tenant's access = %+v, %v", got, err)
		}
		for _, tenant := range []string{"acme", "other"} {
			if _, err := db.SignCheckpoint(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			if err := db.Verify(ctx, tenant); err != nil {
				t.Errorf("verify %s: %v", tenant, err)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		for _, v := range []auditshot.EvidenceView{
			{Actor: "k", What: auditshot.ViewRun},
			{TenantID: "acme", What: auditshot.ViewRun},
			{TenantID: "acme", Actor: "k"},
			{TenantID: "acme", Actor: "k", What: auditshot.ViewRun, RunID: "Bad ID"},
			{TenantID: "acme", Actor: "k", What: auditshot.ViewArtifact, SHA256: "abc"},
		} {
			_, err := db.RecordView(ctx, &v)
			wantCode(t, err, auditshot.EINVALID)
		}
		if n := len(mustEntries(t, db, "acme")); n != 0 {
			t.Errorf("%d entries after refused views, want 0", n)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		_, err := db.RecordView(ctx, &auditshot.EvidenceView{TenantID: "nobody", Actor: "k", What: auditshot.ViewRun})
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}

// TestAccessLog_Upgrade: a store written before the access log had tables
// of its own (migration 0009) lists the same access after the upgrade,
// which fills them from the ledger.
func TestAccessLog_Upgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auditshot.db")
	cfg, _ := withKey(t, testConfig())
	blobs, err := file.New(file.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	db, err := sqlite.Open(ctx, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	r1, r2 := MustCreateRun(t, db, "acme"), MustCreateRun(t, db, "acme")
	for i, v := range []auditshot.EvidenceView{
		{TenantID: "acme", Actor: "key_a", What: auditshot.ViewRun, RunID: r1.ID},
		{TenantID: "acme", Actor: "key_b", What: auditshot.ViewLedger},
		{TenantID: "acme", Actor: "key_a", What: auditshot.ViewRun, RunID: r2.ID},
		{TenantID: "other", Actor: "key_x", What: auditshot.ViewLedger},
	} {
		if _, err := db.RecordView(ctx, &v); err != nil {
			t.Fatalf("view %d: %v", i, err)
		}
	}
	var out bytes.Buffer
	if _, err := db.Export(ctx, &out, "acme", "key_b", auditshot.ExportSelection{Runs: []string{r1.ID, r2.ID}}, blobs, nil); err != nil {
		t.Fatal(err)
	}
	filters := []auditshot.AccessFilter{{}, {Actor: "key_a"}, {Actor: "key_b"}, {RunID: r1.ID}, {RunID: r2.ID, Actor: "key_b"}, {Limit: 2, Before: 6}}
	list := func(db *sqlite.DB) [][]auditshot.AccessEntry {
		var all [][]auditshot.AccessEntry
		for _, tenant := range []string{"acme", "other"} {
			for _, f := range filters {
				got, err := db.ListAccess(ctx, tenant, f)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, got)
			}
		}
		return all
	}
	before := list(db)
	if len(before[0]) != 4 || len(before[3]) != 2 || len(before[4]) != 1 {
		t.Fatalf("access before the upgrade: %+v", before)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to the store as migration 0008 left it.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`DROP TABLE access_runs`, `DROP TABLE access_log`,
		`CREATE INDEX ledger_access ON ledger_entries(tenant_id, idx)
			WHERE json_extract(CAST(entry AS TEXT), '$.type') IN ('evidence.viewed', 'export.created')`,
		`DELETE FROM schema_migrations WHERE name = '0009_access_log.sql'`} {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	raw.Close()
	db = MustOpenDBAt(t, path, cfg)
	if diff := cmp.Diff(list(db), before); diff != "" {
		t.Errorf("access after the upgrade (-got +want):\n%s", diff)
	}
}
