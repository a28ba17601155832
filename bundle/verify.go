package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
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
	files map[string]zipMember
	// filePos are the positions in the archive of the files of m.Files.
	filePos []int
	names   []string          // the keys of files, sorted
	small   map[string][]byte // content of non-blob files, by path
	blobs   map[string]File   // actual hash and size of blob files, by name hash
	cp      *ledger.Checkpoint
	cpRaw   []byte
	// verifiers are the trusted keys the checkpoint was opened with.
	verifiers note.Verifiers
	// entries are the parsed entries by index.
	entries map[int64]ledger.Entry
	// idx are the indexes of the entries read, sorted; leaves their leaf
	// hashes.
	idx    []int64
	leaves []ledger.Hash
}

func (v *verifier) run(ctx context.Context, r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(newBlockCache(r, size), size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		v.layout("", "not a readable zip archive: %v", err)
		return nil
	}
	// The manifest is read and decoded while the archive's paths are
	// checked. readZipIndex indexes the first member of each name, so mf
	// is v.files[ManifestFile].
	var mf *zip.File
	for _, f := range zr.File {
		if f.Name == ManifestFile {
			mf = f
			break
		}
	}
	var md manifestData
	done := make(chan struct{})
	go func() {
		defer close(done)
		if mf != nil {
			md = decodeManifestFile(mf)
		}
	}()
	indexed := v.readZipIndex(zr)
	<-done
	if !indexed || !v.readManifest(md) {
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
	v.files = make(map[string]zipMember, len(zr.File))
	// The names by key: the first path element with its slash, or the
	// whole name.
	groups := map[string][]string{}
	for _, f := range zr.File {
		if err := checkPath(f.Name); err != nil {
			v.layout(f.Name, "unsafe path in the archive: %v", err)
			continue
		}
		if _, dup := v.files[f.Name]; dup {
			v.layout(f.Name, "path appears more than once in the archive")
			continue
		}
		v.files[f.Name] = zipMember{f, len(v.files)}
		key := f.Name
		if i := strings.IndexByte(key, '/'); i >= 0 {
			key = key[:i+1]
		}
		groups[key] = append(groups[key], f.Name)
	}
	// v.names is sorted group by group: names of different groups compare
	// as their keys do, and within a group, as Write writes it, the names
	// are in order already.
	v.names = make([]string, 0, len(v.files))
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		if !slices.IsSorted(g) {
			slices.Sort(g)
		}
		v.names = append(v.names, g...)
	}
	if v.files[ManifestFile].File == nil {
		v.layout(ManifestFile, "missing")
		return false
	}
	return true
}

// readManifest parses manifest.json and checks its file list against the
// archive; it returns false if the manifest is unusable.
func (v *verifier) readManifest(md manifestData) bool {
	switch {
	case md.readErr != nil:
		v.layout(ManifestFile, "unreadable: %v", md.readErr)
		return false
	case md.decodeErr != nil:
		v.layout(ManifestFile, "does not parse: %v", md.decodeErr)
		return false
	case md.trailing:
		v.layout(ManifestFile, "trailing data after the JSON object")
		return false
	}
	v.m = md.m
	if v.m.Format != FormatVersion {
		v.layout(ManifestFile, "format %q, want %q", v.m.Format, FormatVersion)
		return false
	}
	v.rep.Origin = v.m.Origin
	v.rep.Selection = string(v.m.Selection)
	if v.opts.Origin != "" && v.m.Origin != v.opts.Origin {
		v.layout(ManifestFile, "bundle is of log %q, want %q", v.m.Origin, v.opts.Origin)
	}
	// The checks of each line that do not depend on the others, in
	// parallel.
	type lineCheck struct {
		foreign, manifest, missing, invalid bool
		pos                                 int // in the archive, if not missing
	}
	checks := make([]lineCheck, len(v.m.Files))
	_ = parallel(context.Background(), (len(v.m.Files)+1023)/1024, func(c int) {
		for i := c * 1024; i < min(len(v.m.Files), (c+1)*1024); i++ {
			f := v.m.Files[i]
			k, _, _ := classify(f.Path)
			checks[i] = lineCheck{
				foreign:  checkPath(f.Path) != nil || k == kindUnknown,
				manifest: k == kindManifest,
				missing:  v.files[f.Path].File == nil,
				pos:      v.files[f.Path].pos,
				invalid:  f.Size < 0 || !isHexSHA256(f.SHA256),
			}
		}
	})
	// A manifest sorted by path, as Write makes it, lists no path twice;
	// then the listed paths are sorted too, and merged with the archive's
	// instead of put in a map.
	sorted := true
	for i := 1; sorted && i < len(v.m.Files); i++ {
		sorted = v.m.Files[i-1].Path < v.m.Files[i].Path
	}
	var listed map[string]bool
	var listedSorted []string
	if !sorted {
		listed = map[string]bool{ManifestFile: true}
	}
	list := func(p string) {
		if sorted {
			listedSorted = append(listedSorted, p)
		} else {
			listed[p] = true
		}
	}
	files := v.m.Files[:0:0]
	for i, f := range v.m.Files {
		switch c := checks[i]; {
		case c.foreign:
			v.layout(f.Path, "manifest lists a path that is not part of a bundle")
		case c.manifest || !sorted && listed[f.Path]:
			v.layout(f.Path, "manifest lists the file more than once")
		case c.missing:
			list(f.Path)
			v.layout(f.Path, "listed in the manifest but missing from the archive")
		case c.invalid:
			list(f.Path)
			v.layout(f.Path, "manifest line has an invalid size or SHA-256")
		default:
			list(f.Path)
			files = append(files, f)
			v.filePos = append(v.filePos, c.pos)
		}
	}
	if sorted {
		j := 0
		for _, name := range v.names {
			for j < len(listedSorted) && listedSorted[j] < name {
				j++
			}
			if name != ManifestFile && (j == len(listedSorted) || listedSorted[j] != name) {
				v.layout(name, "in the archive but not listed in the manifest")
			}
		}
	} else {
		for _, name := range v.names {
			if !listed[name] {
				v.layout(name, "in the archive but not listed in the manifest")
			}
		}
	}
	v.m.Files = files
	return true
}

// manifestData is manifest.json, read and decoded.
type manifestData struct {
	m         Manifest
	readErr   error // the manifest could not be read
	decodeErr error // it does not decode
	trailing  bool  // it holds more than the JSON object
}

// decodeManifestFile reads and decodes manifest.json.
func decodeManifestFile(f *zip.File) (md manifestData) {
	b, err := readFile(f, maxManifest)
	if err != nil {
		md.readErr = err
		return md
	}
	if m, ok := decodeOwnManifest(b); ok {
		md.m = m
		return md
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&md.m); err != nil {
		md.decodeErr = err
		return md
	}
	md.trailing = dec.More()
	return md
}

// fileResult is what hashFile found about one file.
type fileResult struct {
	ps      problems
	got     File   // actual hash and size, if read
	read    bool   // got is set
	content []byte // content of a small file, if read whole
	kind    kind   // the file's kind, and
	sha     string // its hash, if a blob (see classify)
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
	// Files are read in the order of the archive, for locality.
	byPos := make([]int, len(v.files))
	for i := range byPos {
		byPos[i] = -1
	}
	for i, pos := range v.filePos {
		byPos[pos] = i
	}
	order := slices.DeleteFunc(byPos, func(i int) bool { return i < 0 })
	err := parallel(ctx, len(order), func(j int) {
		i := order[j]
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
		switch k := r.kind; {
		case k == kindBlob:
			v.blobs[r.sha] = r.got
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
	r.kind, r.sha = k, sha
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
	rc, err := v.files[f.Path].File.Open()
	if err != nil {
		r.ps.layout(f.Path, "unreadable: %v", err)
		return r
	}
	defer rc.Close()
	var sum [sha256.Size]byte
	var n int64
	if k == kindBlob || k == kindReserved {
		h := sha256.New()
		bp := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(bp)
		// One byte more than listed, so a longer file is detected without
		// reading all of it.
		n, err = io.CopyBuffer(h, io.LimitReader(rc, f.Size+1), *bp)
		h.Sum(sum[:0])
	} else {
		// Read whole, as io.Copy(w, io.LimitReader(rc, f.Size+1)) would:
		// to EOF or one byte more than listed.
		buf := make([]byte, 0, f.Size+1)
		for len(buf) < cap(buf) {
			var m int
			m, err = rc.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				break
			}
		}
		n = int64(len(buf))
		sum = sha256.Sum256(buf)
		if n <= limit {
			r.content = buf
		}
	}
	if err != nil {
		r.content = nil
		r.ps.layout(f.Path, "unreadable: %v", err)
		return r
	}
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], sum[:])
	r.got, r.read = File{Path: f.Path, SHA256: f.SHA256, Size: n}, true
	if string(hexSum[:]) != f.SHA256 {
		r.got.SHA256 = string(hexSum[:])
	}
	if r.got != f {
		r.ps.add(ErrFileHash, f.Path, NoIndex, sha, nil, "content has SHA-256 %s and %d bytes (or more); the manifest says %s and %d bytes", r.got.SHA256, n, f.SHA256, f.Size)
	}
	return r
}

// copyBuffers are the buffers hashFile copies blobs with.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

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
	for _, name := range v.namesWithPrefix(KeysDir) {
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
	v.entries = map[int64]ledger.Entry{}
	// v.names is sorted, and entry and proof names have fixed-width
	// indexes: held, v.idx and proofs come out sorted by index.
	var held []int64 // indexes of the entries in the archive
	var raw [][]byte // the content of entries v.idx
	type proofFile struct {
		i    int64
		name string
	}
	var proofs []proofFile
	for _, name := range v.names {
		switch k, i, _ := classify(name); k {
		case kindEntry:
			held = append(held, i)
			if b, ok := v.small[name]; ok {
				v.idx = append(v.idx, i)
				raw = append(raw, b)
			}
		case kindProof:
			proofs = append(proofs, proofFile{i, name})
		}
	}
	j := 0
	for _, p := range proofs {
		for j < len(held) && held[j] < p.i {
			j++
		}
		if j == len(held) || held[j] != p.i {
			v.problem(ErrInclusion, p.name, p.i, "", nil, "inclusion proof for an entry the bundle does not hold")
		}
	}
	idx := v.idx
	results := make([]entryResult, len(idx))
	// Entries are checked in chunks of consecutive indexes, each with its
	// own inclusionMemo.
	const chunk = 1024
	err := parallel(ctx, (len(idx)+chunk-1)/chunk, func(c int) {
		var m *inclusionMemo
		if v.cp != nil {
			m = &inclusionMemo{size: v.cp.Size, root: v.cp.Hash}
		}
		for k := c * chunk; k < min(len(idx), (c+1)*chunk); k++ {
			results[k] = v.checkEntry(idx[k], raw[k], m)
		}
	})
	if err != nil {
		return fmt.Errorf("verify bundle: %w", err)
	}
	v.leaves = make([]ledger.Hash, len(idx))
	for k, r := range results {
		v.leaves[k] = r.leaf
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
	leaf   ledger.Hash
}

// checkEntry parses entry i and verifies its inclusion proof. It only
// reads the verifier's state, so that entries are checked in parallel; m,
// which is nil if the checkpoint did not open, is the memo of the calling
// goroutine, and entries MUST be checked in increasing index order with it.
func (v *verifier) checkEntry(i int64, b []byte, m *inclusionMemo) (r entryResult) {
	name := EntryName(i)
	r.leaf = ledger.LeafHash(b)
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
	// The fast path: a proof exactly as Write makes it, against the
	// bundle's checkpoint (opened), that verifies.
	if m != nil {
		if hs, ok := parseOwnProof(pb, i, v.cpRaw, m.buf); ok {
			m.buf = hs
			if m.verify(i, r.leaf, m.keep(hs)) {
				return r
			}
		}
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
		if err := ledger.VerifyInclusion(i, v.cp.Size, r.leaf, p.Hashes, v.cp.Hash); err != nil {
			r.ps.add(ErrInclusion, name, i, "", err, "not in the log at this index: %v", err)
		}
	}
	return r
}

// namesWithPrefix returns the names of v.names that begin with prefix.
func (v *verifier) namesWithPrefix(prefix string) []string {
	i, _ := slices.BinarySearch(v.names, prefix)
	j := i
	for j < len(v.names) && strings.HasPrefix(v.names[j], prefix) {
		j++
	}
	return v.names[i:j]
}

// zipMember is a member of the archive and its position in it (among the
// members indexed).
type zipMember struct {
	*zip.File
	pos int
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
