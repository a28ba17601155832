package sqlite_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

func TestRecordCapture(t *testing.T) {
	ctx := context.Background()
	db, blobs, vkey := mustStoreWithBlobs(t, "acme", "other")
	run := MustCreateRun(t, db, "acme")
	put := func(content, media string) auditshot.Artifact {
		a, err := blobs.Put(ctx, strings.NewReader(content), media)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutArtifact(ctx, "acme", a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	img, dom := put("png bytes", "image/png"), put("mhtml bytes", "multipart/related")
	c := &auditshot.Capture{TenantID: "acme", RunID: run.ID, Role: auditshot.RoleBefore, Name: "refund_start",
		URL: "https://app.example/refunds/981", FinalURL: "https://app.example/refunds/981", Status: 200, Title: "Refund 981",
		Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: img.SHA256}, Role: "image"}, {Artifact: auditshot.Artifact{SHA256: dom.SHA256}, Role: auditshot.RoleDOM}}}

	t.Run("OK", func(t *testing.T) {
		if err := db.RecordCapture(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindCapture(ctx, "acme", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Refund 981" || got.RunID != run.ID || got.Ledger != c.Ledger || got.Artifacts[0].Size != img.Size || got.Artifacts[1].MediaType != "multipart/related" {
			t.Errorf("found %+v", got)
		}
		b, _ := db.Entries(ctx, "acme", c.Ledger.Index, c.Ledger.Index+1)
		e, err := ledger.Parse(b[0])
		if err != nil || e.Type != ledger.TypeCaptureCompleted || e.IDs[ledger.IDRun] != run.ID || e.IDs[ledger.IDCapture] != c.ID ||
			len(e.Artifacts) != 2 || e.Artifacts[0].SHA256 != img.SHA256 || !strings.Contains(string(e.Data), `"title":"Refund 981"`) {
			t.Errorf("entry %+v %v", e, err)
		}
	})
	t.Run("HashAndDiff", func(t *testing.T) {
		d := &auditshot.DiffSummary{Before: c.ID, ChangedPixels: 120, TotalPixels: 1000, ChangedPPM: 120000,
			Regions: []auditshot.PixelRect{{X: 1, Y: 2, Width: 10, Height: 12}}}
		after := &auditshot.Capture{TenantID: "acme", Name: "after", PHash: "00ff00ff00ff00ff", Diff: d,
			Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: img.SHA256}, Role: "image"}}}
		if err := db.RecordCapture(ctx, after); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindCapture(ctx, "acme", after.ID)
		if err != nil || got.PHash != "00ff00ff00ff00ff" || got.Diff == nil || got.Diff.ChangedPPM != 120000 || got.Diff.Regions[0] != d.Regions[0] {
			t.Fatalf("found %+v %v", got, err)
		}
		b, _ := db.Entries(ctx, "acme", after.Ledger.Index, after.Ledger.Index+1)
		for _, want := range []string{`"changed_ppm":120000`, `"regions":[{"height":12,"width":10,"x":1,"y":2}]`} {
			if !strings.Contains(string(b[0]), want) {
				t.Errorf("entry %s lacks %s", b[0], want)
			}
		}
		if strings.Contains(string(b[0]), "phash") {
			t.Errorf("entry %s holds the derived phash", b[0])
		}
		// The hash is set later, without an entry.
		size, _ := db.LogSize(ctx, "acme")
		if err := db.SetCapturePHash(ctx, "acme", after.ID, "0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindCapture(ctx, "acme", after.ID); got.PHash != "0123456789abcdef" {
			t.Errorf("phash after SetCapturePHash: %q", got.PHash)
		}
		if n, _ := db.LogSize(ctx, "acme"); n != size {
			t.Errorf("SetCapturePHash appended %d entries", n-size)
		}
		wantCode(t, db.SetCapturePHash(ctx, "other", after.ID, "0123456789abcdef"), auditshot.ENOTFOUND)
		wantCode(t, db.SetCapturePHash(ctx, "acme", after.ID, "XYZ"), auditshot.EINVALID)
		bad := *after
		bad.ID, bad.PHash = "", "XYZ"
		wantCode(t, db.RecordCapture(ctx, &bad), auditshot.EINVALID)
	})
	t.Run("RecordsWholeArtifacts", func(t *testing.T) {
		a, err := blobs.Put(ctx, strings.NewReader("evidence json"), "application/json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindArtifact(ctx, "acme", a.SHA256); auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
			t.Fatalf("artifact recorded before the capture: %v", err)
		}
		// A capture that fails records no artifact either.
		failing := &auditshot.Capture{TenantID: "acme", RunID: "no-such-run", Artifacts: []auditshot.ArtifactRef{{Artifact: a, Role: "evidence"}}}
		wantCode(t, db.RecordCapture(ctx, failing), auditshot.ENOTFOUND)
		if _, err := db.FindArtifact(ctx, "acme", a.SHA256); auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
			t.Fatalf("a failed capture recorded its artifact: %v", err)
		}
		ok := &auditshot.Capture{TenantID: "acme", Name: "whole", Artifacts: []auditshot.ArtifactRef{{Artifact: a, Role: "evidence"}}}
		if err := db.RecordCapture(ctx, ok); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindArtifact(ctx, "acme", a.SHA256)
		if err != nil || got.Size != a.Size || got.MediaType != "application/json" {
			t.Errorf("artifact after the capture: %+v %v", got, err)
		}
	})
	t.Run("ListedWithItsRun", func(t *testing.T) {
		loose := &auditshot.Capture{TenantID: "acme", Name: "no run", Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: img.SHA256}, Role: "image"}}}
		if err := db.RecordCapture(ctx, loose); err != nil {
			t.Fatal(err)
		}
		got, err := db.ListCaptures(ctx, "acme", run.ID)
		if err != nil || len(got) != 1 || got[0].ID != c.ID || got[0].Ledger != c.Ledger || len(got[0].Artifacts) != 2 {
			t.Fatalf("ListCaptures = %+v, %v", got, err)
		}
		_, err = db.ListCaptures(ctx, "other", run.ID)
		wantCode(t, err, auditshot.ENOTFOUND)
	})
	t.Run("ExportedWithItsRun", func(t *testing.T) {
		var buf bytes.Buffer
		x, err := db.Export(ctx, &buf, "acme", "k", auditshot.ExportSelection{Runs: []string{run.ID}}, blobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := bundle.Verify(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), bundle.VerifyOptions{Keys: []string{vkey}})
		if err != nil || x.Entries != 2 || rep.Blobs != 2 {
			t.Errorf("export %d entries, %d blobs: %v", x.Entries, rep.Blobs, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := db.FindCapture(ctx, "other", c.ID)
		wantCode(t, err, auditshot.ENOTFOUND)
		bad := *c
		bad.ID, bad.TenantID = "", "other"
		wantCode(t, db.RecordCapture(ctx, &bad), auditshot.ENOTFOUND) // acme's run
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := *c
		bad.ID = ""
		bad.Artifacts = []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: strings.Repeat("ab", 32)}}}
		wantCode(t, db.RecordCapture(ctx, &bad), auditshot.EINVALID)
		bad.Artifacts = nil
		wantCode(t, db.RecordCapture(ctx, &bad), auditshot.EINVALID)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		if _, err := db.FinishRun(ctx, "acme", run.ID, auditshot.RunSucceeded); err != nil {
			t.Fatal(err)
		}
		late := *c
		late.ID = ""
		wantCode(t, db.RecordCapture(ctx, &late), auditshot.ECONFLICT)
		dup := *c
		dup.RunID, dup.Role = "", ""
		wantCode(t, db.RecordCapture(ctx, &dup), auditshot.ECONFLICT) // same id
	})
}
