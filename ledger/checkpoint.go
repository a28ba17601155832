package ledger

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// MaxCheckpointSize is the largest signed checkpoint OpenCheckpoint reads,
// in bytes.
const MaxCheckpointSize = 64 << 10

// Errors returned by the checkpoint functions. Errors from OpenCheckpoint
// wrap exactly one of them.
var (
	// ErrInvalidCheckpoint means the checkpoint or its signed note is
	// malformed.
	ErrInvalidCheckpoint = errors.New("invalid checkpoint")
	// ErrUnverifiedCheckpoint means no signature is by a known key.
	ErrUnverifiedCheckpoint = errors.New("checkpoint has no signature by a known key")
	// ErrBadSignature means a signature by a known key does not verify: the
	// checkpoint was altered or forged.
	ErrBadSignature = errors.New("checkpoint signature does not verify")
	// ErrWrongOrigin means the checkpoint is of another log.
	ErrWrongOrigin = errors.New("checkpoint is of another log")
)

// Checkpoint is a signed statement of a log's size and root hash, in the
// C2SP tlog-checkpoint format (the format of transparency-dev/formats/log):
//
//	<origin>\n
//	<size in decimal, no leading zeros>\n
//	<root hash in standard base64>\n
//	<extension line>\n ... (zero or more)
//
// The text is signed as a C2SP signed note (golang.org/x/mod/sumdb/note,
// Ed25519). The log's key name SHOULD be its origin.
type Checkpoint struct {
	// Origin names the log: "<base>/<tenant>" (DESIGN.md). Non-empty, valid
	// UTF-8, no control characters.
	Origin string
	// Size is the number of leaves the checkpoint commits to.
	Size int64
	// Hash is the root hash of the first Size leaves.
	Hash Hash
	// Extensions are optional further lines ("other data" in C2SP), opaque
	// to this package and covered by the signatures. Each MUST be non-empty
	// valid UTF-8 without control characters. auditshot writes none: a
	// checkpoint carries no time of its own, because a time the log states
	// about itself proves nothing; RFC 3161 tokens over checkpoints, logged
	// as anchor entries, bind the log to time instead. Verifiers MUST NOT
	// trust anything in extension lines that they cannot check.
	Extensions []string
}

// FormatCheckpoint returns the text of cp, the bytes that signatures cover.
func FormatCheckpoint(cp Checkpoint) ([]byte, error) {
	if err := checkLine(cp.Origin); err != nil {
		return nil, fmt.Errorf("%w: origin: %w", ErrInvalidCheckpoint, err)
	}
	if cp.Size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrInvalidCheckpoint, cp.Size)
	}
	for i, ext := range cp.Extensions {
		if err := checkLine(ext); err != nil {
			return nil, fmt.Errorf("%w: extension line %d: %w", ErrInvalidCheckpoint, i+1, err)
		}
	}
	text := log.Checkpoint{Origin: cp.Origin, Size: uint64(cp.Size), Hash: cp.Hash[:]}.Marshal()
	for _, ext := range cp.Extensions {
		text = append(text, ext...)
		text = append(text, '\n')
	}
	return text, nil
}

// checkLine checks one line of checkpoint text.
func checkLine(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case !utf8.ValidString(s):
		return errors.New("invalid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("contains a control character")
	}
	return nil
}

// ParseCheckpoint parses checkpoint text (the note text, without
// signatures). It accepts exactly what FormatCheckpoint writes: a size with
// leading zeros, a hash that is not 32 bytes of canonical base64, a missing
// final newline or an empty extension line are all errors wrapping
// ErrInvalidCheckpoint.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var lc log.Checkpoint
	rest, err := lc.Unmarshal(text)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrInvalidCheckpoint, err)
	}
	if len(lc.Hash) != HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash is %d bytes, want %d", ErrInvalidCheckpoint, len(lc.Hash), HashSize)
	}
	if lc.Size > math.MaxInt64 {
		return Checkpoint{}, fmt.Errorf("%w: size %d too large", ErrInvalidCheckpoint, lc.Size)
	}
	cp := Checkpoint{Origin: lc.Origin, Size: int64(lc.Size), Hash: Hash(lc.Hash)}
	if len(rest) > 0 {
		if rest[len(rest)-1] != '\n' {
			return Checkpoint{}, fmt.Errorf("%w: last line does not end in a newline", ErrInvalidCheckpoint)
		}
		cp.Extensions = strings.Split(string(rest[:len(rest)-1]), "\n")
	}
	canon, err := FormatCheckpoint(cp)
	if err != nil {
		return Checkpoint{}, err
	}
	if !bytes.Equal(canon, text) {
		return Checkpoint{}, fmt.Errorf("%w: not in canonical form (size with leading zeros or a sign, or non-canonical base64?)", ErrInvalidCheckpoint)
	}
	return cp, nil
}

// SignCheckpoint formats cp and signs it with each signer, in order, as a
// C2SP signed note. The first signer SHOULD be the log's key.
func SignCheckpoint(cp Checkpoint, signers ...note.Signer) ([]byte, error) {
	if len(signers) == 0 {
		return nil, errors.New("sign checkpoint: no signer")
	}
	text, err := FormatCheckpoint(cp)
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signers...)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies and parses a signed checkpoint of the log named
// origin. It MUST find at least one valid signature by a key in verifiers
// (ErrUnverifiedCheckpoint); a signature by a known key that does not verify
// is fatal (ErrBadSignature), while signatures by unknown keys (witnesses,
// other parties) are ignored and returned in the note's UnverifiedSigs. It
// returns ErrWrongOrigin if the checkpoint is of another log, and
// ErrInvalidCheckpoint if it is malformed or larger than MaxCheckpointSize.
//
// verifiers SHOULD hold only keys trusted to sign this log's checkpoints
// (its current and past keys); any of them suffices.
func OpenCheckpoint(msg []byte, origin string, verifiers note.Verifiers) (Checkpoint, *note.Note, error) {
	if len(msg) > MaxCheckpointSize {
		return Checkpoint{}, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidCheckpoint, len(msg), MaxCheckpointSize)
	}
	if verifiers == nil {
		verifiers = note.VerifierList()
	}
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return Checkpoint{}, nil, noteError(err)
	}
	cp, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if cp.Origin != origin {
		return Checkpoint{}, nil, fmt.Errorf("%w: origin %q, want %q", ErrWrongOrigin, cp.Origin, origin)
	}
	return cp, n, nil
}

// noteError turns an error of note.Open into one of ours.
func noteError(err error) error {
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		var names []string
		for _, s := range unverified.Note.UnverifiedSigs {
			names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return fmt.Errorf("%w (signed only by unknown keys: %s)", ErrUnverifiedCheckpoint, strings.Join(names, ", "))
	case errors.As(err, &invalid):
		return fmt.Errorf("%w: key %s+%08x", ErrBadSignature, invalid.Name, invalid.Hash)
	default:
		return fmt.Errorf("%w: %w", ErrInvalidCheckpoint, err)
	}
}

// GenerateKey returns a new Ed25519 signer key (secret: skey) and its
// verifier key (public: vkey) in note format, for a key named name, using
// crypto/rand. name MUST be a valid note key name (non-empty UTF-8 with no
// spaces and no '+'); a log's key SHOULD be named after its origin.
func GenerateKey(name string) (skey, vkey string, err error) {
	if name == "" || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsSpace) || strings.Contains(name, "+") {
		return "", "", fmt.Errorf("generate key: invalid key name %q", name)
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	return skey, vkey, nil
}

// NewSigner returns the signer of a signer key made by GenerateKey. The
// error never contains the key.
func NewSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("parse signer key: %w", err)
	}
	return s, nil
}

// NewVerifier returns the verifier of a verifier key.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("parse verifier key %q: %w", vkey, err)
	}
	return v, nil
}

// NewVerifiers returns the set of verifiers of the given verifier keys.
func NewVerifiers(vkeys ...string) (note.Verifiers, error) {
	vs := make([]note.Verifier, 0, len(vkeys))
	for _, k := range vkeys {
		v, err := NewVerifier(k)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), nil
}

// KeyFingerprint returns a fingerprint of a verifier key for display: the
// lowercase hex SHA-256 of the key's name, a newline and its key data
// (algorithm byte and public key). Its first 8 hex digits are the note key
// hash that appears in the key and in its signatures.
func KeyFingerprint(vkey string) (string, error) {
	if _, err := NewVerifier(vkey); err != nil {
		return "", err
	}
	name, rest, _ := strings.Cut(vkey, "+")
	_, key64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil {
		return "", fmt.Errorf("parse verifier key %q: %w", vkey, err)
	}
	sum := sha256.Sum256(append([]byte(name+"\n"), key...))
	return hex.EncodeToString(sum[:]), nil
}
