package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/auditshot/auditshot"
)

//go:embed openapi.json
var openapiJSON []byte

var (
	capture = []auditshot.Scope{auditshot.ScopeCapture}
	write   = []auditshot.Scope{auditshot.ScopeWrite}
	read    = []auditshot.Scope{auditshot.ScopeRead}
	audit   = []auditshot.Scope{auditshot.ScopeAudit}
	admin   = []auditshot.Scope{auditshot.ScopeAdmin}
	// anyScope is every scope: routes any valid key may call.
	anyScope = []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead, auditshot.ScopeAudit}
	// jobScope reads jobs: whoever may start one.
	jobScope = []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeRead}
)

func (s *Server) registerRoutes() {
	s.handle("POST", "/v1/screenshot", capture, s.handleScreenshot)
	s.handle("POST", "/v1/pdf", capture, s.handlePDF)
	s.handle("POST", "/v1/sequences", capture, s.handleSequence)
	s.handle("GET", "/v1/captures/{id}", read, s.handleGetCapture)

	s.handle("POST", "/v1/runs", write, s.handleCreateRun)
	s.handle("GET", "/v1/runs", read, s.handleListRuns)
	s.handle("GET", "/v1/runs/{id}", read, s.handleGetRun)
	s.handle("POST", "/v1/runs/{id}/events", write, s.handleAddEvent)
	s.handle("POST", "/v1/runs/{id}/finish", write, s.handleFinishRun)
	s.handle("GET", "/v1/runs/{id}/proof", read, s.handleRunProof)

	s.handle("GET", "/v1/artifacts/{sha256}", read, s.handleArtifact)

	s.handle("GET", "/v1/ledger/checkpoint", read, s.handleCheckpoint)
	s.handle("GET", "/v1/ledger/checkpoints", read, s.handleCheckpoints)
	s.handle("GET", "/v1/ledger/proof/inclusion", read, s.handleInclusion)
	s.handle("GET", "/v1/ledger/proof/consistency", read, s.handleConsistency)
	s.handle("GET", "/v1/ledger/entries", read, s.handleEntries)
	s.handle("GET", "/v1/ledger/access", audit, s.handleAccess)

	s.handle("POST", "/v1/exports", audit, s.handleExport)
	s.handle("GET", "/v1/jobs/{id}", jobScope, s.handleGetJob)
	s.handle("GET", "/v1/usage", anyScope, s.handleUsage)

	s.handle("POST", "/v1/tenants", admin, s.handleCreateTenant)
	s.handle("GET", "/v1/tenants", admin, s.handleListTenants)
	s.handle("GET", "/v1/tenants/{id}", admin, s.handleGetTenant)
	s.handle("PATCH", "/v1/tenants/{id}", admin, s.handleUpdateTenant)
	s.handle("POST", "/v1/keys", admin, s.handleCreateKey)
	s.handle("GET", "/v1/keys", admin, s.handleListKeys)
	s.handle("DELETE", "/v1/keys/{id}", admin, s.handleRevokeKey)

	s.handle("GET", "/healthz", nil, s.handleHealth)
	s.handle("GET", "/readyz", nil, s.handleReady)
	s.handle("GET", "/metrics", nil, s.handleMetrics)
	s.handle("GET", "/openapi.json", nil, s.handleOpenAPI)
	s.registerUI()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, auditshot.Errorf(auditshot.ENOTFOUND, "no route %s %s (see /openapi.json)", r.Method, r.URL.Path))
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
	return nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	select {
	case <-s.closing:
		return auditshot.Errorf(auditshot.EUNAVAILABLE, "shutting down")
	default:
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "not ready: " + auditshot.ErrorMessage(err), Err: err}
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiJSON)
	return err
}
