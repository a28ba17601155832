package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// withKey returns testConfig with a fresh signing key of the given name.
func withKey(t *testing.T, cfg sqlite.Config) (sqlite.Config, string) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey("auditshot.test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Signer, cfg.Verifier, cfg.PublicKey = s, v, vkey
	return cfg, vkey
}

func TestLogKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auditshot.db")
	cfg1, key1 := withKey(t, testConfig())
	db := MustOpenDBAt(t, path, cfg1)
	MustCreateTenant(t, db, "acme")
	MustCreateRun(t, db, "acme")
	if _, err := db.SignCheckpoint(ctx, "acme"); err != nil {
		t.Fatal(err)
	}

	t.Run("DeclaredFirst", func(t *testing.T) {
		entries, err := db.Entries(ctx, "acme", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		e, err := ledger.Parse(entries[0])
		if err != nil {
			t.Fatal(err)
		}
		var data struct{ Key, Fingerprint, Reason string }
		json.Unmarshal(e.Data, &data)
		if e.Type != ledger.TypeLogKey || data.Key != key1 || data.Reason != "declared" || data.Fingerprint == "" {
			t.Errorf("first entry %s %+v", e.Type, data)
		}
		before := db.Stats().Writes
		if n, err := db.RecordLogKeys(ctx); err != nil || n != 0 {
			t.Errorf("same key declared again: %d %v", n, err)
		}
		if w := db.Stats().Writes - before; w != 0 {
			t.Errorf("checking an unchanged key made %d writes", w)
		}
	})
	db.Close()

	t.Run("Rotation", func(t *testing.T) {
		cfg2, key2 := withKey(t, testConfig())
		db := MustOpenDBAt(t, path, cfg2)
		n, err := db.RecordLogKeys(ctx)
		if err != nil || n != 1 {
			t.Fatalf("rotation: %d %v", n, err)
		}
		keys, err := db.LogKeys(ctx, "acme")
		if err != nil || len(keys) != 2 || keys[0] != key1 || keys[1] != key2 {
			t.Fatalf("log keys %v %v", keys, err)
		}
		size, _ := db.LogSize(ctx, "acme")
		entries, _ := db.Entries(ctx, "acme", size-1, size)
		e, _ := ledger.Parse(entries[0])
		if e.Type != ledger.TypeLogKey || !json.Valid(e.Data) || !strings.Contains(string(e.Data), `"reason":"rotated"`) {
			t.Errorf("rotation entry %s %s", e.Type, e.Data)
		}
		cp, err := db.SignCheckpoint(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		v2, _ := ledger.NewVerifiers(key2)
		if _, _, err := ledger.OpenCheckpoint(cp.Note, cp.Origin, v2); err != nil {
			t.Errorf("new checkpoint not signed by the new key: %v", err)
		}
		// The checkpoint signed before the rotation still verifies.
		if err := db.Verify(ctx, "acme"); err != nil {
			t.Errorf("verify after rotation: %v", err)
		}
	})
}
