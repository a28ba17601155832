package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// writeAll makes one write of every kind and returns the refs and types of
// the entries they should have made, in order.
func writeAll(t *testing.T, db *sqlite.DB, tenantID string) ([]auditshot.LedgerRef, []ledger.Type) {
	t.Helper()
	ctx := t.Context()
	var refs []auditshot.LedgerRef
	var types []ledger.Type
	key, _, err := db.CreateAPIKey(ctx, tenantID, "k", []auditshot.Scope{auditshot.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	// CreateAPIKey returns no ref: read it back from the log.
	refs = append(refs, auditshot.LedgerRef{Index: -1})
	types = append(types, ledger.TypeKeyCreated)
	r := MustCreateRun(t, db, tenantID)
	refs, types = append(refs, r.Started), append(types, ledger.TypeRunStarted)
	if err := db.PutArtifact(ctx, tenantID, png); err != nil {
		t.Fatal(err)
	}
	e := &auditshot.Event{TenantID: tenantID, RunID: r.ID, Type: auditshot.EventAction, Name: "click",
		Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: png.SHA256}, Role: auditshot.RoleBefore}}}
	if err := db.AddEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	refs, types = append(refs, e.Ledger), append(types, ledger.TypeRunEvent)
	fin, err := db.FinishRun(ctx, tenantID, r.ID, auditshot.RunSucceeded)
	if err != nil {
		t.Fatal(err)
	}
	refs, types = append(refs, *fin.Finished), append(types, ledger.TypeRunFinished)
	if _, err := db.RevokeAPIKey(ctx, tenantID, key.ID); err != nil {
		t.Fatal(err)
	}
	refs, types = append(refs, auditshot.LedgerRef{Index: -1}), append(types, ledger.TypeKeyRevoked)
	return refs, types
}

func TestLedger_EveryWriteOneEntry(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	MustCreateRun(t, db, "other")
	refs, types := writeAll(t, db, "acme")
	entries := mustEntries(t, db, "acme")
	if len(entries) != len(types) {
		t.Fatalf("%d entries, want %d", len(entries), len(types))
	}
	for i, b := range entries {
		e, err := ledger.Parse(b)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if e.Type != types[i] || e.Tenant != "acme" {
			t.Errorf("entry %d is %s of %s, want %s of acme", i, e.Type, e.Tenant, types[i])
		}
		h := leafHash(b)
		if refs[i].Index >= 0 && (refs[i].Index != int64(i) || refs[i].LeafHash != hex.EncodeToString(h[:])) {
			t.Errorf("entry %d: ref %+v, want index %d leaf %x", i, refs[i], i, h)
		}
	}
	if n := len(mustEntries(t, db, "other")); n != 1 {
		t.Errorf("other tenant has %d entries, want 1", n)
	}
}

// openCheckpoint verifies a stored checkpoint's note.
func openCheckpoint(t *testing.T, db *sqlite.DB, cp *auditshot.Checkpoint) ledger.Checkpoint {
	t.Helper()
	_, v := testKey()
	c, _, err := ledger.OpenCheckpoint(cp.Note, db.Origin(cp.TenantID), note.VerifierList(v))
	if err != nil {
		t.Fatalf("open checkpoint: %v", err)
	}
	if c.Size != cp.Size || c.Hash != cp.RootHash || c.Origin != "auditshot.test/"+cp.TenantID {
		t.Fatalf("checkpoint note %+v does not match %+v", c, cp)
	}
	return c
}

func hashes(ps [][32]byte) []ledger.Hash {
	out := make([]ledger.Hash, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func TestLedger_CheckpointsAndProofs(t *testing.T) {
	ctx := t.Context()
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	r := MustCreateRun(t, db, "acme")
	var cps []ledger.Checkpoint
	for i := range 40 {
		if err := db.AddEvent(ctx, &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventNote, Name: "n"}); err != nil {
			t.Fatal(err)
		}
		if i%7 == 3 {
			cp, err := db.SignCheckpoint(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			cps = append(cps, openCheckpoint(t, db, cp))
		}
	}
	cp, err := db.SignCheckpoint(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	last := openCheckpoint(t, db, cp)
	cps = append(cps, last)
	again, err := db.SignCheckpoint(ctx, "acme")
	if err != nil || again.Size != cp.Size || string(again.Note) != string(cp.Note) {
		t.Fatalf("unchanged log: SignCheckpoint = %+v, %v; want the latest", again, err)
	}
	latest, err := db.LatestCheckpoint(ctx, "acme")
	if err != nil || latest.Size != 41 || string(latest.Note) != string(cp.Note) {
		t.Fatalf("LatestCheckpoint = %+v, %v", latest, err)
	}

	entries := mustEntries(t, db, "acme")
	leaves := make([][32]byte, len(entries))
	for i, b := range entries {
		leaves[i] = leafHash(b)
	}
	for _, c := range cps {
		if want := mth(leaves[:c.Size]); c.Hash != want {
			t.Errorf("checkpoint at %d: root %x, independent computation %x", c.Size, c.Hash, want)
		}
		for _, i := range []int64{0, c.Size / 2, c.Size - 1} {
			p, err := db.InclusionProof(ctx, "acme", i, c.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.VerifyInclusion(i, c.Size, leaves[i], hashes(p), c.Hash); err != nil {
				t.Errorf("inclusion of %d in %d: %v", i, c.Size, err)
			}
		}
		p, err := db.ConsistencyProof(ctx, "acme", c.Size, last.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := ledger.VerifyConsistency(c.Size, last.Size, hashes(p), c.Hash, last.Hash); err != nil {
			t.Errorf("consistency %d -> %d: %v", c.Size, last.Size, err)
		}
		start, end := c.Size/3, c.Size/3+c.Size/2
		p, err = db.RangeProof(ctx, "acme", start, end, c.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := ledger.VerifyRange(start, end, c.Size, hashes(leaves[start:end]), hashes(p), c.Hash); err != nil {
			t.Errorf("range [%d, %d) in %d: %v", start, end, c.Size, err)
		}
	}
	t.Run("History", func(t *testing.T) {
		// Every checkpoint signed is listed, largest first, with its
		// note as issued; before and limit page through them.
		var all []auditshot.Checkpoint
		for before := int64(0); ; {
			page, err := db.Checkpoints(ctx, "acme", before, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 2 {
				t.Fatalf("limit 2: %d checkpoints", len(page))
			}
			all = append(all, page...)
			before = page[len(page)-1].Size
		}
		if len(all) != len(cps) {
			t.Fatalf("Checkpoints listed %d, signed %d", len(all), len(cps))
		}
		for i, got := range all {
			want := cps[len(cps)-1-i]
			if got.Size != want.Size || got.RootHash != want.Hash || got.Origin != want.Origin || got.Time.IsZero() {
				t.Errorf("checkpoint %d: size %d root %x origin %q at %v; want size %d root %x origin %q",
					i, got.Size, got.RootHash, got.Origin, got.Time, want.Size, want.Hash, want.Origin)
			}
			if c := openCheckpoint(t, db, &got); c.Size != want.Size || c.Hash != want.Hash {
				t.Errorf("checkpoint %d: its note states %+v, want %+v", i, c, want)
			}
		}
		if got, err := db.Checkpoints(ctx, "acme", 0, 0); err != nil || len(got) != len(cps) {
			t.Errorf("default limit: %d checkpoints, %v", len(got), err)
		}
		_, err := db.Checkpoints(ctx, "nobody", 0, 0)
		wantCode(t, err, auditshot.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := db.InclusionProof(ctx, "acme", 5, 42)
		wantCode(t, err, auditshot.EINVALID)
		_, err = db.InclusionProof(ctx, "acme", 5, 5)
		wantCode(t, err, auditshot.EINVALID)
		_, err = db.ConsistencyProof(ctx, "acme", 6, 5)
		wantCode(t, err, auditshot.EINVALID)
		_, err = db.RangeProof(ctx, "acme", 3, 3, 5)
		wantCode(t, err, auditshot.EINVALID)
		_, err = db.Entries(ctx, "acme", 0, 42)
		wantCode(t, err, auditshot.EINVALID)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := db.SignCheckpoint(ctx, "nobody")
		wantCode(t, err, auditshot.ENOTFOUND)
		_, err = db.LatestCheckpoint(ctx, "nobody")
		wantCode(t, err, auditshot.ENOTFOUND)
	})
	if err := db.Verify(ctx, "acme"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestCheckpointAll(t *testing.T) {
	ctx := t.Context()
	db := MustOpenDB(t)
	for _, id := range []string{"a", "b", "c"} {
		MustCreateTenant(t, db, id)
	}
	MustCreateRun(t, db, "a")
	MustCreateRun(t, db, "b")
	n, err := db.CheckpointAll(ctx)
	if err != nil || n != 2 {
		t.Fatalf("first tick signed %d, %v; want 2 (c has no entries)", n, err)
	}
	n, err = db.CheckpointAll(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second tick signed %d, %v; want 0", n, err)
	}
	MustCreateRun(t, db, "b")
	n, err = db.CheckpointAll(ctx)
	if err != nil || n != 1 {
		t.Fatalf("third tick signed %d, %v; want 1", n, err)
	}
	cp, err := db.LatestCheckpoint(ctx, "b")
	if err != nil || cp.Size != 2 {
		t.Fatalf("latest of b = %+v, %v", cp, err)
	}
	t.Run("ErrUnavailable", func(t *testing.T) {
		cfg := testConfig()
		cfg.Signer = nil
		db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "x.db"), cfg)
		_, err := db.CheckpointAll(ctx)
		wantCode(t, err, auditshot.EUNAVAILABLE)
		_, err = db.SignCheckpoint(ctx, "a")
		wantCode(t, err, auditshot.EUNAVAILABLE)
	})
	t.Run("Ticks", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		tick := make(chan time.Time) // unbuffered: a send returns once the loop is waiting again
		done := make(chan error, 1)
		go func() { done <- db.RunCheckpointerTicks(ctx, tick) }()
		MustCreateRun(t, db, "c")
		tick <- time.Time{}
		tick <- time.Time{} // the first tick has been handled
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("loop returned %v", err)
		}
		cp, err := db.LatestCheckpoint(t.Context(), "c")
		if err != nil || cp.Size != 1 {
			t.Fatalf("latest of c = %+v, %v", cp, err)
		}
	})
	t.Run("Loop", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := db.RunCheckpointer(ctx, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("RunCheckpointer = %v, want context.Canceled", err)
		}
	})
}

func TestVerify_Tampered(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      string
	}{
		{"EntryByte", `UPDATE ledger_entries SET entry = CAST(replace(CAST(entry AS TEXT), 'n', 'N') AS BLOB) WHERE idx = 3`, "entry 3"},
		{"EntryValue", `UPDATE ledger_entries SET entry = CAST(replace(CAST(entry AS TEXT), 'succeeded', 'failed') AS BLOB) WHERE idx = 3`, "entry 3: its bytes do not match"},
		{"EntryRemoved", `DELETE FROM ledger_entries WHERE idx = 2`, "entry 2 is missing"},
		{"HashChanged", `UPDATE ledger_hashes SET hash = zeroblob(32) WHERE id = 1`, "stored hash 1"},
		{"CheckpointRoot", `UPDATE ledger_checkpoints SET root_hash = zeroblob(32)`, "checkpoint of size"},
		{"CheckpointNote", `UPDATE ledger_checkpoints SET note = CAST(replace(CAST(note AS TEXT), 'auditshot.test', 'auditshot.evil') AS BLOB)`, "checkpoint of size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "t.db")
			db := MustOpenDBAt(t, path, testConfig())
			MustCreateTenant(t, db, "acme")
			writeAll(t, db, "acme")
			if _, err := db.SignCheckpoint(ctx, "acme"); err != nil {
				t.Fatal(err)
			}
			if err := db.Verify(ctx, "acme"); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tamper(t, path, tc.sql)
			err := db.Verify(ctx, "acme")
			if !errors.Is(err, sqlite.ErrLedgerCorrupt) || !strings.Contains(auditshot.ErrorMessage(err), tc.want) {
				t.Fatalf("Verify = %v; want ErrLedgerCorrupt naming %q", err, tc.want)
			}
		})
	}
}

// tamper changes the database behind the store's back, as someone with the
// file could, dropping the triggers that refuse it.
func tamper(t *testing.T, path, stmt string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range []string{
		`DROP TRIGGER ledger_entries_immutable`, `DROP TRIGGER ledger_entries_append_only`,
		`DROP TRIGGER ledger_hashes_immutable`, stmt,
	} {
		res, err := raw.Exec(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if strings.HasPrefix(s, "DROP") {
			continue
		}
		if n, _ := res.RowsAffected(); n == 0 {
			t.Fatalf("%s changed nothing", s)
		}
	}
}

func TestLedger_Immutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db := MustOpenDBAt(t, path, testConfig())
	MustCreateTenant(t, db, "acme")
	MustCreateRun(t, db, "acme")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range []string{
		`UPDATE ledger_entries SET entry = x'00'`, `DELETE FROM ledger_entries`,
		`UPDATE ledger_hashes SET hash = zeroblob(32)`, `DELETE FROM ledger_hashes`,
	} {
		if _, err := raw.Exec(s); err == nil {
			t.Errorf("%s succeeded; the triggers should refuse it", s)
		}
	}
}
