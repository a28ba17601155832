package client_test

import (
	"bytes"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

func TestExport(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()
	run, err := c.StartRun(ctx, client.RunRequest{Workflow: "export_me"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Action(ctx, "did_it", map[string]any{"count": 3}, "because"); err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(ctx, ""); err != nil {
		t.Fatal(err)
	}
	sel := client.ExportRequest{ExportSelection: auditshot.ExportSelection{Runs: []string{run.ID}}}

	t.Run("OK", func(t *testing.T) {
		res, err := c.Export(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		if res.Download != "/v1/artifacts/"+res.SHA256 || res.Entries != 3 || res.Ledger.LeafHash == "" {
			t.Errorf("export %+v", res)
		}
		zip, err := c.ArtifactBytes(ctx, res.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(zip, []byte("PK\x03\x04")) || int64(len(zip)) != res.Size {
			t.Errorf("bundle of %d bytes starting %q, want a zip of %d bytes", len(zip), zip[:min(4, len(zip))], res.Size)
		}
	})

	t.Run("ErrNoSelection", func(t *testing.T) {
		_, err := c.Export(ctx, client.ExportRequest{})
		wantCode(t, err, auditshot.EINVALID, 400)
	})

	t.Run("ErrArtifactNotFound", func(t *testing.T) {
		_, err := c.ArtifactBytes(ctx, "0000000000000000000000000000000000000000000000000000000000000000")
		wantCode(t, err, auditshot.ENOTFOUND, 404)
	})
}
