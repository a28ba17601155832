package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/rfc3161"
	"golang.org/x/mod/sumdb/note"
)

// DefaultAnchorTolerance is the VerifyOptions.AnchorTolerance used when it
// is zero: how far an entry's claimed time may stray past the window its
// anchors allow before Verify calls it forged. It absorbs the skew between
// the log's clock and the TSA's, and the TSA's latency.
const DefaultAnchorTolerance = 5 * time.Minute

// Extensions of the files of an anchor, "anchors/<n>" plus one of these,
// where <n> numbers the anchors of a bundle from 0 with indexDigits digits.
// Other names under anchors/ are reserved: Verify checks their hash only.
const (
	AnchorCheckpointExt  = ".checkpoint"  // the anchored checkpoint's signed note
	AnchorTokenExt       = ".tst"         // the DER RFC 3161 TimeStampToken over it
	AnchorConsistencyExt = ".consistency" // consistency proof to the bundle's checkpoint
)

// NoTSARootsWarning is the warning a Report carries when the bundle holds
// anchors and no trusted TSA roots were given: their tokens, and so the
// entries' times, are not checked.
const NoTSARootsWarning = "time anchors not checked: no trusted TSA root given (auditshot verify --tsa-root)"

// AnchorFile is an RFC 3161 time anchor exported in a bundle: a token over
// the SHA-256 of a signed checkpoint of the log. The anchored checkpoint may
// be of another size than the bundle's (usually older); Consistency then
// proves that one tree is a prefix of the other.
type AnchorFile struct {
	// CheckpointNote is the anchored checkpoint, exactly as signed; it MUST
	// open with the bundle's keys and be of its origin.
	CheckpointNote []byte
	// Token is the DER TimeStampToken whose message imprint is the SHA-256
	// of CheckpointNote.
	Token []byte
	// Consistency is the consistency proof between the smaller and the
	// larger of the anchored and the bundle's checkpoint (see
	// ledger.ProveConsistency); nil when their sizes are equal or one is 0.
	Consistency []ledger.Hash
}

// AnchorResult is an anchor Verify checked.
type AnchorResult struct {
	// File is the anchor's token file.
	File string
	// CheckpointSize is the size of the anchored checkpoint.
	CheckpointSize int64
	// GenTime is the time the TSA attests; zero if the token did not
	// verify or was not checked.
	GenTime time.Time
	// TSA is the subject of the TSA's certificate, if verified.
	TSA string
	// Verified is true if the checkpoint, its consistency with the
	// bundle's checkpoint and the token all verified.
	Verified bool
}

// AnchorName returns the path of file ext of anchor n of a bundle.
func AnchorName(n int, ext string) string { return anchorsDir + padIndex(int64(n)) + ext }

// parseAnchorName returns the number and extension of an anchor file.
func parseAnchorName(p string) (int64, string, bool) {
	name, ok := strings.CutPrefix(p, anchorsDir)
	if !ok {
		return 0, "", false
	}
	for _, ext := range []string{AnchorCheckpointExt, AnchorTokenExt, AnchorConsistencyExt} {
		if base, ok := strings.CutSuffix(name, ext); ok {
			n, ok := parseIndex(base)
			return n, ext, ok
		}
	}
	return 0, "", false
}

// planAnchors checks the anchors of c against the bundle's checkpoint cp:
// each checkpoint opens with the keys and is consistent with cp. It does not
// verify tokens: the exporter need not hold the auditor's TSA roots.
func planAnchors(c Contents, cp ledger.Checkpoint, vs note.Verifiers) error {
	for n, a := range c.Anchors {
		acp, _, err := ledger.OpenCheckpoint(a.CheckpointNote, c.Origin, vs)
		if err != nil {
			return fmt.Errorf("%w: anchor %d: checkpoint: %w", ErrInvalidContents, n, err)
		}
		if len(a.Token) == 0 || len(a.Token) > rfc3161.MaxTokenSize {
			return fmt.Errorf("%w: anchor %d: token is %d bytes", ErrInvalidContents, n, len(a.Token))
		}
		if err := consistent(acp, cp, a.Consistency); err != nil {
			return fmt.Errorf("%w: anchor %d: %w", ErrInvalidContents, n, err)
		}
	}
	return nil
}

// consistent checks that checkpoints a and b describe one history, with p
// the consistency proof from the smaller to the larger.
func consistent(a, b ledger.Checkpoint, p []ledger.Hash) error {
	if a.Size > b.Size {
		a, b = b, a
	}
	if a.Size == b.Size {
		if a.Hash != b.Hash {
			return fmt.Errorf("two checkpoints of size %d with different roots", a.Size)
		}
		return nil
	}
	if a.Size == 0 {
		return nil
	}
	if err := ledger.VerifyConsistency(a.Size, b.Size, p, a.Hash, b.Hash); err != nil {
		return fmt.Errorf("tree of size %d is not a prefix of tree of size %d: %w", a.Size, b.Size, err)
	}
	return nil
}

// writeAnchors writes the files of every anchor against the bundle
// checkpoint of size size.
func (w *writer) writeAnchors(anchors []AnchorFile, size int64) error {
	for n, a := range anchors {
		if err := w.bytes(AnchorName(n, AnchorCheckpointExt), a.CheckpointNote); err != nil {
			return err
		}
		if err := w.bytes(AnchorName(n, AnchorTokenExt), a.Token); err != nil {
			return err
		}
		old, err := checkpointSize(a.CheckpointNote)
		if err != nil {
			return fmt.Errorf("%w: anchor %d: %w", ErrInvalidContents, n, err)
		}
		if old == size || old == 0 || size == 0 {
			continue
		}
		pf, err := ledger.FormatConsistencyProof(ledger.ConsistencyProof{OldSize: min(old, size), NewSize: max(old, size), Hashes: a.Consistency})
		if err != nil {
			return fmt.Errorf("%w: anchor %d: %w", ErrInvalidContents, n, err)
		}
		if err := w.bytes(AnchorName(n, AnchorConsistencyExt), pf); err != nil {
			return err
		}
	}
	return nil
}

// anchorFiles returns the number of files writeAnchors writes.
func anchorFiles(anchors []AnchorFile, size int64) int {
	n := 0
	for _, a := range anchors {
		n += 2
		if old, err := checkpointSize(a.CheckpointNote); err == nil && old != size && old != 0 && size != 0 {
			n++
		}
	}
	return n
}

// checkpointSize parses the size of a signed checkpoint without opening it.
func checkpointSize(msg []byte) (int64, error) {
	text, _, ok := strings.Cut(string(msg), "\n\n")
	if !ok {
		return 0, errors.New("checkpoint is not a signed note")
	}
	cp, err := ledger.ParseCheckpoint([]byte(text + "\n"))
	if err != nil {
		return 0, err
	}
	return cp.Size, nil
}

// anchorWindow is a verified anchor, as the time check uses it.
type anchorWindow struct {
	file string
	size int64
	t    time.Time
}

// checkAnchors verifies every anchor of the bundle and then the claimed
// time of every entry against them.
func (v *verifier) checkAnchors() {
	groups := map[int64]map[string]string{} // anchor number -> ext -> path
	for _, name := range v.namesWithPrefix(anchorsDir) {
		if k, _, _ := classify(name); k != kindAnchor {
			continue
		}
		n, ext, _ := parseAnchorName(name)
		if groups[n] == nil {
			groups[n] = map[string]string{}
		}
		groups[n][ext] = name
	}
	if len(groups) == 0 {
		return
	}
	if v.opts.TSARoots == nil {
		v.rep.Warnings = append(v.rep.Warnings, NoTSARootsWarning)
		for _, n := range slices.Sorted(maps.Keys(groups)) {
			v.rep.Unchecked = append(v.rep.Unchecked, slices.Sorted(maps.Values(groups[n]))...)
		}
		return
	}
	tokens := v.anchorTokens()
	var windows []anchorWindow
	for _, n := range slices.Sorted(maps.Keys(groups)) {
		res := v.checkAnchor(n, groups[n], tokens)
		v.rep.Anchors = append(v.rep.Anchors, res)
		if res.Verified {
			windows = append(windows, anchorWindow{file: res.File, size: res.CheckpointSize, t: res.GenTime})
		}
	}
	v.checkTimes(windows)
}

// anchorTokens returns, for each checkpoint digest (hex) that anchor
// entries of the bundle record, the hex SHA-256s of their tokens.
func (v *verifier) anchorTokens() map[string][]string {
	out := map[string][]string{}
	for _, i := range slices.Sorted(maps.Keys(v.entries)) {
		e := v.entries[i]
		if e.Type != ledger.TypeAnchor {
			continue
		}
		var d struct {
			CheckpointSHA256 string `json:"checkpoint_sha256"`
			TokenSHA256      string `json:"token_sha256"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.CheckpointSHA256 != "" {
			out[d.CheckpointSHA256] = append(out[d.CheckpointSHA256], d.TokenSHA256)
		}
	}
	return out
}

// checkAnchor verifies anchor n, whose files by extension are files.
func (v *verifier) checkAnchor(n int64, files map[string]string, tokens map[string][]string) AnchorResult {
	cpName, tokName := files[AnchorCheckpointExt], files[AnchorTokenExt]
	res := AnchorResult{File: tokName}
	bad := func(file string, cause error, format string, args ...any) AnchorResult {
		v.problem(ErrAnchor, file, NoIndex, "", cause, format, args...)
		return res
	}
	if cpName == "" || tokName == "" {
		if res.File == "" {
			res.File = cpName + files[AnchorConsistencyExt]
		}
		return bad(res.File, nil, "anchor %d lacks its checkpoint or token file", n)
	}
	note, tok := v.small[cpName], v.small[tokName]
	if note == nil || tok == nil {
		return bad(tokName, nil, "anchor files unreadable")
	}
	acp, _, err := ledger.OpenCheckpoint(note, v.m.Origin, v.verifiers)
	if err != nil {
		return bad(cpName, err, "anchored checkpoint does not open with the trusted keys: %v", err)
	}
	res.CheckpointSize = acp.Size
	if v.cp != nil {
		if err := v.anchorConsistent(acp, files[AnchorConsistencyExt]); err != nil {
			return bad(cpName, err, "anchored checkpoint is not consistent with the bundle's: %v", err)
		}
	}
	digest := sha256.Sum256(note)
	t, err := rfc3161.VerifyToken(tok, digest, v.opts.TSARoots, v.rep.VerifiedAt)
	if err != nil {
		return bad(tokName, err, "time-stamp token does not verify: %v", err)
	}
	tokSum := sha256.Sum256(tok)
	if want, ok := tokens[hex.EncodeToString(digest[:])]; ok && !slices.Contains(want, hex.EncodeToString(tokSum[:])) {
		return bad(tokName, nil, "token is not the one the log's anchor entry records")
	}
	res.GenTime, res.TSA, res.Verified = t.GenTime, t.Signer.Subject.String(), true
	return res
}

// anchorConsistent checks the anchored checkpoint acp against the bundle's,
// with the consistency proof in file proofName (if any).
func (v *verifier) anchorConsistent(acp ledger.Checkpoint, proofName string) error {
	var hashes []ledger.Hash
	if proofName != "" && acp.Size != v.cp.Size {
		p, err := ledger.ParseConsistencyProof(v.small[proofName])
		if err != nil {
			return err
		}
		if p.OldSize != min(acp.Size, v.cp.Size) || p.NewSize != max(acp.Size, v.cp.Size) {
			return fmt.Errorf("consistency proof is for sizes %d and %d", p.OldSize, p.NewSize)
		}
		hashes = p.Hashes
	}
	return consistent(acp, *v.cp, hashes)
}

// checkTimes checks every entry's claimed time against the verified
// anchors: an entry inside an anchored checkpoint existed when it was
// stamped, so its time MUST NOT be later than the stamp; an entry after it
// was appended later, so its time MUST NOT be earlier (back-dating). Both
// allow the tolerance.
func (v *verifier) checkTimes(windows []anchorWindow) {
	tol := v.opts.AnchorTolerance
	if tol == 0 {
		tol = DefaultAnchorTolerance
	}
	for _, i := range slices.Sorted(maps.Keys(v.entries)) {
		t := v.entries[i].Time
		for _, w := range windows {
			// One problem per entry: the first anchor it contradicts.
			switch {
			case i < w.size && t.After(w.t.Add(tol)):
				v.problem(ErrTime, EntryName(i), i, "", nil,
					"claimed time %s is after %s, when anchor %s attests the log already held this entry (checkpoint of %d entries): the time is forged",
					t.Format(time.RFC3339Nano), w.t.Format(time.RFC3339Nano), w.file, w.size)
				return
			case i >= w.size && t.Before(w.t.Add(-tol)):
				v.problem(ErrTime, EntryName(i), i, "", nil,
					"claimed time %s is before %s, when anchor %s attests the log held only %d entries, not this one: the entry is back-dated",
					t.Format(time.RFC3339Nano), w.t.Format(time.RFC3339Nano), w.file, w.size)
			}
		}
	}
}
