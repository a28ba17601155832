package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/client"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/internal/servertest"
)

// engine is the one capture engine of the test binary: starting Chromium
// is slow, and every test server shares it.
var engine *chromium.Engine

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	eng, err := servertest.NewEngine(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		return 1
	}
	defer eng.Close()
	engine = eng
	return m.Run()
}

// originBase is the test servers' log origin base and key name.
const originBase = servertest.OriginBase

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

// startServer starts the real service (internal/server) on 127.0.0.1:0
// with its own SQLite store, blob store and log key; it shuts down when the
// test ends.
func startServer(tb testing.TB) *testServer {
	tb.Helper()
	srv := servertest.Start(tb, engine)
	return &testServer{URL: srv.URL, AdminKey: srv.Admin, VKey: srv.LogKey, Origin: srv.Origin(server.OperatorTenant)}
}

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
