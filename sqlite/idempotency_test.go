package sqlite_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/sqlite"
)

func TestIdempotency(t *testing.T) {
	setup := func(t *testing.T) *sqlite.DB {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		MustCreateTenant(t, db, "other")
		return db
	}
	claim := func(t *testing.T, db *sqlite.DB, tenantID, key, fingerprint string) *auditshot.IdempotentResponse {
		t.Helper()
		r, err := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: tenantID, Key: key, Fingerprint: fingerprint})
		if err != nil {
			t.Fatalf("claim %s/%s: %v", tenantID, key, err)
		}
		return r
	}
	answer := func(r *auditshot.IdempotentResponse) *auditshot.IdempotentResponse {
		a := *r
		a.Status, a.ContentType = 201, "application/json"
		a.Headers = map[string]string{"Auditshot-Ledger-Index": "7"}
		a.Body = []byte(`{"id":"run-1"}`)
		return &a
	}
	t.Run("OK", func(t *testing.T) {
		db := setup(t)
		first := claim(t, db, "acme", "k1", "POST /v1/runs abc")
		if first.Status != 0 || first.CreatedAt.IsZero() || first.Fingerprint != "POST /v1/runs abc" {
			t.Fatalf("claim = %+v", first)
		}
		// A second claim, whatever its request, gets the first claim back.
		got, err := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k1", Fingerprint: "other"})
		wantCode(t, err, auditshot.ECONFLICT)
		if diff := cmp.Diff(got, first); diff != "" {
			t.Errorf("second claim (-got +want):\n%s", diff)
		}

		done := answer(first)
		if err := db.CompleteIdempotencyKey(t.Context(), done); err != nil {
			t.Fatal(err)
		}
		got, err = db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k1", Fingerprint: "POST /v1/runs abc"})
		wantCode(t, err, auditshot.ECONFLICT)
		if diff := cmp.Diff(got, done); diff != "" {
			t.Errorf("claim of an answered key (-got +want):\n%s", diff)
		}
		// Keys are per tenant.
		claim(t, db, "other", "k1", "x")
	})
	t.Run("Release", func(t *testing.T) {
		db := setup(t)
		claim(t, db, "acme", "k1", "f")
		if err := db.ReleaseIdempotencyKey(t.Context(), "acme", "k1"); err != nil {
			t.Fatal(err)
		}
		second := claim(t, db, "acme", "k1", "f2")
		if err := db.CompleteIdempotencyKey(t.Context(), answer(second)); err != nil {
			t.Fatal(err)
		}
		// An answered key is not released.
		if err := db.ReleaseIdempotencyKey(t.Context(), "acme", "k1"); err != nil {
			t.Fatal(err)
		}
		got, err := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k1"})
		wantCode(t, err, auditshot.ECONFLICT)
		if got == nil || got.Status != 201 || got.Fingerprint != "f2" {
			t.Errorf("answered record after release = %+v", got)
		}
		// Another tenant cannot release acme's claim.
		claim(t, db, "acme", "k2", "f")
		if err := db.ReleaseIdempotencyKey(t.Context(), "other", "k2"); err != nil {
			t.Fatal(err)
		}
		_, err = db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k2"})
		wantCode(t, err, auditshot.ECONFLICT)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := setup(t)
		done := answer(claim(t, db, "acme", "k1", "f"))
		if err := db.CompleteIdempotencyKey(t.Context(), done); err != nil {
			t.Fatal(err)
		}
		again := *done
		again.Status = 500
		wantCode(t, db.CompleteIdempotencyKey(t.Context(), &again), auditshot.ECONFLICT)
		got, _ := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k1"})
		if got == nil || got.Status != 201 {
			t.Errorf("the first answer was overwritten: %+v", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := setup(t)
		wantCode(t, db.CompleteIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "never", Status: 200}), auditshot.ENOTFOUND)
		done := answer(claim(t, db, "acme", "k1", "f"))
		done.TenantID = "other"
		wantCode(t, db.CompleteIdempotencyKey(t.Context(), done), auditshot.ENOTFOUND)
		_, err := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "nobody", Key: "k1"})
		wantCode(t, err, auditshot.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := setup(t)
		_, err := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme"})
		wantCode(t, err, auditshot.EINVALID)
		claim(t, db, "acme", "k1", "f")
		wantCode(t, db.CompleteIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k1"}), auditshot.EINVALID)
	})
	t.Run("Concurrent", func(t *testing.T) {
		db := setup(t)
		const workers = 20
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won, lost int
			others    []error
		)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "acme", Key: "k1"})
				mu.Lock()
				defer mu.Unlock()
				switch auditshot.ErrorCode(err) {
				case "":
					won++
				case auditshot.ECONFLICT:
					lost++
				default:
					others = append(others, err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || lost != workers-1 || len(others) > 0 {
			t.Errorf("%d claims won, %d lost, errors %v; want 1 and %d", won, lost, others, workers-1)
		}
	})
	t.Run("Purge", func(t *testing.T) {
		db := setup(t)
		old := claim(t, db, "acme", "old", "f")
		if err := db.CompleteIdempotencyKey(t.Context(), answer(old)); err != nil {
			t.Fatal(err)
		}
		recent := claim(t, db, "other", "recent", "f")
		if err := db.CompleteIdempotencyKey(t.Context(), answer(recent)); err != nil {
			t.Fatal(err)
		}
		claim(t, db, "acme", "pending", "f")

		n, err := db.PurgeIdempotencyKeys(t.Context(), recent.CreatedAt)
		if err != nil || n != 1 {
			t.Fatalf("purge before the recent answer deleted %d, %v; want 1", n, err)
		}
		claim(t, db, "acme", "old", "f") // purged: claimable again
		_, err = db.ClaimIdempotencyKey(t.Context(), &auditshot.IdempotentResponse{TenantID: "other", Key: "recent"})
		wantCode(t, err, auditshot.ECONFLICT)

		// Later, unanswered claims go too: a server that stopped
		// mid-request left them, and their keys become usable again.
		n, err = db.PurgeIdempotencyKeys(t.Context(), recent.CreatedAt.Add(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("second purge deleted %d, %v; want 3 (the recent answer and both claims)", n, err)
		}
		claim(t, db, "acme", "pending", "f")
	})
}
