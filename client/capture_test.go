package client_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

func TestCapture(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()
	opts := auditshot.CaptureOptions{URL: testPage(t, refundPage), Width: 400, Height: 300}

	t.Run("Image", func(t *testing.T) {
		m, err := c.ScreenshotImage(ctx, client.ScreenshotRequest{CaptureOptions: opts, Name: "as_image"})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(m.Data)
		if !bytes.HasPrefix(m.Data, pngMagic) || m.MediaType != "image/png" || m.SHA256 != hex.EncodeToString(sum[:]) ||
			m.Ledger.LeafHash == "" || m.Ledger.Index == 0 {
			t.Errorf("media %s sha %s ledger %+v, %d bytes", m.MediaType, m.SHA256, m.Ledger, len(m.Data))
		}
		rec, err := c.GetCapture(ctx, m.CaptureID)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := (&client.Capture{Capture: *rec}).Artifact("image"); rec.Name != "as_image" || !ok || a.SHA256 != m.SHA256 || rec.Ledger != m.Ledger {
			t.Errorf("capture %+v, want the image's", rec)
		}
	})

	t.Run("PDF", func(t *testing.T) {
		m, err := c.PDFDocument(ctx, client.ScreenshotRequest{CaptureOptions: auditshot.CaptureOptions{URL: opts.URL}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(m.Data, []byte("%PDF-")) || m.MediaType != "application/pdf" || m.CaptureID == "" {
			t.Errorf("PDF media %s, %d bytes starting %q", m.MediaType, len(m.Data), m.Data[:min(5, len(m.Data))])
		}
	})

	t.Run("ErrBadOptions", func(t *testing.T) {
		_, err := c.Screenshot(ctx, client.ScreenshotRequest{CaptureOptions: auditshot.CaptureOptions{URL: "ftp://127.0.0.1/"}})
		wantCode(t, err, auditshot.EINVALID, 400)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := c.GetCapture(ctx, "nosuchcapture")
		wantCode(t, err, auditshot.ENOTFOUND, 404)
	})
}
