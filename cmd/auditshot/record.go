package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/auditshot/auditshot"
)

// recordFlags say where a CLI capture is recorded, if anywhere.
type recordFlags struct {
	data                     dataFlags
	tenant, run, role, label string
}

// record stores the capture's image, DOM snapshot and evidence as blobs
// and the capture itself as a capture.completed ledger entry of the tenant.
func (f *recordFlags) record(ctx context.Context, res *auditshot.CaptureResult, stderr io.Writer) (*auditshot.Capture, error) {
	s, err := f.data.open(ctx, stderr, false)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	evidence, err := json.Marshal(res.Evidence)
	if err != nil {
		return nil, err
	}
	c := &auditshot.Capture{TenantID: f.tenant, RunID: f.run, Role: f.role, Name: f.label,
		URL: res.Evidence.RequestedURL, FinalURL: res.Evidence.FinalURL, Status: res.Evidence.Status, Title: res.Evidence.Title,
		BestAttempt: res.Evidence.Wait.BestAttempt, Blank: res.Evidence.Blank}
	for _, part := range []struct {
		data       []byte
		media, use string
	}{
		{res.Data, res.MediaType, "image"},
		{res.DOM, "multipart/related", auditshot.RoleDOM},
		{evidence, "application/json", "evidence"},
	} {
		a, err := s.blobs.Put(ctx, bytes.NewReader(part.data), part.media)
		if err != nil {
			return nil, err
		}
		if err := s.db.PutArtifact(ctx, f.tenant, a); err != nil {
			return nil, err
		}
		c.Artifacts = append(c.Artifacts, auditshot.ArtifactRef{Artifact: a, Role: part.use})
	}
	if err := s.db.RecordCapture(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}
