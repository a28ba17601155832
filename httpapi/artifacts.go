package httpapi

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// inlineTypes are the media types served inline; everything else (HTML,
// MHTML, ...) is served as a download so it cannot run on the API origin.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true,
	"application/json": true, "application/pdf": true, "video/mp4": true, "video/webm": true}

func (s *Server) handleArtifact(w http.ResponseWriter, r *http.Request) error {
	tenant, sha := callerOf(r).key.TenantID, r.PathValue("sha256")
	a, err := s.cfg.Artifacts.FindArtifact(r.Context(), tenant, sha)
	if err != nil {
		return err
	}
	etag := `"` + sha + `"`
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	rc, _, err := s.cfg.Blobs.Open(r.Context(), sha, true)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", a.MediaType)
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	if !inlineTypes[a.MediaType] {
		h.Set("Content-Disposition", `attachment; filename="`+sha+`"`)
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The status is sent; a corrupt blob ends the body early so the
		// client sees a short read, and the server logs it.
		s.log.Error("send artifact", "request_id", requestID(r.Context()), "sha256", sha, "err", err)
	}
	return nil
}
