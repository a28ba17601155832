package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"sync"

	"github.com/auditshot/auditshot"
)

// maxMediaTypeLen bounds the media type a sidecar records.
const maxMediaTypeLen = 255

// copyBufSize is the size of the chunks Put reads and writes.
const copyBufSize = 128 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// Put implements auditshot.BlobStore. It streams r into a temporary file
// while hashing it, never holding the whole content in memory, and returns
// once the content and its sidecar are durable under their final names (see
// the package doc for the order of the steps). If the content is already
// stored, Put discards what it wrote, without fsyncing it, and returns the
// stored artifact unchanged: its media type and creation time are those of
// the first Put. Concurrent Puts of the same content store it once.
//
// Put returns EINVALID if mediaType is empty or not a media type, or if the
// content is larger than Config.MaxBlobSize; if r fails, an error wrapping
// r's error with r's code when r returns an *auditshot.Error and EINVALID
// otherwise; ETIMEOUT or EUNAVAILABLE (wrapping ctx.Err()) if ctx ends first;
// EINTERNAL if the filesystem fails. A failed Put leaves nothing behind. ctx
// is checked between reads, so a Read of r that blocks holds Put up.
func (s *Store) Put(ctx context.Context, r io.Reader, mediaType string) (auditshot.Artifact, error) {
	const op = "store blob"
	if err := s.checkPut(ctx, op, mediaType); err != nil {
		return auditshot.Artifact{}, err
	}
	f, err := os.CreateTemp(s.tmp, "blob-*")
	if err != nil {
		return auditshot.Artifact{}, internal(op, err)
	}
	tmp := &pending{content: f.Name()}
	defer s.cleanup(tmp)
	defer f.Close() // for the failures before finish closes it
	sha, size, err := s.copy(ctx, op, f, r)
	if err != nil {
		return auditshot.Artifact{}, err
	}
	// Content already stored needs no fsync of the copy just made; its
	// directory is made durable before it is acknowledged.
	if a, ok, err := s.existingLocked(op, sha); ok || err != nil {
		if err == nil {
			err = s.ensureBlobDir(sha)
		}
		if err != nil {
			return auditshot.Artifact{}, internal(op, err)
		}
		return a, nil
	}
	// The blob's directories, the content and the sidecar are made durable
	// at once: three waits for the disk in the time of one.
	a := auditshot.Artifact{SHA256: sha, Size: size, MediaType: mediaType, CreatedAt: s.now().UTC()}
	var dirErr, finErr, metaErr error
	var wg sync.WaitGroup
	wg.Go(func() { dirErr = s.ensureBlobDir(sha) })
	wg.Go(func() { tmp.meta, metaErr = s.writeMeta(a) })
	finErr = finish(f)
	wg.Wait()
	switch {
	case dirErr != nil:
		return auditshot.Artifact{}, internal(op, dirErr)
	case finErr != nil:
		return auditshot.Artifact{}, internal(op, fmt.Errorf("finish %s: %w", f.Name(), finErr))
	case metaErr != nil:
		return auditshot.Artifact{}, internal(op, metaErr)
	}
	return s.commit(ctx, op, a, tmp)
}

// pending holds the paths of a Put's temporary files; each is cleared once
// renamed into place.
type pending struct{ content, meta string }

// cleanup removes the temporary files of tmp that were not renamed into
// place. A renamed file's temporary name is never removed: another Put may
// have been given that name since.
func (s *Store) cleanup(tmp *pending) {
	for _, p := range []string{tmp.content, tmp.meta} {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("remove temporary file", slog.String(logErr, err.Error()))
		}
	}
}

// commit renames the durable temporary sidecar and content of a into place,
// unless the blob appeared meanwhile.
func (s *Store) commit(ctx context.Context, op string, a auditshot.Artifact, tmp *pending) (auditshot.Artifact, error) {
	mu := s.stripe(a.SHA256)
	mu.Lock()
	defer mu.Unlock()
	if b, ok, err := s.existing(op, a.SHA256); ok || err != nil {
		return b, err
	}
	if err := ctx.Err(); err != nil {
		return auditshot.Artifact{}, ctxError(op, err)
	}
	dir := s.blobDir(a.SHA256)
	content, meta, _ := s.paths(a.SHA256)
	// The sidecar is durable in place before the content appears.
	if err := os.Rename(tmp.meta, meta); err != nil {
		return auditshot.Artifact{}, internal(op, err)
	}
	tmp.meta = ""
	if err := syncDir(dir); err != nil {
		s.rollback(meta)
		return auditshot.Artifact{}, internal(op, err)
	}
	if err := os.Rename(tmp.content, content); err != nil {
		s.rollback(meta)
		return auditshot.Artifact{}, internal(op, err)
	}
	tmp.content = ""
	if err := syncDir(dir); err != nil {
		// Not known durable: take it back rather than acknowledge it.
		s.rollback(content, meta)
		return auditshot.Artifact{}, internal(op, err)
	}
	s.log.Debug("stored blob", slog.String(logSHA, a.SHA256), slog.Int64(logSize, a.Size), slog.String(logMediaType, a.MediaType))
	return a, nil
}

// rollback removes files a failed commit put in place, content first.
func (s *Store) rollback(paths ...string) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Error("roll back a failed put", slog.String(logErr, err.Error()))
		}
	}
}

// existingLocked is existing under the blob's stripe lock, so that a blob
// being committed is reported only once its directory is fsynced.
func (s *Store) existingLocked(op, sha string) (auditshot.Artifact, bool, error) {
	mu := s.stripe(sha)
	mu.Lock()
	defer mu.Unlock()
	return s.existing(op, sha)
}

// existing returns the stored artifact of sha and true if the blob exists.
// The caller holds the blob's stripe lock.
func (s *Store) existing(op, sha string) (auditshot.Artifact, bool, error) {
	a, err := s.stat(op, sha)
	switch {
	case err == nil:
		return a, true, nil
	case auditshot.ErrorCode(err) == auditshot.ENOTFOUND:
		return auditshot.Artifact{}, false, nil
	default:
		return auditshot.Artifact{}, false, err
	}
}

func (s *Store) checkPut(ctx context.Context, op, mediaType string) error {
	if s.closed.Load() {
		return auditshot.Errorf(auditshot.EUNAVAILABLE, "%s: the blob store is closed", op)
	}
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	switch {
	case mediaType == "":
		return auditshot.Errorf(auditshot.EINVALID, "%s: a media type is required", op)
	case len(mediaType) > maxMediaTypeLen:
		return auditshot.Errorf(auditshot.EINVALID, "%s: the media type is longer than %d bytes", op, maxMediaTypeLen)
	}
	if _, _, err := mime.ParseMediaType(mediaType); err != nil {
		return &auditshot.Error{Code: auditshot.EINVALID, Message: fmt.Sprintf("%s: %q is not a media type", op, mediaType), Err: err}
	}
	return nil
}

// copy streams r into w while hashing it, up to the size limit, checking ctx
// between reads. It returns the hex SHA-256 and the size.
func (s *Store) copy(ctx context.Context, op string, w io.Writer, r io.Reader) (string, int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	h := sha256.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, ctxError(op, err)
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			n += int64(m)
			if n > s.max {
				return "", 0, auditshot.Errorf(auditshot.EINVALID, "%s: the content is larger than the limit of %d bytes", op, s.max)
			}
			h.Write(buf[:m])
			if _, err := w.Write(buf[:m]); err != nil {
				return "", 0, internal(op, err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", 0, readError(ctx, op, rerr)
		}
	}
	if err := ctx.Err(); err != nil {
		return "", 0, ctxError(op, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readError reports that the caller's reader failed.
func readError(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return ctxError(op, errors.Join(cerr, err))
	}
	var ae *auditshot.Error
	if errors.As(err, &ae) {
		return &auditshot.Error{Code: ae.Code, Message: op + ": reading the content failed: " + ae.Message, RetryAfter: ae.RetryAfter, Err: err}
	}
	return &auditshot.Error{Code: auditshot.EINVALID, Message: op + ": reading the content failed", Err: fmt.Errorf("read content: %w", err)}
}

// writeMeta writes a's sidecar to a durable, read-only temporary file and
// returns its path.
func (s *Store) writeMeta(a auditshot.Artifact) (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.tmp, "meta-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = finish(f)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("write sidecar %s: %w", filepath.Base(f.Name()), err)
	}
	return f.Name(), nil
}
