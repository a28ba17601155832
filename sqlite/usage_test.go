package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/sqlite"
)

func TestUsage(t *testing.T) {
	setup := func(t *testing.T) *sqlite.DB {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		MustCreateTenant(t, db, "other")
		return db
	}
	usage := func(t *testing.T, db *sqlite.DB, tenantID, period string) int64 {
		t.Helper()
		u, err := db.Usage(t.Context(), tenantID, period)
		if err != nil {
			t.Fatal(err)
		}
		return u.Captures
	}
	t.Run("OK", func(t *testing.T) {
		db := setup(t)
		if n := usage(t, db, "acme", "2026-11"); n != 0 {
			t.Fatalf("usage before any capture = %d", n)
		}
		for i := int64(1); i <= 3; i++ {
			u, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 3)
			if err != nil {
				t.Fatal(err)
			}
			want := auditshot.Usage{TenantID: "acme", Period: "2026-11", Captures: i, Limit: 3}
			if diff := cmp.Diff(u, want); diff != "" {
				t.Errorf("reservation %d (-got +want):\n%s", i, diff)
			}
		}
		got, err := db.Usage(t.Context(), "acme", "2026-11")
		want := auditshot.Usage{TenantID: "acme", Period: "2026-11", Captures: 3}
		if diff := cmp.Diff(got, want); err != nil || diff != "" {
			t.Errorf("Usage (-got +want): %v\n%s", err, diff)
		}
		// Other periods and tenants count apart.
		if _, err := db.ReserveCapture(t.Context(), "acme", "2026-12", 3); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReserveCapture(t.Context(), "other", "2026-11", 3); err != nil {
			t.Fatal(err)
		}
		if n := usage(t, db, "acme", "2026-11"); n != 3 {
			t.Errorf("usage = %d, want 3", n)
		}
	})
	t.Run("ErrQuota", func(t *testing.T) {
		db := setup(t)
		for range 2 {
			if _, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 2); err != nil {
				t.Fatal(err)
			}
		}
		u, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 2)
		wantCode(t, err, auditshot.EQUOTA)
		if msg := auditshot.ErrorMessage(err); msg != "monthly capture quota of 2 is spent for 2026-11" {
			t.Errorf("message = %q", msg)
		}
		if u.Captures != 2 || u.Limit != 2 {
			t.Errorf("usage with EQUOTA = %+v", u)
		}
		if n := usage(t, db, "acme", "2026-11"); n != 2 {
			t.Errorf("usage after refusal = %d, want 2", n)
		}
		// A release gives one back; a raised limit allows more.
		if err := db.ReleaseCapture(t.Context(), "acme", "2026-11"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 2); err != nil {
			t.Errorf("after a release: %v", err)
		}
		if u, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 0); err != nil || u.Captures != 3 {
			t.Errorf("without a limit: %+v, %v", u, err)
		}
	})
	t.Run("ReleaseNotBelowZero", func(t *testing.T) {
		db := setup(t)
		if err := db.ReleaseCapture(t.Context(), "acme", "2026-11"); err != nil {
			t.Fatalf("release without reservations: %v", err)
		}
		if _, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 5); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := db.ReleaseCapture(t.Context(), "acme", "2026-11"); err != nil {
				t.Fatal(err)
			}
		}
		if n := usage(t, db, "acme", "2026-11"); n != 0 {
			t.Errorf("usage = %d, want 0", n)
		}
		u, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 5)
		if err != nil || u.Captures != 1 {
			t.Errorf("reserve after over-release = %+v, %v; want 1 capture", u, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		db := setup(t)
		const workers, limit = 50, 10
		var (
			wg             sync.WaitGroup
			mu             sync.Mutex
			ok, refused    int
			maxSeen        int64
			unexpectedErrs []error
		)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := db.ReserveCapture(t.Context(), "acme", "2026-11", limit)
				mu.Lock()
				defer mu.Unlock()
				switch auditshot.ErrorCode(err) {
				case "":
					ok++
					maxSeen = max(maxSeen, u.Captures)
				case auditshot.EQUOTA:
					refused++
				default:
					unexpectedErrs = append(unexpectedErrs, err)
				}
			}()
		}
		wg.Wait()
		if len(unexpectedErrs) > 0 {
			t.Fatalf("unexpected errors: %v", unexpectedErrs)
		}
		if ok != limit || refused != workers-limit || maxSeen != limit {
			t.Errorf("%d reserved (max count %d), %d refused; want %d and %d", ok, maxSeen, refused, limit, workers-limit)
		}
		if n := usage(t, db, "acme", "2026-11"); n != limit {
			t.Errorf("usage = %d, want %d", n, limit)
		}
	})
	t.Run("Durable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "auditshot.db")
		cfg := testConfig()
		db, err := sqlite.Open(t.Context(), path, cfg)
		if err != nil {
			t.Fatal(err)
		}
		MustCreateTenant(t, db, "acme")
		if _, err := db.ReserveCapture(t.Context(), "acme", "2026-11", 1); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = MustOpenDBAt(t, path, cfg)
		_, err = db.ReserveCapture(t.Context(), "acme", "2026-11", 1)
		wantCode(t, err, auditshot.EQUOTA)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := setup(t)
		for _, p := range []string{"", "2026-1", "2026-13", "2026-11-01", "11-2026"} {
			_, err := db.ReserveCapture(t.Context(), "acme", p, 1)
			wantCode(t, err, auditshot.EINVALID)
			wantCode(t, db.ReleaseCapture(t.Context(), "acme", p), auditshot.EINVALID)
			_, err = db.Usage(t.Context(), "acme", p)
			wantCode(t, err, auditshot.EINVALID)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := setup(t)
		_, err := db.ReserveCapture(t.Context(), "nobody", "2026-11", 1)
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}
