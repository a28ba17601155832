package file

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"

	"github.com/auditshot/auditshot"
)

// Delete implements auditshot.BlobStore, for retention: it removes the
// content, then the sidecar, and fsyncs their directory. A blob under legal
// hold is not deleted: Delete returns EFORBIDDEN until Hold lifts the hold.
//
// Delete returns EINVALID if sha is not 64 lowercase hex digits, ENOTFOUND if
// the blob does not exist, EFORBIDDEN if it is held, and EINTERNAL if the
// filesystem fails.
func (s *Store) Delete(ctx context.Context, sha string) error {
	const op = "delete blob"
	if err := s.check(ctx, op, sha); err != nil {
		return err
	}
	mu := s.stripe(sha)
	mu.Lock()
	defer mu.Unlock()
	content, meta, hold := s.paths(sha)
	if _, err := os.Lstat(content); err != nil {
		return s.statError(op, sha, err)
	}
	held, err := exists(hold)
	if err != nil {
		return internal(op, err)
	}
	if held {
		return auditshot.Errorf(auditshot.EFORBIDDEN, "%s: blob %s is under legal hold", op, sha)
	}
	// Content first: once it is gone the blob is invisible, whatever
	// happens to the sidecar.
	if err := os.Remove(content); err != nil {
		return s.statError(op, sha, err)
	}
	if err := os.Remove(meta); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("remove sidecar of deleted blob", slog.String(logSHA, sha), slog.String(logErr, err.Error()))
	}
	if err := syncDir(s.blobDir(sha)); err != nil {
		return internal(op, err)
	}
	s.log.Info("deleted blob", slog.String(logSHA, sha))
	return nil
}

// Hold places (on) or lifts (!on) a legal hold on a blob: while held, Delete
// refuses to delete it with EFORBIDDEN. The hold is a marker file beside the
// blob, durable when Hold returns. Placing a hold on a held blob, or lifting
// it from one that is not held, does nothing.
//
// Hold returns EINVALID if sha is not 64 lowercase hex digits, ENOTFOUND if
// the blob does not exist, and EINTERNAL if the filesystem fails.
func (s *Store) Hold(ctx context.Context, sha string, on bool) error {
	const op = "hold blob"
	if err := s.check(ctx, op, sha); err != nil {
		return err
	}
	mu := s.stripe(sha)
	mu.Lock()
	defer mu.Unlock()
	content, _, hold := s.paths(sha)
	if _, err := os.Lstat(content); err != nil {
		return s.statError(op, sha, err)
	}
	held, err := exists(hold)
	if err != nil {
		return internal(op, err)
	}
	if held == on {
		return nil
	}
	if on {
		err = createEmpty(hold)
	} else {
		err = os.Remove(hold)
	}
	if err == nil {
		err = syncDir(s.blobDir(sha))
	}
	if err != nil {
		return internal(op, err)
	}
	s.log.Info("legal hold changed", slog.String(logSHA, sha), slog.Bool(logHold, on))
	return nil
}

// Held reports whether a blob is under legal hold. It returns EINVALID if
// sha is not 64 lowercase hex digits, ENOTFOUND if the blob does not exist,
// and EINTERNAL if the filesystem fails.
func (s *Store) Held(ctx context.Context, sha string) (bool, error) {
	const op = "check legal hold"
	if err := s.check(ctx, op, sha); err != nil {
		return false, err
	}
	content, _, hold := s.paths(sha)
	if _, err := os.Lstat(content); err != nil {
		return false, s.statError(op, sha, err)
	}
	held, err := exists(hold)
	if err != nil {
		return false, internal(op, err)
	}
	return held, nil
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// createEmpty creates an empty, read-only file at path and fsyncs it.
func createEmpty(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	return finish(f)
}
