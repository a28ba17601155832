package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Proof file formats. All are text, one item per line, every line ending in
// "\n", hashes in standard padded base64 (RFC 4648 section 4), numbers in
// decimal without sign or leading zeros. The parsers accept exactly what the
// formatters write, so a parsed proof formats back to the same bytes.
const (
	// InclusionProofHeader begins a C2SP tlog-proof (c2sp.org/tlog-proof).
	InclusionProofHeader = "c2sp.org/tlog-proof@v1"
	// ConsistencyProofHeader begins an auditshot consistency proof.
	ConsistencyProofHeader = "auditshot.dev/consistency-proof@v1"
	// RangeProofHeader begins an auditshot range (completeness) proof.
	RangeProofHeader = "auditshot.dev/range-proof@v1"
)

// MaxProofSize is the largest proof file the parsers read, in bytes.
const MaxProofSize = 2*MaxCheckpointSize + 16<<10

// maxProofHashes bounds the hashes of any proof: a range proof of a tree of
// 2^63 leaves has fewer than 2·63.
const maxProofHashes = 128

// ErrInvalidProofFormat is wrapped by every error of the proof parsers and
// formatters.
var ErrInvalidProofFormat = errors.New("invalid proof file")

// InclusionProof is a C2SP tlog-proof: an entry's index, its inclusion proof,
// and the signed checkpoint of the tree it is proved against:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64>            (only if Extra is not empty)
//	index <index>
//	<hash>                    (zero or more, leaf's sibling first)
//	                          (an empty line)
//	<signed checkpoint, verbatim>
type InclusionProof struct {
	// Extra is opaque, unauthenticated application data; empty for none.
	// Verifiers MUST NOT trust it.
	Extra []byte
	// Index is the entry's zero-based index in the log.
	Index int64
	// Hashes is the inclusion proof (see ProveInclusion).
	Hashes []Hash
	// Checkpoint is the signed checkpoint (a signed note), verbatim.
	Checkpoint []byte
}

// FormatProof encodes p as a C2SP tlog-proof. p.Checkpoint MUST be a
// well-formed signed checkpoint; its signatures are not checked.
func FormatProof(p InclusionProof) ([]byte, error) {
	if p.Index < 0 {
		return nil, fmt.Errorf("%w: negative index %d", ErrInvalidProofFormat, p.Index)
	}
	if len(p.Hashes) > maxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, more than %d", ErrInvalidProofFormat, len(p.Hashes), maxProofHashes)
	}
	if err := checkSignedCheckpoint(p.Checkpoint); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(InclusionProofHeader + "\n")
	if len(p.Extra) > 0 {
		fmt.Fprintf(&b, "extra %s\n", base64.StdEncoding.EncodeToString(p.Extra))
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	writeHashes(&b, p.Hashes)
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes(), nil
}

// ParseProof decodes a C2SP tlog-proof, strictly: it returns an error
// wrapping ErrInvalidProofFormat, naming the line, for anything
// FormatProof would not write. It checks that the checkpoint is a
// well-formed signed checkpoint but not its signatures, and not the proof:
// use VerifyProof for that.
func ParseProof(b []byte) (InclusionProof, error) {
	var p InclusionProof
	l, err := newLines(b, InclusionProofHeader)
	if err != nil {
		return p, err
	}
	if rest, ok := strings.CutPrefix(l.peek(), "extra "); ok {
		l.next()
		if p.Extra, err = strictBase64(rest); err != nil || len(p.Extra) == 0 {
			return InclusionProof{}, l.fail("extra data: want non-empty canonical base64")
		}
	}
	if p.Index, err = l.number("index"); err != nil {
		return InclusionProof{}, err
	}
	if p.Hashes, err = l.hashes(); err != nil {
		return InclusionProof{}, err
	}
	if !l.more() {
		return InclusionProof{}, l.fail("missing the empty line and checkpoint after the hashes")
	}
	l.next() // the empty line
	p.Checkpoint = bytes.Clone(l.rest())
	if err := checkSignedCheckpoint(p.Checkpoint); err != nil {
		return InclusionProof{}, err
	}
	return p, nil
}

// VerifyProof checks a tlog-proof for an encoded entry: the checkpoint MUST
// open with OpenCheckpoint(origin, verifiers), and the entry MUST be at
// p.Index in the tree it commits to. It returns the checkpoint.
func VerifyProof(p InclusionProof, entry []byte, origin string, verifiers note.Verifiers) (Checkpoint, error) {
	cp, _, err := OpenCheckpoint(p.Checkpoint, origin, verifiers)
	if err != nil {
		return Checkpoint{}, err
	}
	if err := VerifyInclusion(p.Index, cp.Size, LeafHash(entry), p.Hashes, cp.Hash); err != nil {
		return Checkpoint{}, err
	}
	return cp, nil
}

// checkSignedCheckpoint checks that b is a well-formed signed note holding
// checkpoint text, without checking its signatures.
func checkSignedCheckpoint(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: missing checkpoint", ErrInvalidProofFormat)
	}
	if len(b) > MaxCheckpointSize {
		return fmt.Errorf("%w: checkpoint larger than %d bytes", ErrInvalidProofFormat, MaxCheckpointSize)
	}
	_, err := note.Open(b, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return fmt.Errorf("%w: checkpoint is not a signed note", ErrInvalidProofFormat)
	}
	if _, err := ParseCheckpoint([]byte(unverified.Note.Text)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProofFormat, err)
	}
	return nil
}

// ConsistencyProof is a consistency proof between two sizes of a log:
//
//	auditshot.dev/consistency-proof@v1
//	old <old size>
//	new <new size>
//	<hash>          (zero or more)
//
// It carries no checkpoints: the verifier takes the two roots from
// checkpoints it has opened.
type ConsistencyProof struct {
	OldSize, NewSize int64
	Hashes           []Hash
}

// FormatConsistencyProof encodes p. It requires 0 <= OldSize <= NewSize.
func FormatConsistencyProof(p ConsistencyProof) ([]byte, error) {
	if p.OldSize < 0 || p.OldSize > p.NewSize {
		return nil, fmt.Errorf("%w: sizes %d and %d out of order", ErrInvalidProofFormat, p.OldSize, p.NewSize)
	}
	if len(p.Hashes) > maxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, more than %d", ErrInvalidProofFormat, len(p.Hashes), maxProofHashes)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nold %d\nnew %d\n", ConsistencyProofHeader, p.OldSize, p.NewSize)
	writeHashes(&b, p.Hashes)
	return b.Bytes(), nil
}

// ParseConsistencyProof decodes a consistency proof strictly; errors wrap
// ErrInvalidProofFormat. It does not verify the proof.
func ParseConsistencyProof(b []byte) (ConsistencyProof, error) {
	var p ConsistencyProof
	l, err := newLines(b, ConsistencyProofHeader)
	if err != nil {
		return p, err
	}
	if p.OldSize, err = l.number("old"); err != nil {
		return ConsistencyProof{}, err
	}
	if p.NewSize, err = l.number("new"); err != nil {
		return ConsistencyProof{}, err
	}
	if p.OldSize > p.NewSize {
		return ConsistencyProof{}, l.fail("old size %d is larger than new size %d", p.OldSize, p.NewSize)
	}
	if p.Hashes, err = l.hashes(); err != nil {
		return ConsistencyProof{}, err
	}
	if l.more() {
		return ConsistencyProof{}, l.fail("unexpected empty line")
	}
	return p, nil
}

// RangeProof is a range (completeness) proof of leaves [Start, End) of a
// tree of Size leaves (see ProveRange):
//
//	auditshot.dev/range-proof@v1
//	start <start>
//	end <end>
//	size <size>
//	<hash>          (zero or more)
//
// It carries no checkpoint: the verifier takes the root from a checkpoint of
// Size leaves that it has opened.
type RangeProof struct {
	Start, End, Size int64
	Hashes           []Hash
}

// FormatRangeProof encodes p. It requires 0 <= Start < End <= Size.
func FormatRangeProof(p RangeProof) ([]byte, error) {
	if RangeProofSize(p.Start, p.End, p.Size) < 0 {
		return nil, fmt.Errorf("%w: range [%d, %d) out of bounds of size %d", ErrInvalidProofFormat, p.Start, p.End, p.Size)
	}
	if len(p.Hashes) > maxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, more than %d", ErrInvalidProofFormat, len(p.Hashes), maxProofHashes)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nstart %d\nend %d\nsize %d\n", RangeProofHeader, p.Start, p.End, p.Size)
	writeHashes(&b, p.Hashes)
	return b.Bytes(), nil
}

// ParseRangeProof decodes a range proof strictly; errors wrap
// ErrInvalidProofFormat. It does not verify the proof.
func ParseRangeProof(b []byte) (RangeProof, error) {
	var p RangeProof
	l, err := newLines(b, RangeProofHeader)
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"start", &p.Start}, {"end", &p.End}, {"size", &p.Size}} {
		if *f.v, err = l.number(f.name); err != nil {
			return RangeProof{}, err
		}
	}
	if RangeProofSize(p.Start, p.End, p.Size) < 0 {
		return RangeProof{}, l.fail("range [%d, %d) out of bounds of size %d", p.Start, p.End, p.Size)
	}
	if p.Hashes, err = l.hashes(); err != nil {
		return RangeProof{}, err
	}
	if l.more() {
		return RangeProof{}, l.fail("unexpected empty line")
	}
	return p, nil
}

func writeHashes(b *bytes.Buffer, hs []Hash) {
	for _, h := range hs {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
}

// lines reads a proof file line by line.
type lines struct {
	b   []byte
	pos int // start of the next line
	n   int // number of the next line, from 1
	cur string
}

// newLines checks the size and header of a proof file and returns a reader
// positioned after the header.
func newLines(b []byte, header string) (*lines, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidProofFormat, MaxProofSize)
	}
	l := &lines{b: b, n: 1}
	if !l.more() || l.next() != header {
		return nil, fmt.Errorf("%w: line 1: want %q", ErrInvalidProofFormat, header)
	}
	return l, nil
}

// more reports whether a complete line is left.
func (l *lines) more() bool { return bytes.IndexByte(l.b[l.pos:], '\n') >= 0 }

// peek returns the next line without consuming it, or "" if none is left.
func (l *lines) peek() string {
	i := bytes.IndexByte(l.b[l.pos:], '\n')
	if i < 0 {
		return ""
	}
	return string(l.b[l.pos : l.pos+i])
}

// next consumes and returns the next line. The caller MUST have checked
// more.
func (l *lines) next() string {
	l.cur = l.peek()
	l.pos += len(l.cur) + 1
	l.n++
	return l.cur
}

// rest returns what follows the lines read so far.
func (l *lines) rest() []byte { return l.b[l.pos:] }

// fail returns an error about the line last read.
func (l *lines) fail(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrInvalidProofFormat, l.n-1, fmt.Sprintf(format, args...))
}

// number reads a line "<name> <decimal>".
func (l *lines) number(name string) (int64, error) {
	if !l.more() {
		return 0, fmt.Errorf("%w: line %d: want %q, got end of input", ErrInvalidProofFormat, l.n, name+" <number>")
	}
	s, ok := strings.CutPrefix(l.next(), name+" ")
	if !ok {
		return 0, l.fail("want %q", name+" <number>")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, l.fail("%s %q: want a decimal number without sign or leading zeros", name, s)
	}
	return n, nil
}

// hashes reads hash lines up to an empty line (not consumed) or the end of
// the input, which MUST end in a newline.
func (l *lines) hashes() ([]Hash, error) {
	hs := []Hash{}
	for l.more() && l.peek() != "" {
		b, err := strictBase64(l.next())
		if err != nil || len(b) != HashSize {
			return nil, l.fail("want a %d-byte hash in canonical base64", HashSize)
		}
		if len(hs) == maxProofHashes {
			return nil, l.fail("more than %d hashes", maxProofHashes)
		}
		hs = append(hs, Hash(b))
	}
	if !l.more() && l.pos != len(l.b) {
		return nil, fmt.Errorf("%w: line %d: missing final newline", ErrInvalidProofFormat, l.n)
	}
	return hs, nil
}

// strictBase64 decodes canonical standard base64 (padded, no stray bits,
// no newlines).
func strictBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64")
	}
	return b, nil
}
