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
			{ID: "ok", Name: "x", RetentionDays: -1},
			{ID: "ok", Name: "x", Egress: auditshot.EgressPolicy{Allow: []string{"10.0.0.0/8", "bad host"}}},
			{ID: "ok", Name: "x", Egress: auditshot.EgressPolicy{Allow: []string{""}}},
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
		if _, err := db.RevokeAPIKey(t.Context(), "acme", key.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.Authenticate(t.Context(), secret)
		wantCode(t, err, auditshot.EUNAUTHORIZED)
		if _, err := db.RevokeAPIKey(t.Context(), "acme", key.ID); err != nil {
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
		_, err = db.RevokeAPIKey(t.Context(), "other", key.ID)
		wantCode(t, err, auditshot.ENOTFOUND)
		_, err = db.RevokeAPIKey(t.Context(), "acme", "nokey")
		wantCode(t, err, auditshot.ENOTFOUND)
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

func TestListTenants(t *testing.T) {
	db := MustOpenDB(t)
	if ts, err := db.ListTenants(t.Context()); err != nil || len(ts) != 0 {
		t.Fatalf("empty store lists %v, %v", ts, err)
	}
	b, c, a := MustCreateTenant(t, db, "b"), MustCreateTenant(t, db, "c"), MustCreateTenant(t, db, "a")
	want := []*auditshot.Tenant{a, b, c} // by id, not by creation
	got, err := db.ListTenants(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("ListTenants (-got +want):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpdateTenant(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		want := MustCreateTenant(t, db, "acme")
		before := len(mustEntries(t, db, "acme"))
		pro := auditshot.Plan{Name: "pro", CapturesPerMonth: 1000, CapturesPerMinute: 5}
		got, err := db.UpdateTenant(t.Context(), "acme", "key1", auditshot.TenantUpdate{
			Name:   ptr(want.Name), // unchanged: not in the entry
			Plan:   &pro,
			Egress: &auditshot.EgressPolicy{Allow: []string{"10.0.0.0/8", "intranet.example"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want.Plan, want.Egress.Allow = pro, []string{"10.0.0.0/8", "intranet.example"}
		if got.Ledger == nil || got.Ledger.Index != int64(before) {
			t.Errorf("UpdateTenant's entry %+v, want index %d", got.Ledger, before)
		}
		want.Ledger = got.Ledger
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("UpdateTenant (-got +want):\n%s", diff)
		}
		found, err := db.FindTenant(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		want.Ledger = nil // the entry is the update's answer, not stored
		if diff := cmp.Diff(found, want); diff != "" {
			t.Errorf("FindTenant after update (-got +want):\n%s", diff)
		}
		entries := mustEntries(t, db, "acme")
		if len(entries) != before+1 {
			t.Fatalf("%d entries, want %d", len(entries), before+1)
		}
		e, err := ledger.Parse(entries[before])
		if err != nil {
			t.Fatal(err)
		}
		wantData := `{"egress":{"allow":["10.0.0.0/8","intranet.example"]},"plan":{"captures_per_minute":5,"captures_per_month":1000,"name":"pro"}}`
		if e.Type != ledger.TypePolicyChanged || e.Actor != "key1" || string(e.Data) != wantData {
			t.Errorf("entry type %s actor %q data %s; want %s by key1 with %s", e.Type, e.Actor, e.Data, ledger.TypePolicyChanged, wantData)
		}
		if err := db.Verify(t.Context(), "acme"); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})
	t.Run("EveryField", func(t *testing.T) {
		db := MustOpenDB(t)
		tn := &auditshot.Tenant{ID: "acme", Name: "Acme", Egress: auditshot.EgressPolicy{Allow: []string{"10.0.0.0/8"}}}
		if err := db.CreateTenant(t.Context(), tn); err != nil {
			t.Fatal(err)
		}
		got, err := db.UpdateTenant(t.Context(), "acme", "", auditshot.TenantUpdate{Name: ptr("Acme Ltd"),
			RetentionDays: ptr(90), Egress: &auditshot.EgressPolicy{}, AllowScripts: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Acme Ltd" || got.RetentionDays != 90 || len(got.Egress.Allow) != 0 || !got.AllowScripts {
			t.Errorf("UpdateTenant = %+v", got)
		}
		e, err := ledger.Parse(mustEntries(t, db, "acme")[0])
		if err != nil {
			t.Fatal(err)
		}
		wantData := `{"allow_scripts":true,"egress":{"allow":[]},"name":"Acme Ltd","retention_days":90}`
		if e.Actor != "" || string(e.Data) != wantData {
			t.Errorf("entry actor %q data %s; want none and %s", e.Actor, e.Data, wantData)
		}
	})
	t.Run("Offline", func(t *testing.T) {
		// Turning the offline policy on and off is applied and recorded
		// with the allowlist it leaves.
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		for i, step := range []struct {
			egress   auditshot.EgressPolicy
			wantData string
		}{
			{auditshot.EgressPolicy{Offline: true}, `{"egress":{"allow":[],"offline":true}}`},
			{auditshot.EgressPolicy{Allow: []string{"10.0.0.0/8"}}, `{"egress":{"allow":["10.0.0.0/8"],"offline":false}}`},
		} {
			got, err := db.UpdateTenant(t.Context(), "acme", "key1", auditshot.TenantUpdate{Egress: &step.egress})
			if err != nil {
				t.Fatal(err)
			}
			found, err := db.FindTenant(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			if got.Egress.Offline != step.egress.Offline || found.Egress.Offline != step.egress.Offline {
				t.Errorf("step %d: offline %v (stored %v), want %v", i, got.Egress.Offline, found.Egress.Offline, step.egress.Offline)
			}
			e, err := ledger.Parse(mustEntries(t, db, "acme")[i])
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Data) != step.wantData {
				t.Errorf("step %d: entry data %s, want %s", i, e.Data, step.wantData)
			}
		}
	})
	t.Run("NoChange", func(t *testing.T) {
		db := MustOpenDB(t)
		tn := MustCreateTenant(t, db, "acme")
		got, err := db.UpdateTenant(t.Context(), "acme", "key1", auditshot.TenantUpdate{Plan: &tn.Plan, AllowScripts: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, tn); diff != "" {
			t.Errorf("UpdateTenant (-got +want):\n%s", diff)
		}
		if n := len(mustEntries(t, db, "acme")); n != 0 {
			t.Errorf("%d entries after an update that changed nothing, want 0", n)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		tn := MustCreateTenant(t, db, "acme")
		for _, u := range []auditshot.TenantUpdate{
			{Name: ptr("")},
			{Name: ptr(strings.Repeat("x", 257))},
			{Plan: &auditshot.Plan{CapturesPerMinute: -1}},
			{RetentionDays: ptr(-1)},
			{Egress: &auditshot.EgressPolicy{Allow: []string{"ok.example", ""}}},
			{Egress: &auditshot.EgressPolicy{Allow: []string{"10.0.0.0/8 evil"}}},
			{AllowScripts: ptr(true), RetentionDays: ptr(-5)}, // nothing of a bad update applies
		} {
			_, err := db.UpdateTenant(t.Context(), "acme", "key1", u)
			wantCode(t, err, auditshot.EINVALID)
		}
		if n := len(mustEntries(t, db, "acme")); n != 0 {
			t.Errorf("%d entries after refused updates, want 0", n)
		}
		if got, err := db.FindTenant(t.Context(), "acme"); err != nil || !cmp.Equal(got, tn) {
			t.Errorf("tenant after refused updates = %+v, %v", got, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		_, err := db.UpdateTenant(t.Context(), "nobody", "", auditshot.TenantUpdate{AllowScripts: ptr(true)})
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}

func TestListAPIKeys(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	var want []*auditshot.APIKey
	for _, name := range []string{"ci", "admin", "auditor"} {
		k, _, err := db.CreateAPIKey(t.Context(), "acme", name, []auditshot.Scope{auditshot.ScopeRead})
		if err != nil {
			t.Fatal(err)
		}
		k.SecretHash, k.Ledger = "", nil // listed keys carry no entry
		want = append(want, k)
	}
	if _, _, err := db.CreateAPIKey(t.Context(), "other", "theirs", []auditshot.Scope{auditshot.ScopeRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RevokeAPIKey(t.Context(), "acme", want[1].ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListAPIKeys(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].RevokedAt == nil {
		t.Fatalf("ListAPIKeys = %+v; want 3 keys, the second revoked", got)
	}
	want[1].RevokedAt = got[1].RevokedAt
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("ListAPIKeys (-got +want):\n%s", diff)
	}
	if keys, err := db.ListAPIKeys(t.Context(), "nobody"); err != nil || len(keys) != 0 {
		t.Errorf("unknown tenant lists %v, %v", keys, err)
	}
}
