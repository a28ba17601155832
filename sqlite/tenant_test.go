package sqlite_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

func TestTenants(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		want := &auditshot.Tenant{ID: "acme", Name: "Acme", Plan: auditshot.Plans["free"], RetentionDays: 30,
			Egress: auditshot.EgressPolicy{Allow: []string{"10.0.0.0/8"}}, AllowScripts: true}
		if err := db.CreateTenant(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		if want.CreatedAt.IsZero() {
			t.Error("CreatedAt not set")
		}
		got, err := db.FindTenant(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("FindTenant (-got +want):\n%s", diff)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		wantCode(t, db.CreateTenant(t.Context(), &auditshot.Tenant{ID: "acme", Name: "again"}), auditshot.ECONFLICT)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		for _, tn := range []*auditshot.Tenant{
			{ID: "", Name: "x"}, {ID: "Bad ID", Name: "x"}, {ID: "ok"},
			{ID: "ok", Name: "x", Plan: auditshot.Plan{CapturesPerMonth: -1}},
		} {
			wantCode(t, db.CreateTenant(t.Context(), tn), auditshot.EINVALID)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		_, err := db.FindTenant(t.Context(), "nobody")
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}

func TestAPIKeys(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		key, secret, err := db.CreateAPIKey(t.Context(), "acme", "ci", []auditshot.Scope{auditshot.ScopeWrite})
		if err != nil {
			t.Fatal(err)
		}
		id, sec, err := auditshot.ParseAPIKey(secret)
		if err != nil || id != key.ID || len(sec) != 64 {
			t.Fatalf("key %q parses as %q, %d-char secret, %v", secret, id, len(sec), err)
		}
		if key.SecretHash != auditshot.HashSecret(sec) {
			t.Error("secret hash does not match the secret")
		}
		got, err := db.Authenticate(t.Context(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != key.ID || got.TenantID != "acme" || !got.Has(auditshot.ScopeRead) || got.Has(auditshot.ScopeAdmin) {
			t.Errorf("Authenticate = %+v", got)
		}
		entries := mustEntries(t, db, "acme")
		if len(entries) != 1 {
			t.Fatalf("%d entries, want 1", len(entries))
		}
		e, err := ledger.Parse(entries[0])
		if err != nil || e.Type != ledger.TypeKeyCreated || e.IDs[ledger.IDKey] != key.ID {
			t.Fatalf("entry = %+v, %v", e, err)
		}
		if strings.Contains(string(entries[0]), sec) || strings.Contains(string(entries[0]), key.SecretHash) {
			t.Error("the entry holds the secret or its hash")
		}
	})
	t.Run("Revoke", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		key, secret, err := db.CreateAPIKey(t.Context(), "acme", "ci", []auditshot.Scope{auditshot.ScopeRead})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeAPIKey(t.Context(), "acme", key.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.Authenticate(t.Context(), secret)
		wantCode(t, err, auditshot.EUNAUTHORIZED)
		if err := db.RevokeAPIKey(t.Context(), "acme", key.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		entries := mustEntries(t, db, "acme")
		if len(entries) != 2 {
			t.Fatalf("%d entries, want 2 (a second revoke writes none)", len(entries))
		}
		e, err := ledger.Parse(entries[1])
		if err != nil || e.Type != ledger.TypeKeyRevoked || e.IDs[ledger.IDKey] != key.ID {
			t.Fatalf("entry = %+v, %v", e, err)
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		_, secret, err := db.CreateAPIKey(t.Context(), "acme", "ci", []auditshot.Scope{auditshot.ScopeRead})
		if err != nil {
			t.Fatal(err)
		}
		// A wrong secret: the last hex digit changed (to another digit).
		last := "0"
		if strings.HasSuffix(secret, "0") {
			last = "1"
		}
		for _, k := range []string{"", "nonsense", secret[:len(secret)-1] + last, "ask_nokey_0123456789abcdef0123"} {
			_, err := db.Authenticate(t.Context(), k)
			wantCode(t, err, auditshot.EUNAUTHORIZED)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		MustCreateTenant(t, db, "other")
		_, _, err := db.CreateAPIKey(t.Context(), "nobody", "ci", []auditshot.Scope{auditshot.ScopeRead})
		wantCode(t, err, auditshot.ENOTFOUND)
		key, _, err := db.CreateAPIKey(t.Context(), "acme", "ci", []auditshot.Scope{auditshot.ScopeRead})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.RevokeAPIKey(t.Context(), "other", key.ID), auditshot.ENOTFOUND)
		wantCode(t, db.RevokeAPIKey(t.Context(), "acme", "nokey"), auditshot.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		_, _, err := db.CreateAPIKey(t.Context(), "acme", "", []auditshot.Scope{auditshot.ScopeRead})
		wantCode(t, err, auditshot.EINVALID)
		_, _, err = db.CreateAPIKey(t.Context(), "acme", "x", nil)
		wantCode(t, err, auditshot.EINVALID)
		_, _, err = db.CreateAPIKey(t.Context(), "acme", "x", []auditshot.Scope{"root"})
		wantCode(t, err, auditshot.EINVALID)
	})
}
