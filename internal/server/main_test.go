package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/internal/servertest"
)

// engine is shared by the tests: starting Chromium is the slow part.
var engine *chromium.Engine

func TestMain(m *testing.M) {
	var err error
	if engine, err = servertest.NewEngine(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		os.Exit(1)
	}
	code := m.Run()
	engine.Close()
	os.Exit(code)
}

// testServer is a running service on 127.0.0.1 with its own data.
type testServer struct{ *servertest.Server }

type serverOption = func(*server.Config)

// startServer starts the service on fresh data; it shuts down when the
// test ends.
func startServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	return &testServer{servertest.Start(t, engine, opts...)}
}

// response is an answer the tests look at.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode returns the code of an error answer.
func (r response) errorCode() string {
	var e struct {
		Error struct{ Code, Message, RequestID string } `json:"error"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// call sends a request with key (none if ""), a JSON body (a string is
// sent as is) and extra headers as name, value pairs.
func (s *testServer) call(t testing.TB, method, path, key string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// must sends a request and fails the test unless the status is want.
func (s *testServer) must(t testing.TB, want int, method, path, key string, body any, headers ...string) response {
	t.Helper()
	r := s.call(t, method, path, key, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// tenant makes a tenant through the API and returns its admin key and
// webhook secret.
func (s *testServer) tenant(t testing.TB, id string, plan any, allow ...string) (adminKey, webhookSecret string) {
	t.Helper()
	req := map[string]any{"id": id, "name": "Tenant " + id, "admin_key": true, "egress": map[string]any{"allow": allow}}
	if plan != nil {
		req["plan"] = plan
	}
	var out struct {
		WebhookSecret string `json:"webhook_secret"`
		AdminKey      struct {
			Secret string `json:"secret"`
		} `json:"admin_key"`
	}
	s.must(t, http.StatusCreated, "POST", "/v1/tenants", s.Admin, req).json(t, &out)
	return out.AdminKey.Secret, out.WebhookSecret
}

// key makes a key of the tenant with the scopes.
func (s *testServer) key(t testing.TB, tenant string, scopes ...auditshot.Scope) string {
	t.Helper()
	_, secret, err := s.DB.CreateAPIKey(t.Context(), tenant, "test "+fmt.Sprint(scopes), scopes)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// page serves HTML on 127.0.0.1 until the test ends.
func page(t testing.TB, html string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// eventually waits until cond holds, checking every few milliseconds,
// and fails the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
