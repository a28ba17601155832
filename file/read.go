package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/auditshot/auditshot"
)

// fallbackMediaType is reported for a blob whose sidecar is missing or
// unreadable, which Put's order of steps never leaves behind but an
// operator's hand might.
const fallbackMediaType = "application/octet-stream"

// Open implements auditshot.BlobStore. Without verify the returned
// ReadCloser is the *os.File of the content, so it also seeks. With verify,
// it hashes what is read, and the Read that reaches the end returns an error
// wrapping auditshot.ErrBlobCorrupt (code EINTERNAL) instead of io.EOF if the
// content's hash or size differ from the blob's. ctx governs opening only.
//
// Open returns EINVALID if sha is not 64 lowercase hex digits, ENOTFOUND if
// the blob does not exist, and EINTERNAL if the filesystem fails.
func (s *Store) Open(ctx context.Context, sha string, verify bool) (io.ReadCloser, auditshot.Artifact, error) {
	const op = "open blob"
	if err := s.check(ctx, op, sha); err != nil {
		return nil, auditshot.Artifact{}, err
	}
	content, _, _ := s.paths(sha)
	f, err := os.Open(content)
	if err != nil {
		return nil, auditshot.Artifact{}, s.statError(op, sha, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, auditshot.Artifact{}, internal(op, err)
	}
	a, err := s.artifact(op, sha, fi)
	if err != nil {
		_ = f.Close()
		return nil, auditshot.Artifact{}, err
	}
	if !verify {
		return f, a, nil
	}
	return &verifier{f: f, h: sha256.New(), a: a, log: s.log}, a, nil
}

// Stat implements auditshot.BlobStore. It returns EINVALID if sha is not 64
// lowercase hex digits, ENOTFOUND if the blob does not exist, and EINTERNAL
// if the filesystem fails.
func (s *Store) Stat(ctx context.Context, sha string) (auditshot.Artifact, error) {
	const op = "stat blob"
	if err := s.check(ctx, op, sha); err != nil {
		return auditshot.Artifact{}, err
	}
	return s.stat(op, sha)
}

// stat returns the artifact of sha; sha must be valid.
func (s *Store) stat(op, sha string) (auditshot.Artifact, error) {
	content, _, _ := s.paths(sha)
	fi, err := os.Stat(content)
	if err != nil {
		return auditshot.Artifact{}, s.statError(op, sha, err)
	}
	return s.artifact(op, sha, fi)
}

func (s *Store) statError(op, sha string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(op, sha)
	}
	return internal(op, err)
}

// artifact reads the sidecar of the blob sha whose content file is fi. A
// missing or undecodable sidecar gives the content's size, the fallback
// media type and the content's modification time, with a warning.
func (s *Store) artifact(op, sha string, fi fs.FileInfo) (auditshot.Artifact, error) {
	_, meta, _ := s.paths(sha)
	b, err := os.ReadFile(meta)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return auditshot.Artifact{}, internal(op, err)
	}
	var a auditshot.Artifact
	if err == nil {
		err = json.Unmarshal(b, &a)
		if err == nil && a.SHA256 != sha {
			err = fmt.Errorf("sidecar names blob %q", a.SHA256)
		}
		if err == nil {
			return a, nil
		}
	}
	s.log.Warn("blob has no valid sidecar; reporting defaults", slog.String(logSHA, sha), slog.String(logErr, err.Error()))
	return auditshot.Artifact{SHA256: sha, Size: fi.Size(), MediaType: fallbackMediaType, CreatedAt: fi.ModTime().UTC()}, nil
}

// verifier hashes a blob's content as it is read and checks it at the end.
type verifier struct {
	f   *os.File
	h   hash.Hash
	n   int64
	a   auditshot.Artifact
	log *slog.Logger
	end error // the result at the end, once reached
}

// Read implements io.Reader. The Read that reaches the end returns io.EOF if
// the content matches the blob's hash and size, and an error wrapping
// auditshot.ErrBlobCorrupt if not; later Reads return the same.
func (v *verifier) Read(p []byte) (int, error) {
	if v.end != nil {
		return 0, v.end
	}
	n, err := v.f.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		v.end = v.check()
		err = v.end
	}
	return n, err
}

func (v *verifier) check() error {
	sum := hex.EncodeToString(v.h.Sum(nil))
	if sum == v.a.SHA256 && v.n == v.a.Size {
		return io.EOF
	}
	v.log.Error("blob is corrupt", slog.String(logSHA, v.a.SHA256), slog.Int64(logSize, v.n))
	return &auditshot.Error{
		Code:    auditshot.EINTERNAL,
		Message: fmt.Sprintf("read blob: blob %s is corrupt: its content does not match its hash and size", v.a.SHA256),
		Err:     fmt.Errorf("%w: read %d bytes with sha256 %s, want %d bytes", auditshot.ErrBlobCorrupt, v.n, sum, v.a.Size),
	}
}

// Close closes the content file.
func (v *verifier) Close() error { return v.f.Close() }
