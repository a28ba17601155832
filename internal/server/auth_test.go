package server_test

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/httpapi"
)

// fixture is what one tenant of the authorization matrix has.
type fixture struct {
	tenant  string
	run     string
	capture string
	sha256  string
	job     string
	keyID   string
}

func makeFixture(t *testing.T, s *testServer, tenant string) fixture {
	t.Helper()
	ctx := t.Context()
	f := fixture{tenant: tenant}
	run := &auditshot.Run{TenantID: tenant, Workflow: "matrix"}
	if err := s.DB.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	f.run = run.ID
	a, err := s.Blobs.Put(ctx, bytes.NewReader([]byte("evidence of "+tenant)), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.PutArtifact(ctx, tenant, a); err != nil {
		t.Fatal(err)
	}
	f.sha256 = a.SHA256
	c := &auditshot.Capture{TenantID: tenant, Name: "fixture", Artifacts: []auditshot.ArtifactRef{{Artifact: a, Role: "evidence"}}}
	if err := s.DB.RecordCapture(ctx, c); err != nil {
		t.Fatal(err)
	}
	f.capture = c.ID
	j := &auditshot.Job{TenantID: tenant, Kind: auditshot.JobExport, Request: []byte(`{}`)}
	if err := s.DB.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	f.job = j.ID
	k, _, err := s.DB.CreateAPIKey(ctx, tenant, "victim", []auditshot.Scope{auditshot.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	f.keyID = k.ID
	return f
}

// request is one call of a route: where, with what, and the answer wanted
// from a key that may call it.
type request struct {
	path string
	body any
	want int
}

// matrixRoute is a route with the scopes it needs and how to call it on
// the caller's own tenant and on another tenant's resources.
type matrixRoute struct {
	method, pattern string
	scopes          []auditshot.Scope // nil: no key needed
	own             func(own fixture) request
	other           func(other fixture) request // nil: nothing of another tenant to name
}

var (
	scCapture = []auditshot.Scope{auditshot.ScopeCapture}
	scWrite   = []auditshot.Scope{auditshot.ScopeWrite}
	scRead    = []auditshot.Scope{auditshot.ScopeRead}
	scAudit   = []auditshot.Scope{auditshot.ScopeAudit}
	scAdmin   = []auditshot.Scope{auditshot.ScopeAdmin}
	scAny     = []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead, auditshot.ScopeAudit}
	scJob     = []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeRead}
)

func matrixRoutes(t *testing.T, s *testServer) []matrixRoute {
	fixed := func(path string, body any, want int) func(fixture) request {
		return func(fixture) request { return request{path, body, want} }
	}
	html := map[string]any{"html": "<p>matrix</p>", "width": 200, "height": 100}
	flowPage := page(t, "<p>matrix</p>")
	newRun := func(f fixture) string {
		run := &auditshot.Run{TenantID: f.tenant, Workflow: "matrix"}
		if err := s.DB.CreateRun(t.Context(), run); err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	return []matrixRoute{
		{"POST", "/v1/screenshot", scCapture, fixed("/v1/screenshot", html, 201),
			func(o fixture) request {
				return request{"/v1/screenshot", map[string]any{"html": "<p>x</p>", "run_id": o.run, "role": "before"}, 404}
			}},
		{"POST", "/v1/pdf", scCapture, fixed("/v1/pdf", html, 201), nil},
		{"POST", "/v1/sequences", scCapture,
			fixed("/v1/sequences", map[string]any{"url": flowPage, "steps": []map[string]any{{"action": "assert_text", "text": "matrix"}}}, 201),
			func(o fixture) request {
				return request{"/v1/sequences", map[string]any{"url": flowPage, "run_id": o.run, "steps": []map[string]any{{"action": "wait", "ms": 1}}}, 404}
			}},
		{"GET", "/v1/captures/{id}", scRead,
			func(f fixture) request { return request{"/v1/captures/" + f.capture, nil, 200} },
			func(o fixture) request { return request{"/v1/captures/" + o.capture, nil, 404} }},
		{"POST", "/v1/runs", scWrite, fixed("/v1/runs", map[string]any{"workflow": "w"}, 201), nil},
		{"GET", "/v1/runs", scRead, fixed("/v1/runs?limit=5", nil, 200), nil},
		{"GET", "/v1/runs/{id}", scRead,
			func(f fixture) request { return request{"/v1/runs/" + f.run, nil, 200} },
			func(o fixture) request { return request{"/v1/runs/" + o.run, nil, 404} }},
		{"POST", "/v1/runs/{id}/events", scWrite,
			func(f fixture) request {
				return request{"/v1/runs/" + f.run + "/events", map[string]any{"type": "note", "name": "n"}, 201}
			},
			func(o fixture) request {
				return request{"/v1/runs/" + o.run + "/events", map[string]any{"type": "note", "name": "n"}, 404}
			}},
		{"POST", "/v1/runs/{id}/finish", scWrite,
			func(f fixture) request {
				return request{"/v1/runs/" + newRun(f) + "/finish", map[string]any{"status": "succeeded"}, 200}
			},
			func(o fixture) request {
				return request{"/v1/runs/" + o.run + "/finish", map[string]any{"status": "failed"}, 404}
			}},
		{"GET", "/v1/runs/{id}/proof", scRead,
			func(f fixture) request { return request{"/v1/runs/" + f.run + "/proof", nil, 200} },
			func(o fixture) request { return request{"/v1/runs/" + o.run + "/proof", nil, 404} }},
		{"GET", "/v1/artifacts/{sha256}", scRead,
			func(f fixture) request { return request{"/v1/artifacts/" + f.sha256, nil, 200} },
			func(o fixture) request { return request{"/v1/artifacts/" + o.sha256, nil, 404} }},
		{"GET", "/v1/ledger/checkpoint", scRead, fixed("/v1/ledger/checkpoint", nil, 200), nil},
		{"GET", "/v1/ledger/checkpoints", scRead, fixed("/v1/ledger/checkpoints?limit=5", nil, 200), nil},
		{"GET", "/v1/ledger/proof/inclusion", scRead, fixed("/v1/ledger/proof/inclusion?index=0&size=2", nil, 200), nil},
		{"GET", "/v1/ledger/proof/consistency", scRead, fixed("/v1/ledger/proof/consistency?old=1&new=2", nil, 200), nil},
		{"GET", "/v1/ledger/entries", scRead, fixed("/v1/ledger/entries?start=0&end=2", nil, 200), nil},
		{"GET", "/v1/ledger/access", scAudit, fixed("/v1/ledger/access?limit=5", nil, 200), nil},
		{"POST", "/v1/exports", scAudit,
			func(f fixture) request { return request{"/v1/exports", map[string]any{"runs": []string{f.run}}, 201} },
			func(o fixture) request { return request{"/v1/exports", map[string]any{"runs": []string{o.run}}, 404} }},
		{"GET", "/v1/jobs/{id}", scJob,
			func(f fixture) request { return request{"/v1/jobs/" + f.job, nil, 200} },
			func(o fixture) request { return request{"/v1/jobs/" + o.job, nil, 404} }},
		{"GET", "/v1/usage", scAny, fixed("/v1/usage", nil, 200), nil},
		// Tenants are the operator's: another tenant's admin is refused
		// even its own tenant's changes, and sees no other tenant.
		{"POST", "/v1/tenants", scAdmin, fixed("/v1/tenants", map[string]any{"id": "newco", "name": "n"}, 403), nil},
		{"GET", "/v1/tenants", scAdmin, fixed("/v1/tenants", nil, 403), nil},
		{"GET", "/v1/tenants/{id}", scAdmin,
			func(f fixture) request { return request{"/v1/tenants/" + f.tenant, nil, 200} },
			func(o fixture) request { return request{"/v1/tenants/" + o.tenant, nil, 404} }},
		{"PATCH", "/v1/tenants/{id}", scAdmin,
			func(f fixture) request {
				return request{"/v1/tenants/" + f.tenant, map[string]any{"plan": "unlimited"}, 403}
			},
			func(o fixture) request {
				return request{"/v1/tenants/" + o.tenant, map[string]any{"plan": "unlimited"}, 403}
			}},
		{"POST", "/v1/keys", scAdmin,
			fixed("/v1/keys", map[string]any{"name": "k", "scopes": []string{"read"}}, 201),
			func(o fixture) request {
				return request{"/v1/keys", map[string]any{"name": "k", "scopes": []string{"read"}, "tenant_id": o.tenant}, 404}
			}},
		{"GET", "/v1/keys", scAdmin, fixed("/v1/keys", nil, 200),
			func(o fixture) request { return request{"/v1/keys?tenant_id=" + o.tenant, nil, 404} }},
		{"DELETE", "/v1/keys/{id}", scAdmin,
			func(f fixture) request {
				k, _, err := s.DB.CreateAPIKey(t.Context(), f.tenant, "doomed", scRead)
				if err != nil {
					t.Fatal(err)
				}
				return request{"/v1/keys/" + k.ID, nil, 204}
			},
			func(o fixture) request { return request{"/v1/keys/" + o.keyID, nil, 404} }},
		{"GET", "/healthz", nil, fixed("/healthz", nil, 200), nil},
		{"GET", "/readyz", nil, fixed("/readyz", nil, 200), nil},
		{"GET", "/metrics", nil, fixed("/metrics", nil, 200), nil},
		{"GET", "/openapi.json", nil, fixed("/openapi.json", nil, 200), nil},
	}
}

// holds reports whether a key with scopes may call a route needing one
// of need: admin holds every scope; write and audit also read.
func holds(scopes, need []auditshot.Scope) bool {
	for _, n := range need {
		if slices.Contains(scopes, auditshot.ScopeAdmin) || slices.Contains(scopes, n) ||
			n == auditshot.ScopeRead && (slices.Contains(scopes, auditshot.ScopeWrite) || slices.Contains(scopes, auditshot.ScopeAudit)) {
			return true
		}
	}
	return false
}

// TestAuthorizationMatrix calls every route with every scope, with no
// key and with a revoked key, on the caller's own tenant and on another
// tenant's resources: a missing or revoked key is 401, a missing scope
// 403, another tenant's resource 404 (never 403), and the rest works.
func TestAuthorizationMatrix(t *testing.T) {
	s := startServer(t)
	s.tenant(t, "alpha", "unlimited", "127.0.0.1")
	s.tenant(t, "beta", "unlimited", "127.0.0.1")
	own, other := makeFixture(t, s, "alpha"), makeFixture(t, s, "beta")
	routes := matrixRoutes(t, s)

	var have [][2]string
	for _, r := range routes {
		have = append(have, [2]string{r.method, r.pattern})
	}
	for _, r := range httpapi.Routes() {
		if !slices.Contains(have, r) {
			t.Errorf("route %s %s is not in the authorization matrix: add it to matrixRoutes", r[0], r[1])
		}
	}

	type key struct {
		name   string
		secret string
		scopes []auditshot.Scope
	}
	keys := []key{{name: "none"}}
	for _, sc := range []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead, auditshot.ScopeAudit, auditshot.ScopeAdmin} {
		keys = append(keys, key{string(sc), s.key(t, "alpha", sc), []auditshot.Scope{sc}})
	}
	revokedKey, revoked, err := s.DB.CreateAPIKey(t.Context(), "alpha", "revoked", []auditshot.Scope{auditshot.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.RevokeAPIKey(t.Context(), "alpha", revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	keys = append(keys, key{"revoked", revoked, nil})

	for _, r := range routes {
		for _, k := range keys {
			for _, side := range []string{"own", "other"} {
				build := r.own
				f := own
				if side == "other" {
					build, f = r.other, other
				}
				if build == nil {
					continue
				}
				name := strings.Join([]string{r.method, r.pattern, k.name, side}, " ")
				t.Run(name, func(t *testing.T) {
					req := build(f)
					want := req.want
					switch {
					case r.scopes == nil:
					case k.secret == "" || k.name == "revoked":
						want = http.StatusUnauthorized
					case !holds(k.scopes, r.scopes):
						want = http.StatusForbidden
					}
					got := s.call(t, r.method, req.path, k.secret, req.body)
					if got.Status != want {
						t.Fatalf("status %d, want %d: %s", got.Status, want, got.Body)
					}
					if got.Status >= 400 && (got.errorCode() == "" || got.Header.Get("X-Request-Id") == "") {
						t.Errorf("error answer without code or request id: %s", got.Body)
					}
				})
			}
		}
	}

	// The operator's admin manages every tenant.
	s.must(t, http.StatusOK, "GET", "/v1/tenants/beta", s.Admin, nil)
	s.must(t, http.StatusOK, "PATCH", "/v1/tenants/beta", s.Admin, map[string]any{"plan": "free"})
	// Key creation, revocation and policy changes are ledger entries, and
	// their answers say which.
	created := s.must(t, http.StatusCreated, "POST", "/v1/keys", s.Admin, map[string]any{"name": "k", "scopes": []string{"read"}, "tenant_id": "beta"})
	revocation := s.must(t, http.StatusNoContent, "DELETE", "/v1/keys/"+other.keyID+"?tenant_id=beta", s.Admin, nil)
	changed := s.must(t, http.StatusOK, "PATCH", "/v1/tenants/beta", s.Admin, map[string]any{"retention_days": 30})
	size, _ := s.DB.LogSize(t.Context(), "beta")
	for i, r := range []response{created, revocation, changed} {
		if r.Header.Get("X-Ledger-Index") != strconv.FormatInt(size-3+int64(i), 10) || len(r.Header.Get("X-Ledger-Leaf-Hash")) != 64 {
			t.Errorf("answer %d: X-Ledger-Index %q (log size %d), leaf %q", i, r.Header.Get("X-Ledger-Index"), size, r.Header.Get("X-Ledger-Leaf-Hash"))
		}
	}
}

// TestRevokedKeyRefusedAtOnce: a key revoked through the API is refused
// by the next request, although the server caches keys it checked.
func TestRevokedKeyRefusedAtOnce(t *testing.T) {
	s := startServer(t)
	k, secret, err := s.DB.CreateAPIKey(t.Context(), "default", "soon revoked", []auditshot.Scope{auditshot.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	s.must(t, http.StatusOK, "GET", "/v1/usage", secret, nil) // now cached
	s.must(t, http.StatusNoContent, "DELETE", "/v1/keys/"+k.ID, s.Admin, nil)
	if r := s.call(t, "GET", "/v1/usage", secret, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a key revoked through the API: %d", r.Status)
	}
}
