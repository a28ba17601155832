package sqlite_test

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// testKey is the checkpoint key of every test store.
var testKey = sync.OnceValues(func() (note.Signer, note.Verifier) {
	skey, vkey, err := ledger.GenerateKey("auditshot-test")
	if err != nil {
		panic(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	return s, v
})

// fakeClock returns increasing times, a millisecond apart.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func testConfig() sqlite.Config {
	s, v := testKey()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return sqlite.Config{
		Now:        clock.Now,
		Signer:     s,
		Verifier:   v,
		OriginBase: "auditshot.test",
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// MustOpenDB opens a new store in a temporary directory, closed when the
// test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return MustOpenDBAt(tb, filepath.Join(tb.TempDir(), "auditshot.db"), testConfig())
}

// MustOpenDBAt opens the store at path, closed when the test ends.
func MustOpenDBAt(tb testing.TB, path string, cfg sqlite.Config) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, cfg)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db
}

// MustCreateTenant creates a tenant with the given id.
func MustCreateTenant(tb testing.TB, db *sqlite.DB, id string) *auditshot.Tenant {
	tb.Helper()
	t := &auditshot.Tenant{ID: id, Name: "Tenant " + id, Plan: auditshot.Plans["free"]}
	if err := db.CreateTenant(context.Background(), t); err != nil {
		tb.Fatalf("create tenant %s: %v", id, err)
	}
	return t
}

// MustCreateRun starts a run of the tenant.
func MustCreateRun(tb testing.TB, db *sqlite.DB, tenantID string) *auditshot.Run {
	tb.Helper()
	r := &auditshot.Run{TenantID: tenantID, Workflow: "refund",
		Agent: auditshot.Agent{ID: "agent-1", Model: "m1"}, Subject: "customer-42"}
	if err := db.CreateRun(context.Background(), r); err != nil {
		tb.Fatalf("create run: %v", err)
	}
	return r
}

// wantCode fails the test unless err has the given code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := auditshot.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// mustEntries returns every entry of the tenant's log.
func mustEntries(tb testing.TB, db *sqlite.DB, tenantID string) [][]byte {
	tb.Helper()
	ctx := context.Background()
	n, err := db.LogSize(ctx, tenantID)
	if err != nil {
		tb.Fatal(err)
	}
	if n == 0 {
		return nil
	}
	es, err := db.Entries(ctx, tenantID, 0, n)
	if err != nil {
		tb.Fatal(err)
	}
	return es
}

// mth is an independent RFC 6962 Merkle tree hash over leaf hashes.
func mth(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:]))
}

func leafHash(b []byte) [32]byte { return sha256.Sum256(slices.Concat([]byte{0}, b)) }

func TestOpen(t *testing.T) {
	t.Run("MigrationsIdempotent", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a.db")
		cfg := testConfig()
		db, err := sqlite.Open(t.Context(), path, cfg)
		if err != nil {
			t.Fatal(err)
		}
		MustCreateTenant(t, db, "acme")
		first, err := db.Migrations(t.Context())
		if err != nil || len(first) == 0 {
			t.Fatalf("migrations = %v, %v", first, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = MustOpenDBAt(t, path, cfg)
		again, err := db.Migrations(t.Context())
		if err != nil || !slices.Equal(first, again) {
			t.Fatalf("after reopen migrations = %v, %v; want %v", again, err, first)
		}
		if _, err := db.FindTenant(t.Context(), "acme"); err != nil {
			t.Fatalf("tenant lost on reopen: %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := sqlite.Open(t.Context(), "", sqlite.Config{})
		wantCode(t, err, auditshot.EINVALID)
	})
	t.Run("ClosedIsUnavailable", func(t *testing.T) {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "c.db"), testConfig())
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		err = db.CreateTenant(t.Context(), &auditshot.Tenant{ID: "x", Name: "x"})
		wantCode(t, err, auditshot.EUNAVAILABLE)
	})
}
