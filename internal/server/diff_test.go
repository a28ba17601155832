package server_test

import (
	"bytes"
	"image/png"
	"net/http"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

// badgePage is an account page whose status badge is at a known place:
// 200x40 CSS px at (600, 100).
func badgePage(colour, text string) string {
	return `<html><body style="margin:0;background:#fff;font:16px sans-serif">
<div style="position:absolute;left:40px;top:40px;width:400px;height:20px;background:#ddd"></div>
<div id="badge" style="position:absolute;left:600px;top:100px;width:200px;height:40px;background:` + colour + `;color:#fff">` + text + `</div>
</body></html>`
}

// TestAfterCaptureDiffsAgainstBefore: every screenshot gets a perceptual
// hash; an "after" screenshot of a run is compared with the run's
// "before": the changed region is boxed, the diff image is an artifact, and
// both are in the capture's ledger entry.
func TestAfterCaptureDiffsAgainstBefore(t *testing.T) {
	s := startServer(t)
	key := s.key(t, "default", auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead)
	var run auditshot.Run
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "process_refund"}).json(t, &run)
	type capture struct {
		auditshot.Capture
		SHA256 string
	}
	shot := func(html, role string) capture {
		var c capture
		s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"html": html, "width": 1000, "height": 300,
			"run_id": run.ID, "role": role}).json(t, &c)
		return c
	}
	before := shot(badgePage("#c0392b", "Pending"), "before")
	after := shot(badgePage("#27ae60", "Approved"), "after")
	// The after capture is hashed as it is compared; the others soon after
	// they are answered.
	phash := func(id string) string {
		var c auditshot.Capture
		eventually(t, 10*time.Second, "the perceptual hash of "+id, func() bool {
			s.must(t, http.StatusOK, "GET", "/v1/captures/"+id, key, nil).json(t, &c)
			return c.PHash != ""
		})
		return c.PHash
	}
	if len(after.PHash) != 16 || before.Diff != nil || len(phash(before.ID)) != 16 {
		t.Fatalf("before diff %+v, after phash %q", before.Diff, after.PHash)
	}
	d := after.Diff
	if d == nil || d.Before != before.ID || d.ChangedPPM <= 0 || len(d.Regions) != 1 {
		t.Fatalf("after's diff %+v", d)
	}
	r := d.Regions[0]
	if r.X < 596 || r.Y < 96 || r.X+r.Width > 804 || r.Y+r.Height > 144 || r.Width < 150 {
		t.Errorf("changed region %+v, want about the badge at (600,100) 200x40", r)
	}
	var diffSHA string
	for _, a := range after.Artifacts {
		if a.Role == auditshot.RoleDiff {
			diffSHA = a.SHA256
		}
	}
	if diffSHA == "" {
		t.Fatalf("no diff artifact in %+v", after.Artifacts)
	}
	img, err := png.Decode(bytes.NewReader(s.must(t, http.StatusOK, "GET", "/v1/artifacts/"+diffSHA, key, nil).Body))
	if err != nil || img.Bounds().Dx() != 1000 || img.Bounds().Dy() != 300 {
		t.Fatalf("diff image: %v %v", img.Bounds(), err)
	}
	e, err := s.DB.Entries(t.Context(), "default", after.Ledger.Index, after.Ledger.Index+1)
	if err != nil || !bytes.Contains(e[0], []byte(diffSHA)) ||
		!bytes.Contains(e[0], []byte(`"changed_ppm":`)) {
		t.Errorf("the after capture's entry lacks its diff: %s", e[0])
	}
	// An identical page hashes alike; a capture outside a run gets no diff.
	var same capture
	s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"html": badgePage("#c0392b", "Pending"), "width": 1000, "height": 300}).json(t, &same)
	if p, q := phash(same.ID), phash(before.ID); p != q || same.Diff != nil {
		t.Errorf("same page: phash %s vs %s, diff %+v", p, q, same.Diff)
	}
}
