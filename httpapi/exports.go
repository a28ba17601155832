package httpapi

import (
	"context"
	"net/http"
	"os"

	"github.com/auditshot/auditshot"
)

// exportRequest is the body of POST /v1/exports.
type exportRequest struct {
	auditshot.ExportSelection
	Async      bool   `json:"async,omitempty"`
	WebhookURL string `json:"webhook_url,omitempty"`
}

// exportResult is a written bundle: the export and where to download it.
type exportResult struct {
	*auditshot.Export
	Download string `json:"download"`
}

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	var req exportRequest
	if err := decodeJSON(body(r), &req); err != nil {
		return err
	}
	sel := req.ExportSelection
	switch {
	case len(sel.Runs) == 0 && sel.Range == nil:
		return auditshot.Errorf(auditshot.EINVALID, "give runs (a list of run ids) or range ({start, end})")
	case len(sel.Runs) > 0 && sel.Range != nil:
		return auditshot.Errorf(auditshot.EINVALID, "give runs or range, not both")
	case sel.Range != nil && (sel.Range.Start < 0 || sel.Range.End <= sel.Range.Start):
		return auditshot.Errorf(auditshot.EINVALID, "range: want 0 <= start < end")
	case req.WebhookURL != "" && !req.Async:
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: only for async exports")
	}
	if req.WebhookURL != "" {
		if err := checkWebhookURL(req.WebhookURL); err != nil {
			return err
		}
	}
	large := sel.Range != nil && sel.Range.End-sel.Range.Start > s.cfg.AsyncExport || int64(len(sel.Runs)) > s.cfg.AsyncExport/100
	if req.Async || large {
		j, err := s.enqueue(r.Context(), c, auditshot.JobExport, body(r), req.WebhookURL)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/v1/jobs/"+j.ID)
		w.Header().Set("X-Job-Id", j.ID)
		writeJSON(w, http.StatusAccepted, j)
		return nil
	}
	res, err := s.export(r.Context(), c, sel)
	if err != nil {
		return err
	}
	setLedgerHeaders(w, res.Ledger)
	w.Header().Set("Location", res.Download)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// export writes the bundle to a temporary file, stores it as an artifact
// of the tenant, and returns where to download it.
func (s *Server) export(ctx context.Context, c caller, sel auditshot.ExportSelection) (*exportResult, error) {
	f, err := os.CreateTemp("", "auditshot-export-*.zip")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	done := s.metrics.appendStart()
	e, err := s.cfg.Export(ctx, f, c.key.TenantID, c.key.ID, sel)
	done()
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	a, err := s.cfg.Blobs.Put(ctx, f, "application/zip")
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Artifacts.PutArtifact(ctx, c.key.TenantID, a); err != nil {
		return nil, err
	}
	return &exportResult{Export: e, Download: "/v1/artifacts/" + a.SHA256}, nil
}
