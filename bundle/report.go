package bundle

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Errors of verification. Every Problem's Err wraps exactly one of the
// categories below, and the error Verify returns for a bundle that does not
// verify wraps ErrFailed and every problem's Err, so callers can branch with
// errors.Is.
var (
	// ErrFailed is wrapped by the error Verify returns when any check fails.
	ErrFailed = errors.New("evidence bundle does not verify")
	// ErrLayout means the archive or its manifest is malformed: unreadable
	// zip, unsafe or duplicate paths, files missing from the manifest or the
	// archive, unexpected files.
	ErrLayout = errors.New("malformed bundle")
	// ErrFileHash means a file's content does not match its manifest line.
	ErrFileHash = errors.New("file does not match the manifest")
	// ErrCheckpoint means the checkpoint does not open with the trusted keys.
	ErrCheckpoint = errors.New("checkpoint not verified")
	// ErrEntry means an entry is not a canonical ledger entry.
	ErrEntry = errors.New("invalid entry")
	// ErrInclusion means an entry's inclusion proof is missing, malformed,
	// against another checkpoint, or does not verify.
	ErrInclusion = errors.New("entry not proved in the log")
	// ErrRange means an exported range is incomplete or its range proof does
	// not verify.
	ErrRange = errors.New("range not proved complete")
	// ErrBlob means an artifact is missing or its content does not match.
	ErrBlob = errors.New("artifact missing or altered")
	// ErrAnchor means a time anchor does not verify: its checkpoint does not
	// open or is not consistent with the bundle's, or its RFC 3161 token
	// does not verify with the trusted TSA roots.
	ErrAnchor = errors.New("time anchor not verified")
	// ErrTime means an entry's claimed time lies outside the window its
	// verified anchors allow: it was forged or back-dated.
	ErrTime = errors.New("entry time contradicts a time anchor")
	// ErrFork means two validly signed checkpoints of a log are not
	// consistent: the log's history was rewritten (see CheckConsistency).
	ErrFork = errors.New("log history forked")
)

// NoIndex is the Index of a Problem that is about no particular entry.
const NoIndex = -1

// Problem is one failed check, naming its culprit.
type Problem struct {
	// File is the bundle path concerned, if any.
	File string
	// Index is the log index of the entry concerned, or NoIndex.
	Index int64
	// Blob is the hex SHA-256 of the artifact concerned, if any.
	Blob string
	// Reason says what is wrong, in words for the auditor.
	Reason string
	// Err wraps one of the category errors (ErrLayout ... ErrTime) and the
	// underlying cause, if any.
	Err error
}

// String gives the problem in one line: culprit, then reason.
func (p Problem) String() string {
	var who []string
	if p.Index != NoIndex {
		who = append(who, fmt.Sprintf("entry %d", p.Index))
	}
	if p.Blob != "" {
		who = append(who, "blob "+p.Blob)
	}
	if p.File != "" {
		who = append(who, safeText(p.File))
	}
	if len(who) == 0 {
		return safeText(p.Reason)
	}
	return strings.Join(who, ", ") + ": " + safeText(p.Reason)
}

// safeText quotes s if it holds characters a terminal might interpret
// (a hostile bundle's paths could otherwise rewrite the report on screen).
func safeText(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return strconv.Quote(s)
	}
	return s
}

// KeysFromBundleWarning is the warning a Report carries when no trusted key
// was given and the bundle's own keys were used.
const KeysFromBundleWarning = "keys taken from the bundle itself — verify the fingerprint out of band"

// Report is the outcome of Verify.
type Report struct {
	// Origin is the log the bundle claims (from the manifest).
	Origin string
	// Selection is what the exporter says was exported (unverified).
	Selection string
	// CheckpointSize and CheckpointRoot (base64) are those of the verified
	// checkpoint; zero if it did not verify.
	CheckpointSize int64
	CheckpointRoot string
	// KeysFromBundle is true when no trusted key was given and the bundle's
	// keys/ were used: then the bundle proves only that it is consistent
	// with itself, unless the fingerprints are checked out of band.
	KeysFromBundle bool
	// KeyFingerprints are the fingerprints (ledger.KeyFingerprint) of the
	// keys whose signatures on the checkpoint verified.
	KeyFingerprints []string
	// IgnoredSignatures names the checkpoint's signatures by unknown keys
	// ("name+hash"), which were ignored.
	IgnoredSignatures []string
	// Entries is the number of entries checked, Blobs the number of
	// distinct artifacts checked, Tombstoned the number of artifacts absent
	// because a tombstone in the bundle records their deletion.
	Entries, Blobs, Tombstoned int
	// Range is the index range the bundle says it exports (from range.proof,
	// or the manifest if that is missing), or nil if it is not a range
	// export: its entries are then proved included, not complete.
	Range *Range
	// RangeComplete is true if Range was proved complete: every entry of it
	// is present and the range proof verifies against the checkpoint.
	RangeComplete bool
	// Anchors lists the time anchors checked (with VerifyOptions.TSARoots).
	Anchors []AnchorResult
	// Unchecked lists files whose hash was checked but whose content was
	// not verified: report.*, reserved names under anchors/, and anchors
	// when no TSA root was given.
	Unchecked []string
	// Warnings are caveats the auditor should read even if OK.
	Warnings []string
	// VerifiedAt is when verification ran (VerifyOptions.Now).
	VerifiedAt time.Time
	// Problems lists every failed check; empty if the bundle verifies.
	Problems []Problem
}

// OK reports whether every check held.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Err returns nil if every check held, else a *VerifyError.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	return &VerifyError{Problems: r.Problems}
}

// Summary returns the report as text for a terminal: the facts, the
// warnings, then every problem, one per line.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "origin:      %s\n", safeText(r.Origin))
	fmt.Fprintf(&b, "checkpoint:  size %d, root %s\n", r.CheckpointSize, r.CheckpointRoot)
	for _, fp := range r.KeyFingerprints {
		fmt.Fprintf(&b, "signed by:   %s\n", fp)
	}
	for _, s := range r.IgnoredSignatures {
		fmt.Fprintf(&b, "ignored:     signature by unknown key %s\n", safeText(s))
	}
	fmt.Fprintf(&b, "entries:     %d checked\n", r.Entries)
	fmt.Fprintf(&b, "blobs:       %d checked, %d deleted under retention (tombstoned)\n", r.Blobs, r.Tombstoned)
	switch {
	case r.Range != nil && r.RangeComplete:
		fmt.Fprintf(&b, "range:       [%d, %d) complete\n", r.Range.Start, r.Range.End)
	case r.Range != nil:
		fmt.Fprintf(&b, "range:       [%d, %d) NOT proved complete\n", r.Range.Start, r.Range.End)
	default:
		b.WriteString("range:       none (entries proved included, not complete)\n")
	}
	for _, a := range r.Anchors {
		if a.Verified {
			fmt.Fprintf(&b, "anchor:      %s: checkpoint of %d entries existed at %s (TSA %s)\n",
				safeText(a.File), a.CheckpointSize, a.GenTime.Format(time.RFC3339), safeText(a.TSA))
		} else {
			fmt.Fprintf(&b, "anchor:      %s NOT verified\n", safeText(a.File))
		}
	}
	for _, f := range r.Unchecked {
		fmt.Fprintf(&b, "unchecked:   %s (hash only)\n", safeText(f))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "WARNING:     %s\n", w)
	}
	if r.OK() {
		b.WriteString("result:      OK\n")
		return b.String()
	}
	fmt.Fprintf(&b, "result:      FAILED, %d problem(s)\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	return b.String()
}

// VerifyError is the error of a bundle that does not verify. It wraps
// ErrFailed and the Err of every problem.
type VerifyError struct {
	Problems []Problem
}

func (e *VerifyError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%v: %s", ErrFailed, e.Problems[0])
	}
	return fmt.Sprintf("%v: %d problems, first: %s", ErrFailed, len(e.Problems), e.Problems[0])
}

// Unwrap returns ErrFailed and every problem's error.
func (e *VerifyError) Unwrap() []error {
	errs := []error{ErrFailed}
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}
