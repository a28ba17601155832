package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// MaxExportEntries bounds the entries of one bundle.
const MaxExportEntries = 1_000_000

// ExportOptions tunes ExportWith. The zero value is valid.
type ExportOptions struct {
	// Progress, if not nil, is called as the bundle is written.
	Progress func(bundle.Progress)
	// Generator names the software and version writing the bundle, shown
	// on the human report's cover (bundle.WriteOptions.Generator).
	Generator string
	// PrintPDF, if not nil, prints the human report as report.pdf
	// (bundle.WriteOptions.PrintPDF); without it the bundle has
	// report.html only. Its error fails the export: EUNAVAILABLE (with its
	// Retry-After) when it returns EUNAVAILABLE, as a busy browser does;
	// EINTERNAL otherwise.
	PrintPDF func(ctx context.Context, html []byte) ([]byte, error)
}

// Export is ExportWith with only a progress callback: the bundle's report
// is report.html, without report.pdf.
func (db *DB) Export(ctx context.Context, w io.Writer, tenantID, actor string, sel auditshot.ExportSelection, blobs auditshot.BlobStore, progress func(bundle.Progress)) (*auditshot.Export, error) {
	return db.ExportWith(ctx, w, tenantID, actor, sel, blobs, ExportOptions{Progress: progress})
}

// ExportWith writes an evidence bundle of the tenant's selected runs or
// index range to w, proven against a checkpoint signed for it, with the
// artifacts the entries refer to read from blobs and the human report
// (report.html, and report.pdf with opts.PrintPDF), and then records the
// export as an export.created entry by actor.
//
// Returns ENOTFOUND for a run the tenant does not have, EINVALID for an
// empty or out-of-range selection, and EUNAVAILABLE without a signing key.
// If writing fails, nothing is recorded.
func (db *DB) ExportWith(ctx context.Context, w io.Writer, tenantID, actor string, sel auditshot.ExportSelection, blobs auditshot.BlobStore, opts ExportOptions) (*auditshot.Export, error) {
	cp, err := db.SignCheckpoint(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	indices, err := db.exportIndices(ctx, tenantID, sel, cp.Size)
	if err != nil {
		return nil, err
	}
	c := bundle.Contents{Origin: cp.Origin, Checkpoint: cp.Note}
	if c.Keys, err = db.LogKeys(ctx, tenantID); err != nil {
		return nil, err
	}
	if len(c.Keys) == 0 && db.cfg.PublicKey != "" {
		c.Keys = []string{db.cfg.PublicKey}
	}
	for _, i := range indices {
		b, err := db.Entries(ctx, tenantID, i, i+1)
		if err != nil {
			return nil, err
		}
		p, err := db.InclusionProof(ctx, tenantID, i, cp.Size)
		if err != nil {
			return nil, err
		}
		c.Entries = append(c.Entries, bundle.Entry{Index: i, Bytes: b[0], Proof: ledgerHashes(p)})
	}
	// Anchors bind the entries to time: an auditor with the TSA's root
	// detects an entry dated outside the window they allow.
	if c.Anchors, err = db.AnchorFiles(ctx, tenantID, cp.Size, indices); err != nil {
		return nil, err
	}
	if r := sel.Range; r != nil {
		p, err := db.RangeProof(ctx, tenantID, r.Start, r.End, cp.Size)
		if err != nil {
			return nil, err
		}
		c.Range = &ledger.RangeProof{Start: r.Start, End: r.End, Size: cp.Size, Hashes: ledgerHashes(p)}
	}
	c.Selection, _ = json.Marshal(sel)
	c.Blobs = func(ctx context.Context, sha string) (io.ReadCloser, error) {
		rc, _, err := blobs.Open(ctx, sha, false)
		return rc, err
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(w, h)}
	wo := bundle.WriteOptions{Progress: opts.Progress, Generator: opts.Generator}
	var printErr error
	if opts.PrintPDF != nil {
		wo.PrintPDF = func(ctx context.Context, html []byte) ([]byte, error) {
			pdf, err := opts.PrintPDF(ctx, html)
			printErr = err
			return pdf, err
		}
	}
	if err := bundle.Write(ctx, cw, c, wo); err != nil {
		return nil, writeError(err, printErr)
	}
	x := &auditshot.Export{ID: randomID(), TenantID: tenantID, Selected: sel, SHA256: hex.EncodeToString(h.Sum(nil)),
		Size: cw.n, Entries: len(indices), CheckpointSize: cp.Size}
	data, _ := json.Marshal(map[string]any{"selection": sel, "bundle_sha256": x.SHA256, "bundle_size": x.Size,
		"entries": x.Entries, "checkpoint_size": x.CheckpointSize})
	err = db.write(ctx, func(tx *batchTx) error {
		ref, err := tx.append(tenantID, ledger.Entry{Type: ledger.TypeExportCreated, Actor: actor,
			IDs: map[string]string{ledger.IDExport: x.ID}, Data: data})
		if err != nil {
			return err
		}
		x.Ledger = ref
		return tx.recordAccess(tenantID, ref.Index, actor, sel.Runs)
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// writeError is the error of a failed bundle.Write: internal, unless the
// report's printer was busy (EUNAVAILABLE, with its Retry-After).
func writeError(err, printErr error) error {
	var ae *auditshot.Error
	if errors.As(printErr, &ae) && ae.Code == auditshot.EUNAVAILABLE {
		return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "the browser that prints the evidence report is busy; try again",
			RetryAfter: ae.RetryAfter, Err: err}
	}
	if printErr != nil {
		return &auditshot.Error{Code: auditshot.EINTERNAL, Message: "the evidence report could not be printed", Err: err}
	}
	return &auditshot.Error{Code: auditshot.EINTERNAL, Message: "the evidence bundle could not be written", Err: err}
}

// exportIndices returns the ledger indices a selection covers, sorted.
func (db *DB) exportIndices(ctx context.Context, tenantID string, sel auditshot.ExportSelection, size int64) ([]int64, error) {
	switch {
	case (len(sel.Runs) == 0) == (sel.Range == nil):
		return nil, auditshot.Errorf(auditshot.EINVALID, "selection: give either runs or a range")
	case sel.Range != nil:
		r := sel.Range
		if r.Start < 0 || r.End <= r.Start || r.End > size {
			return nil, auditshot.Errorf(auditshot.EINVALID, "range: [%d, %d) is not within the log's %d entries", r.Start, r.End, size)
		}
		if r.End-r.Start > MaxExportEntries {
			return nil, auditshot.Errorf(auditshot.EINVALID, "range: at most %d entries per bundle", MaxExportEntries)
		}
		out := make([]int64, 0, r.End-r.Start)
		for i := r.Start; i < r.End; i++ {
			out = append(out, i)
		}
		return out, nil
	}
	var out []int64
	for _, id := range sel.Runs {
		refs, err := db.RunEntries(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			out = append(out, r.Index)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func ledgerHashes(p [][32]byte) []ledger.Hash {
	out := make([]ledger.Hash, len(p))
	for i, h := range p {
		out[i] = h
	}
	return out
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
