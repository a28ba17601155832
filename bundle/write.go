package bundle

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/auditshot/auditshot/ledger"
)

// ErrInvalidContents is wrapped by the errors Write returns when the
// contents given to it do not make a valid bundle (before or while writing).
var ErrInvalidContents = errors.New("invalid bundle contents")

// smallMethod is the zip method of entries, proofs, keys and the
// checkpoint. They are stored uncompressed: each is about 1 KiB, which
// deflate shrinks little once it has written its tables, and inflating
// tens of thousands of small files would dominate verification time.
var smallMethod uint16 = zip.Store

// zipTime is the modification time written in every zip header, so that the
// same contents give the same bytes.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Contents is what Write puts into a bundle.
type Contents struct {
	// Origin is the log's origin; Checkpoint MUST be of it.
	Origin string
	// Checkpoint is the signed checkpoint (a signed note) that every entry's
	// proof is made against.
	Checkpoint []byte
	// Keys are the verifier keys (note vkey text) of the log, written under
	// keys/. At least one MUST open Checkpoint.
	Keys []string
	// Entries are the exported entries with their inclusion proofs against
	// Checkpoint, in any order; indexes MUST be distinct.
	Entries []Entry
	// Range, if not nil, is the range proof of an exported index range; its
	// Size MUST be the checkpoint's and Entries MUST be exactly
	// [Range.Start, Range.End).
	Range *ledger.RangeProof
	// Selection describes what was exported (runs, a range), as JSON. It is
	// copied into the manifest as is; nil for none.
	Selection json.RawMessage
	// Anchors are RFC 3161 time anchors over checkpoints of the log, written
	// under anchors/ (see AnchorFile). Each checkpoint MUST open with Keys
	// and be consistent with Checkpoint.
	Anchors []AnchorFile
	// Blobs opens the blob with the given hex SHA-256, for every artifact the
	// entries refer to (except blobs a tombstone among Entries records as
	// deleted). Write closes what it returns.
	Blobs func(ctx context.Context, sha256 string) (io.ReadCloser, error)
}

// Entry is one exported ledger entry.
type Entry struct {
	// Index is the entry's index in the log.
	Index int64
	// Bytes are the entry exactly as stored (canonical JSON).
	Bytes []byte
	// Proof is its inclusion proof in the checkpoint's tree (see
	// ledger.ProveInclusion).
	Proof []ledger.Hash
}

// Progress is a snapshot of the work done by Write or Verify, for a
// progress bar. Totals are known from the start. For Write, Bytes and
// TotalBytes count blob bytes only, by the sizes their entries declare; for
// Verify they count every file as the manifest lists it.
type Progress struct {
	Files, TotalFiles int
	Bytes, TotalBytes int64
}

// WriteOptions tunes Write. The zero value is valid.
type WriteOptions struct {
	// Progress, if not nil, is called after each file is written.
	Progress func(Progress)
	// Generator names the software writing the bundle, with its version
	// ("auditshot 1.4.0"); the report's cover shows it. Empty means
	// "auditshot".
	Generator string
	// PrintPDF, if not nil, prints the human report as report.pdf. It is
	// given a variant of report.html that needs no files and no network:
	// it describes at most MaxPrintEntries entries, images are inlined as
	// data: URIs (up to MaxInlineImage each, while the whole stays within
	// MaxPrintHTML; others get a note), and its Content-Security-Policy
	// forbids every fetch. It MUST return the PDF
	// bytes; an error fails Write. A printer SHOULD run the browser under
	// an egress policy that refuses all network. When PrintPDF is nil, or
	// the report is too large to print, the bundle has no report.pdf.
	PrintPDF func(ctx context.Context, html []byte) ([]byte, error)
}

// Write writes the bundle of c to w as a zip archive: the checkpoint, the
// keys, every entry and its inclusion proof, the range proof if any, the
// anchors if any, every blob the entries refer to (once each), and
// the human report (report.html, and report.pdf with opts.PrintPDF), and
// manifest.json last. The same contents and options give the same bytes,
// except that report.pdf is whatever the printer returns.
//
// Before writing anything, Write checks that the checkpoint opens with
// c.Keys, that every entry parses canonically and its proof verifies,
// that the range proof (if any) holds, and that every anchored checkpoint
// opens and is consistent with the checkpoint (tokens are not verified);
// errors wrap ErrInvalidContents. While
// copying a blob it checks its hash and size against the entry's artifact,
// and fails (ErrInvalidContents, naming the blob) on a mismatch; w then holds
// an incomplete archive that MUST be discarded.
func Write(ctx context.Context, w io.Writer, c Contents, opts WriteOptions) error {
	entries, parsed, blobs, err := plan(c)
	if err != nil {
		return err
	}
	rep, err := humanReport(c, entries, parsed, opts.Generator, MaxReportEntries)
	if err != nil {
		return fmt.Errorf("%w: report: %w", ErrInvalidContents, err)
	}
	html, err := rep.render(nil)
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	bw := &writer{zw: zip.NewWriter(w), progress: opts.Progress}
	var printed *reportData
	if opts.PrintPDF != nil {
		if printed, err = printModel(c, entries, parsed, opts.Generator); err != nil {
			return err
		}
		if printed != nil {
			bw.keep, bw.kept = printed.keep, map[string][]byte{}
		}
	}
	bw.p.TotalFiles = 2 + len(c.Keys) + 2*len(entries) + len(blobs)
	if bw.kept != nil {
		bw.p.TotalFiles++
	}
	if cps, err := checkpointSize(c.Checkpoint); err == nil {
		bw.p.TotalFiles += anchorFiles(c.Anchors, cps)
	}
	if c.Range != nil {
		bw.p.TotalFiles++
	}
	for _, b := range blobs {
		bw.p.TotalBytes += b.Size
	}
	if err := bw.small(c, entries); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		if err := bw.blob(ctx, c.Blobs, b); err != nil {
			return err
		}
	}
	if err := bw.file(ReportHTMLFile, bytes.NewReader(html), zip.Deflate, nil); err != nil {
		return err
	}
	if printed != nil {
		pdf, err := printed.printReport(ctx, opts.PrintPDF, bw.kept)
		if err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		if err := bw.file(ReportPDFFile, bytes.NewReader(pdf), zip.Store, nil); err != nil {
			return err
		}
	}
	m := Manifest{Format: FormatVersion, Origin: c.Origin, Selection: c.Selection, Files: bw.files}
	if c.Range != nil {
		m.Range = &Range{Start: c.Range.Start, End: c.Range.End}
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write bundle: manifest: %w", err)
	}
	if err := bw.file(ManifestFile, bytes.NewReader(append(mb, '\n')), zip.Deflate, nil); err != nil {
		return err
	}
	if err := bw.zw.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

// plan checks c and returns its entries sorted by index, parsed, and the
// artifacts to include, sorted by hash.
func plan(c Contents) ([]Entry, []ledger.Entry, []ledger.Artifact, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidContents, fmt.Sprintf(format, args...))
	}
	vs, err := ledger.NewVerifiers(c.Keys...)
	if err != nil {
		return nil, nil, nil, bad("keys: %v", err)
	}
	cp, _, err := ledger.OpenCheckpoint(c.Checkpoint, c.Origin, vs)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: checkpoint: %w", ErrInvalidContents, err)
	}
	entries := slices.Clone(c.Entries)
	slices.SortFunc(entries, func(a, b Entry) int { return cmp.Compare(a.Index, b.Index) })
	parsed := make([]ledger.Entry, len(entries))
	for i, e := range entries {
		if i > 0 && entries[i-1].Index == e.Index {
			return nil, nil, nil, bad("entry %d given twice", e.Index)
		}
		if parsed[i], err = ledger.Parse(e.Bytes); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: entry %d: %w", ErrInvalidContents, e.Index, err)
		}
		if err := ledger.VerifyInclusion(e.Index, cp.Size, ledger.LeafHash(e.Bytes), e.Proof, cp.Hash); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: entry %d: %w", ErrInvalidContents, e.Index, err)
		}
	}
	if r := c.Range; r != nil {
		if r.Size != cp.Size {
			return nil, nil, nil, bad("range proof is for size %d, checkpoint for %d", r.Size, cp.Size)
		}
		if int64(len(entries)) != r.End-r.Start || len(entries) == 0 || entries[0].Index != r.Start {
			return nil, nil, nil, bad("entries are not exactly the range [%d, %d)", r.Start, r.End)
		}
		leaves := make([]ledger.Hash, len(entries))
		for i, e := range entries {
			leaves[i] = ledger.LeafHash(e.Bytes)
		}
		if err := ledger.VerifyRange(r.Start, r.End, r.Size, leaves, r.Hashes, cp.Hash); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: range: %w", ErrInvalidContents, err)
		}
	}
	if err := planAnchors(c, cp, vs); err != nil {
		return nil, nil, nil, err
	}
	blobs := referencedBlobs(parsed)
	if len(blobs) > 0 && c.Blobs == nil {
		return nil, nil, nil, bad("entries refer to %d blobs and Blobs is nil", len(blobs))
	}
	return entries, parsed, blobs, nil
}

// referencedBlobs returns the artifacts the entries refer to, once per hash,
// sorted by hash, leaving out those a tombstone among them records as
// deleted (see Tombstoned).
func referencedBlobs(entries []ledger.Entry) []ledger.Artifact {
	gone := map[string]bool{}
	for _, e := range entries {
		for _, s := range Tombstoned(e) {
			gone[s] = true
		}
	}
	seen := map[string]bool{}
	var out []ledger.Artifact
	for _, e := range entries {
		if e.Type == ledger.TypeTombstone {
			continue
		}
		for _, a := range e.Artifacts {
			if !gone[a.SHA256] && !seen[a.SHA256] {
				seen[a.SHA256] = true
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b ledger.Artifact) int { return strings.Compare(a.SHA256, b.SHA256) })
	return out
}

// Tombstoned returns the hex SHA-256s of the blobs a tombstone entry
// records as deleted: its data's "sha256" member and every artifact it
// lists. It returns nil for entries of other types.
func Tombstoned(e ledger.Entry) []string {
	if e.Type != ledger.TypeTombstone {
		return nil
	}
	var out []string
	var d struct {
		SHA256 string `json:"sha256"`
	}
	if len(e.Data) > 0 && json.Unmarshal(e.Data, &d) == nil && isHexSHA256(d.SHA256) {
		out = append(out, d.SHA256)
	}
	for _, a := range e.Artifacts {
		out = append(out, a.SHA256)
	}
	return out
}

// writer writes the files of a bundle and records them for the manifest.
type writer struct {
	zw       *zip.Writer
	files    []File
	p        Progress
	progress func(Progress)
	// keep names the blobs to retain in kept, for the printed report.
	keep map[string]bool
	kept map[string][]byte
}

// small writes the checkpoint, keys, entries, proofs and range proof.
func (w *writer) small(c Contents, entries []Entry) error {
	if err := w.bytes(CheckpointFile, c.Checkpoint); err != nil {
		return err
	}
	keys := make(map[string]string, len(c.Keys))
	for _, k := range c.Keys {
		fp, err := ledger.KeyFingerprint(k)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidContents, err)
		}
		keys[KeysDir+fp+KeyExt] = k
	}
	w.p.TotalFiles -= len(c.Keys) - len(keys) // duplicates are written once
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		if err := w.bytes(name, []byte(keys[name]+"\n")); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := w.bytes(EntryName(e.Index), e.Bytes); err != nil {
			return err
		}
		pf, err := ledger.FormatProof(ledger.InclusionProof{Index: e.Index, Hashes: e.Proof, Checkpoint: c.Checkpoint})
		if err != nil {
			return fmt.Errorf("%w: entry %d: %w", ErrInvalidContents, e.Index, err)
		}
		if err := w.bytes(ProofName(e.Index), pf); err != nil {
			return err
		}
	}
	if c.Range != nil {
		rp, err := ledger.FormatRangeProof(*c.Range)
		if err != nil {
			return fmt.Errorf("%w: range: %w", ErrInvalidContents, err)
		}
		if err := w.bytes(RangeProofFile, rp); err != nil {
			return err
		}
	}
	size, err := checkpointSize(c.Checkpoint)
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %w", ErrInvalidContents, err)
	}
	return w.writeAnchors(c.Anchors, size)
}

func (w *writer) bytes(name string, b []byte) error {
	return w.file(name, bytes.NewReader(b), smallMethod, nil)
}

// blob copies one blob, checking its hash and size.
func (w *writer) blob(ctx context.Context, open func(context.Context, string) (io.ReadCloser, error), a ledger.Artifact) error {
	rc, err := open(ctx, a.SHA256)
	if err != nil {
		return fmt.Errorf("write bundle: blob %s: %w", a.SHA256, err)
	}
	defer rc.Close()
	// Limit to one byte more than declared, so a longer blob is detected
	// without copying all of it.
	r := io.LimitReader(rc, a.Size+1)
	check := func(f File) error {
		if f.SHA256 != a.SHA256 || f.Size != a.Size {
			return fmt.Errorf("%w: blob %s: content has SHA-256 %s and %d bytes (or more), want %d bytes",
				ErrInvalidContents, a.SHA256, f.SHA256, f.Size, a.Size)
		}
		return nil
	}
	var retained *bytes.Buffer
	if w.keep[a.SHA256] {
		retained = bytes.NewBuffer(make([]byte, 0, a.Size))
		r = io.TeeReader(r, retained)
	}
	// Artifacts are mostly compressed media; store them.
	if err := w.file(BlobName(a.SHA256), r, zip.Store, check); err != nil {
		return err
	}
	if retained != nil {
		w.kept[a.SHA256] = retained.Bytes()
	}
	w.p.Bytes += a.Size
	w.report()
	return nil
}

// file writes one file, hashing it, and records it. check, if not nil,
// vets the file before it is recorded.
func (w *writer) file(name string, r io.Reader, method uint16, check func(File) error) error {
	fw, err := w.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: zipTime})
	if err != nil {
		return fmt.Errorf("write bundle: %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(fw, h), r)
	if err != nil {
		return fmt.Errorf("write bundle: %s: %w", name, err)
	}
	f := File{Path: name, SHA256: hexSum(h), Size: n}
	if check != nil {
		if err := check(f); err != nil {
			return err
		}
	}
	if name != ManifestFile {
		w.files = append(w.files, f)
	}
	w.p.Files++
	if !strings.HasPrefix(name, BlobsDir) {
		w.report() // blobs report once their bytes are counted
	}
	return nil
}

func (w *writer) report() {
	if w.progress != nil && w.p.Files <= w.p.TotalFiles {
		w.progress(w.p)
	}
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
