package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/client"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// engine is the one capture engine of the test binary: starting Chromium
// is slow, and every test server shares it.
var engine *chromium.Engine

var discard = slog.New(slog.DiscardHandler)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	eng, err := chromium.New(chromium.Config{Egress: egress.New(egress.Config{Logger: discard}), Concurrency: 2, Logger: discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, "chromium:", err)
		return 1
	}
	defer eng.Close()
	if err := eng.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		return 1
	}
	engine = eng
	return m.Run()
}

// originBase is the test servers' log origin base and key name.
const originBase = "auditshot-test"

// testServer is a running auditshot service of one test.
type testServer struct {
	URL string
	// AdminKey is the bootstrap admin key of the operator tenant.
	AdminKey string
	// VKey is the verifier key of the log signing key: the key a caller
	// pins.
	VKey string
	// Origin is the operator tenant's log origin.
	Origin string
}

// startServer starts the real service (SQLite, file blobs, the shared
// Chromium engine) on 127.0.0.1:0 with a fresh data directory. Its
// operator tenant may capture 127.0.0.1.
func startServer(tb testing.TB) *testServer {
	tb.Helper()
	ctx := tb.Context()
	dir := tb.TempDir()
	skey, vkey, err := ledger.GenerateKey(originBase)
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
	db, err := sqlite.Open(ctx, filepath.Join(dir, "auditshot.db"), sqlite.Config{
		Signer: signer, Verifier: verifier, PublicKey: vkey, OriginBase: originBase, Logger: discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	blobs, err := file.New(file.Config{Dir: filepath.Join(dir, "blobs"), Logger: discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { blobs.Close() })
	webhookKey := make([]byte, 32)
	rand.Read(webhookKey)
	srv, err := server.Start(ctx, server.Config{DB: db, Blobs: blobs, Engine: engine, Addr: "127.0.0.1:0",
		Allow: []string{"127.0.0.1"}, WebhookKey: webhookKey, Logger: discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	if srv.BootstrapKey == "" {
		tb.Fatal("no bootstrap key on first start")
	}
	return &testServer{URL: srv.URL, AdminKey: srv.BootstrapKey, VKey: vkey, Origin: originBase + "/" + server.OperatorTenant}
}

// newClient returns a client of the server with key.
func newClient(tb testing.TB, url, key string) *client.Client {
	tb.Helper()
	c, err := client.New(client.Config{BaseURL: url, APIKey: key})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// admin returns a client with the operator tenant's admin key.
func (s *testServer) admin(tb testing.TB) *client.Client {
	tb.Helper()
	return newClient(tb, s.URL, s.AdminKey)
}

// testPage serves html on 127.0.0.1 and returns its URL.
func testPage(tb testing.TB, html string) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(html))
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/"
}

// wantCode fails the test unless err is an API error with code and HTTP
// status.
func wantCode(tb testing.TB, err error, code string, status int) {
	tb.Helper()
	var ae *client.Error
	switch {
	case err == nil:
		tb.Fatalf("got no error, want %s", code)
	case auditshot.ErrorCode(err) != code:
		tb.Fatalf("got %v, want code %s", err, code)
	case !errors.As(err, &ae):
		tb.Fatalf("got %T %v, want a *client.Error", err, err)
	case ae.Status != status:
		tb.Fatalf("got status %d, want %d (%v)", ae.Status, status, err)
	case ae.RequestID == "":
		tb.Fatalf("error %v has no request id", err)
	}
}
