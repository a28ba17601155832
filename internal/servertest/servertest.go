// Package servertest starts the whole service for end-to-end tests: a
// fresh SQLite store, blob store and log key in a temporary directory,
// served on 127.0.0.1:0 with a capture engine the test binary shares.
package servertest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
	"github.com/auditshot/auditshot/video"
)

// OriginBase is the log origin base of the servers Start makes.
const OriginBase = "auditshot.test"

// NewEngine starts a capture engine for a test binary (in TestMain);
// the caller closes it.
func NewEngine(ctx context.Context) (*chromium.Engine, error) {
	log := slog.New(slog.DiscardHandler)
	eng, err := chromium.New(chromium.Config{Egress: egress.New(egress.Config{Logger: log}), Concurrency: 2, QueueSize: 64, Logger: log,
		Video: video.Service{Config: video.Config{Logger: log}}})
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return eng, nil
}

// Server is a running service and what it runs on.
type Server struct {
	*server.Server
	DB    *sqlite.DB
	Blobs *file.Store
	// Admin is the operator tenant's bootstrap admin key.
	Admin string
	// LogKey is the verifier key of the logs; Dir the data directory.
	LogKey string
	Dir    string
	// WebhookKey derives the tenants' webhook secrets.
	WebhookKey []byte
}

// Origin returns the log origin of a tenant.
func (s *Server) Origin(tenantID string) string { return OriginBase + "/" + tenantID }

// Start starts the service on fresh data with eng; opts may change its
// configuration first. By default loopback (127.0.0.1) is allowed to the
// operator tenant, webhooks retry after 50ms and nothing is logged. It
// shuts down, and its stores close, when the test ends.
func Start(tb testing.TB, eng *chromium.Engine, opts ...func(*server.Config)) *Server {
	tb.Helper()
	dir := tb.TempDir()
	skey, vkey, err := ledger.GenerateKey(OriginBase)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := ledger.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(tb.Context(), filepath.Join(dir, "auditshot.db"), sqlite.Config{Signer: signer, Verifier: verifier,
		PublicKey: vkey, OriginBase: OriginBase, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := file.New(file.Config{Dir: filepath.Join(dir, "blobs"), Logger: log})
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	cfg := server.Config{DB: db, Blobs: blobs, Engine: eng, Addr: "127.0.0.1:0", Allow: []string{"127.0.0.1"},
		WebhookKey: key, WebhookBackoff: 50 * time.Millisecond, CheckpointInterval: time.Hour, Logger: log, Version: "test"}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.Start(tb.Context(), cfg)
	if err != nil {
		db.Close()
		blobs.Close()
		tb.Fatal(err)
	}
	if srv.BootstrapKey == "" {
		tb.Fatal("no bootstrap key on first start")
	}
	tb.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		db.Close()
		blobs.Close()
	})
	return &Server{Server: srv, DB: db, Blobs: blobs, Admin: srv.BootstrapKey, LogKey: vkey, Dir: dir, WebhookKey: key}
}

// Unzip returns the files of a zip archive (an evidence bundle) by name.
func Unzip(tb testing.TB, b []byte) map[string][]byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}
