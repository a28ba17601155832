package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/rfc3161"
	"golang.org/x/mod/sumdb/note"
)

// VerifyOptions tunes Verify. The zero value verifies with the bundle's own
// keys (and says so in the report).
type VerifyOptions struct {
	// Keys are the verifier keys (note vkey text) the auditor trusts to sign
	// the log's checkpoints, given out of band (auditshot verify --key). If
	// empty, the bundle's keys/ are used and the report warns
	// (KeysFromBundleWarning).
	Keys []string
	// Origin, if not empty, is the log the auditor expects; a bundle of
	// another origin fails.
	Origin string
	// Progress, if not nil, is called after each file is hashed; calls are
	// serialised but may come from several goroutines.
	Progress func(Progress)
	// Now returns the current time; time.Now if nil.
	Now func() time.Time
	// TSARoots are the roots the auditor trusts to certify time-stamping
	// authorities (auditshot verify --tsa-root). If nil, the bundle's
	// anchors are listed as unchecked with NoTSARootsWarning, and entries'
	// times are not checked.
	TSARoots *x509.CertPool
	// AnchorTolerance is how far an entry's claimed time may fall outside
	// the window its anchors allow; zero means DefaultAnchorTolerance.
	AnchorTolerance time.Duration
}

// Verify checks the evidence bundle in r (a zip of size bytes) offline,
// without trusting whoever made it:
//
//   - the archive's paths are safe and unique, manifest.json parses and
//     lists every other file exactly once, and every file's SHA-256 and size
//     match it;
//   - the checkpoint is of the manifest's origin and carries a valid
//     signature by a trusted key (signatures by unknown keys are ignored);
//   - every entry is canonical, and its inclusion proof is against the
//     bundle's checkpoint and verifies;
//   - with range.proof, the entries are exactly its range, none missing or
//     extra, and the range proof verifies against the checkpoint;
//   - every artifact an entry refers to is in blobs/ with the right hash and
//     size, unless a tombstone entry in the bundle records its deletion;
//   - with opts.TSARoots, every anchor's checkpoint opens with the trusted
//     keys and is consistent with the bundle's, its RFC 3161 token verifies
//     (see rfc3161.Verify) and, if the bundle holds the anchor entry, is the
//     token that entry records; then every entry's claimed time lies in the
//     window the anchors allow: not after the time of an anchor over a
//     checkpoint that holds it, not before the time of an anchor over a
//     checkpoint that does not (each within opts.AnchorTolerance).
//
// It always returns a non-nil Report listing what was checked and every
// problem with its culprit. The error is nil if all held, a *VerifyError
// (wrapping ErrFailed) if not, and another error if verification could not
// run (ctx cancelled, r failed, invalid opts.Keys); then the Report is
// incomplete. Files are read and checked on several goroutines, so r
// receives concurrent ReadAt calls, as io.ReaderAt allows.
func Verify(ctx context.Context, r io.ReaderAt, size int64, opts VerifyOptions) (*Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	v := &verifier{opts: opts, rep: &Report{VerifiedAt: now()}, small: map[string][]byte{}, blobs: map[string]File{}}
	if err := v.run(ctx, r, size); err != nil {
		return v.rep, err
	}
	return v.rep, v.rep.Err()
}

// verifier holds the state of one Verify.
type verifier struct {
	opts  VerifyOptions
	rep   *Report
	m     Manifest
	files map[string]*zip.File
	names []string          // the keys of files, sorted
	small map[string][]byte // content of non-blob files, by path
	blobs map[string]File   // actual hash and size of blob files, by name hash
	cp    *ledger.Checkpoint
	cpRaw []byte
	// verifiers are the trusted keys the checkpoint was opened with.
	verifiers note.Verifiers
	// entries are the parsed entries by index; raw their bytes.
	entries map[int64]ledger.Entry
	raw     map[int64][]byte
}

func (v *verifier) run(ctx context.Context, r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		v.layout("", "not a readable zip archive: %v", err)
		return nil
	}
	if !v.readZipIndex(zr) || !v.readManifest() {
		return nil
	}
	if err := v.hashFiles(ctx); err != nil {
		return err
	}
	if err := v.openCheckpoint(); err != nil {
		return err
	}
	if err := v.checkEntries(ctx); err != nil {
		return err
	}
	v.checkRange()
	v.checkBlobs()
	v.checkAnchors()
	return nil
}

// problems collects problems; checks that run in parallel each fill their
// own, merged in a fixed order so that reports are deterministic.
type problems []Problem

// add records a problem of the given category.
func (ps *problems) add(cat error, file string, index int64, blob string, cause error, format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	err := fmt.Errorf("%w: %s", cat, reason)
	if cause != nil {
		err = fmt.Errorf("%w: %s: %w", cat, reason, cause)
	}
	*ps = append(*ps, Problem{File: file, Index: index, Blob: blob, Reason: reason, Err: err})
}

func (ps *problems) layout(file, format string, args ...any) {
	ps.add(ErrLayout, file, NoIndex, "", nil, format, args...)
}

// problem records a problem of the given category in the report.
func (v *verifier) problem(cat error, file string, index int64, blob string, cause error, format string, args ...any) {
	(*problems)(&v.rep.Problems).add(cat, file, index, blob, cause, format, args...)
}

func (v *verifier) layout(file, format string, args ...any) {
	(*problems)(&v.rep.Problems).layout(file, format, args...)
}

// parallel calls fn(i) for every i in [0, n) on up to GOMAXPROCS
// goroutines. fn MUST only write state of its own i.
func parallel(ctx context.Context, n int, fn func(i int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// readZipIndex checks the archive's paths and indexes its files; it
// returns false if the manifest cannot be found.
func (v *verifier) readZipIndex(zr *zip.Reader) bool {
	v.files = make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		if err := checkPath(f.Name); err != nil {
			v.layout(f.Name, "unsafe path in the archive: %v", err)
			continue
		}
		if _, dup := v.files[f.Name]; dup {
			v.layout(f.Name, "path appears more than once in the archive")
			continue
		}
		v.files[f.Name] = f
	}
	v.names = slices.Sorted(maps.Keys(v.files))
	if v.files[ManifestFile] == nil {
		v.layout(ManifestFile, "missing")
		return false
	}
	return true
}

// readManifest parses manifest.json and checks its file list against the
// archive; it returns false if the manifest is unusable.
func (v *verifier) readManifest() bool {
	b, err := readFile(v.files[ManifestFile], maxManifest)
	if err != nil {
		v.layout(ManifestFile, "unreadable: %v", err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&v.m); err != nil {
		v.layout(ManifestFile, "does not parse: %v", err)
		return false
	}
	if dec.More() {
		v.layout(ManifestFile, "trailing data after the JSON object")
		return false
	}
	if v.m.Format != FormatVersion {
		v.layout(ManifestFile, "format %q, want %q", v.m.Format, FormatVersion)
		return false
	}
	v.rep.Origin = v.m.Origin
	v.rep.Selection = string(v.m.Selection)
	if v.opts.Origin != "" && v.m.Origin != v.opts.Origin {
		v.layout(ManifestFile, "bundle is of log %q, want %q", v.m.Origin, v.opts.Origin)
	}
	listed := map[string]bool{ManifestFile: true}
	files := v.m.Files[:0:0]
	for _, f := range v.m.Files {
		switch k, _, _ := classify(f.Path); {
		case checkPath(f.Path) != nil || k == kindUnknown:
			v.layout(f.Path, "manifest lists a path that is not part of a bundle")
		case k == kindManifest || listed[f.Path]:
			v.layout(f.Path, "manifest lists the file more than once")
		case v.files[f.Path] == nil:
			listed[f.Path] = true
			v.layout(f.Path, "listed in the manifest but missing from the archive")
		case f.Size < 0 || !isHexSHA256(f.SHA256):
			listed[f.Path] = true
			v.layout(f.Path, "manifest line has an invalid size or SHA-256")
		default:
			listed[f.Path] = true
			files = append(files, f)
		}
	}
	for _, name := range v.names {
		if !listed[name] {
			v.layout(name, "in the archive but not listed in the manifest")
		}
	}
	v.m.Files = files
	return true
}

// fileResult is what hashFile found about one file.
type fileResult struct {
	ps      problems
	got     File   // actual hash and size, if read
	read    bool   // got is set
	content []byte // content of a small file, if read whole
}

// hashFiles reads every listed file once, in parallel, checks it against
// its manifest line, and keeps the content of small files and the actual
// hash of blobs.
func (v *verifier) hashFiles(ctx context.Context) error {
	var p Progress
	p.TotalFiles = len(v.m.Files)
	for _, f := range v.m.Files {
		p.TotalBytes += f.Size
	}
	var mu sync.Mutex
	results := make([]fileResult, len(v.m.Files))
	err := parallel(ctx, len(v.m.Files), func(i int) {
		f := v.m.Files[i]
		results[i] = v.hashFile(f)
		if v.opts.Progress != nil {
			mu.Lock()
			defer mu.Unlock()
			p.Files++
			p.Bytes += f.Size
			v.opts.Progress(p)
		}
	})
	if err != nil {
		return fmt.Errorf("verify bundle: %w", err)
	}
	for i, f := range v.m.Files {
		r := results[i]
		v.rep.Problems = append(v.rep.Problems, r.ps...)
		if !r.read {
			continue
		}
		switch k, _, sha := classify(f.Path); {
		case k == kindBlob:
			v.blobs[sha] = r.got
		case k == kindReserved:
			v.rep.Unchecked = append(v.rep.Unchecked, f.Path)
		case r.content != nil:
			v.small[f.Path] = r.content
		}
	}
	return nil
}

func (v *verifier) hashFile(f File) (r fileResult) {
	k, _, sha := classify(f.Path)
	limit := int64(maxSmallFile)
	switch k {
	case kindEntry:
		limit = maxEntryFile
	case kindAnchor:
		limit = max(maxSmallFile, rfc3161.MaxTokenSize)
	case kindBlob, kindReserved:
		limit = f.Size
	}
	if f.Size > limit {
		r.ps.layout(f.Path, "%d bytes, more than the %d allowed", f.Size, limit)
		return r
	}
	rc, err := v.files[f.Path].Open()
	if err != nil {
		r.ps.layout(f.Path, "unreadable: %v", err)
		return r
	}
	defer rc.Close()
	h := sha256.New()
	var buf *bytes.Buffer
	w := io.Writer(h)
	if k != kindBlob && k != kindReserved {
		buf = bytes.NewBuffer(make([]byte, 0, f.Size+1))
		w = io.MultiWriter(h, buf)
	}
	// One byte more than listed, so a longer file is detected without
	// reading all of it.
	n, err := io.Copy(w, io.LimitReader(rc, f.Size+1))
	if err != nil {
		r.ps.layout(f.Path, "unreadable: %v", err)
		return r
	}
	r.got, r.read = File{Path: f.Path, SHA256: hexSum(h), Size: n}, true
	if r.got != f {
		r.ps.add(ErrFileHash, f.Path, NoIndex, sha, nil, "content has SHA-256 %s and %d bytes (or more); the manifest says %s and %d bytes", r.got.SHA256, n, f.SHA256, f.Size)
	}
	if buf != nil && n <= limit {
		r.content = buf.Bytes()
	}
	return r
}

// openCheckpoint opens the checkpoint with the trusted keys.
func (v *verifier) openCheckpoint() error {
	raw, ok := v.small[CheckpointFile]
	if !ok {
		v.problem(ErrCheckpoint, CheckpointFile, NoIndex, "", nil, "missing or unreadable")
		return nil
	}
	v.cpRaw = raw
	keys, own := v.opts.Keys, v.bundleKeys()
	if len(keys) == 0 {
		v.rep.KeysFromBundle = true
		v.rep.Warnings = append(v.rep.Warnings, KeysFromBundleWarning)
		keys = own
	}
	vs := make([]note.Verifier, 0, len(keys))
	fps := map[string]string{} // "name+hash" -> fingerprint
	for _, k := range keys {
		nv, err := ledger.NewVerifier(k)
		if err != nil {
			if v.rep.KeysFromBundle {
				continue // reported by bundleKeys
			}
			return fmt.Errorf("verify bundle: trusted key: %w", err)
		}
		fp, _ := ledger.KeyFingerprint(k)
		fps[fmt.Sprintf("%s+%08x", nv.Name(), nv.KeyHash())] = fp
		vs = append(vs, nv)
	}
	v.verifiers = note.VerifierList(vs...)
	cp, n, err := ledger.OpenCheckpoint(raw, v.m.Origin, v.verifiers)
	if err != nil {
		v.problem(ErrCheckpoint, CheckpointFile, NoIndex, "", err, "%v", err)
		return nil
	}
	v.cp = &cp
	v.rep.CheckpointSize = cp.Size
	v.rep.CheckpointRoot = cp.Hash.String()
	for _, s := range n.Sigs {
		v.rep.KeyFingerprints = append(v.rep.KeyFingerprints, fps[fmt.Sprintf("%s+%08x", s.Name, s.Hash)])
	}
	for _, s := range n.UnverifiedSigs {
		v.rep.IgnoredSignatures = append(v.rep.IgnoredSignatures, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return nil
}

// bundleKeys returns the verifier keys in keys/, reporting invalid ones
// (whether or not they are used).
func (v *verifier) bundleKeys() []string {
	var keys []string
	for _, name := range v.names {
		if k, _, _ := classify(name); k != kindKey || v.small[name] == nil {
			continue
		}
		key, ok := strings.CutSuffix(string(v.small[name]), "\n")
		fp, err := ledger.KeyFingerprint(key)
		switch {
		case !ok || strings.Contains(key, "\n"):
			v.layout(name, "want one verifier key and a newline")
		case err != nil:
			v.layout(name, "not a verifier key: %v", err)
		case name != KeysDir+fp+KeyExt:
			v.layout(name, "named after fingerprint %s", fp)
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

// checkEntries parses every entry and verifies its inclusion proof.
func (v *verifier) checkEntries(ctx context.Context) error {
	v.entries, v.raw = map[int64]ledger.Entry{}, map[int64][]byte{}
	proofs := map[int64]string{}
	for _, name := range v.names {
		switch k, i, _ := classify(name); k {
		case kindEntry:
			if b, ok := v.small[name]; ok {
				v.raw[i] = b
			}
		case kindProof:
			proofs[i] = name
		}
	}
	for _, i := range slices.Sorted(maps.Keys(proofs)) {
		if v.files[EntryName(i)] == nil {
			v.problem(ErrInclusion, proofs[i], i, "", nil, "inclusion proof for an entry the bundle does not hold")
		}
	}
	idx := slices.Sorted(maps.Keys(v.raw))
	results := make([]entryResult, len(idx))
	if err := parallel(ctx, len(idx), func(k int) { results[k] = v.checkEntry(idx[k], v.raw[idx[k]]) }); err != nil {
		return fmt.Errorf("verify bundle: %w", err)
	}
	for k, r := range results {
		v.rep.Problems = append(v.rep.Problems, r.ps...)
		if r.parsed {
			v.entries[idx[k]] = r.e
			v.rep.Entries++
		}
	}
	return nil
}

// entryResult is what checkEntry found about one entry.
type entryResult struct {
	ps     problems
	e      ledger.Entry
	parsed bool
}

// checkEntry parses entry i and verifies its inclusion proof. It only
// reads the verifier's state, so that entries are checked in parallel.
func (v *verifier) checkEntry(i int64, b []byte) (r entryResult) {
	name := EntryName(i)
	e, err := ledger.Parse(b)
	if err != nil {
		r.ps.add(ErrEntry, name, i, "", err, "%v", err)
		return r
	}
	r.e, r.parsed = e, true
	pname := ProofName(i)
	pb, ok := v.small[pname]
	if !ok {
		r.ps.add(ErrInclusion, pname, i, "", nil, "inclusion proof missing or unreadable")
		return r
	}
	p, err := ledger.ParseProof(pb)
	switch {
	case err != nil:
		r.ps.add(ErrInclusion, pname, i, "", err, "%v", err)
	case len(p.Extra) > 0:
		r.ps.add(ErrInclusion, pname, i, "", nil, "proof carries extra data, which bundles of format %s do not have", FormatVersion)
	case p.Index != i:
		r.ps.add(ErrInclusion, pname, i, "", nil, "proof is for index %d", p.Index)
	case !bytes.Equal(p.Checkpoint, v.cpRaw):
		r.ps.add(ErrInclusion, pname, i, "", nil, "proof is against another checkpoint than the bundle's")
	case v.cp == nil:
		// Reported at the checkpoint; nothing to verify against.
	default:
		if err := ledger.VerifyInclusion(i, v.cp.Size, ledger.LeafHash(b), p.Hashes, v.cp.Hash); err != nil {
			r.ps.add(ErrInclusion, name, i, "", err, "not in the log at this index: %v", err)
		}
	}
	return r
}

// readFile reads a whole zip member of at most limit bytes.
func readFile(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}
