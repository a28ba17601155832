// Package file is auditshot's default BlobStore: a local directory of
// content-addressed, read-only files named by their SHA-256.
//
// # Layout
//
// Under the store's directory:
//
//	lock                        held (flock) by the one Store serving the directory
//	tmp/                        in-progress writes; emptied when a Store opens
//	sha256/ab/cd/<64 hex>       the content, mode 0444
//	sha256/ab/cd/<64 hex>.json  its metadata sidecar, mode 0444: the
//	                            auditshot.Artifact as JSON (sha256, size,
//	                            media_type, created_at)
//	sha256/ab/cd/<64 hex>.hold  legal-hold marker; present while held
//
// where ab and cd are the first and second byte of the hash in hex. The
// temporary directory lives inside the store so that a rename into place
// never crosses a filesystem.
//
// # Durability and crash safety
//
// A blob is visible if and only if its content file exists under its final
// name. Put streams the content into tmp/ while hashing it, fsyncs it and
// makes it read-only; then it writes the sidecar the same way, renames the
// sidecar into place and fsyncs the directory, and only then renames the
// content into place and fsyncs the directory again. New directories on the
// way are fsynced into their parents before anything is renamed into them.
// The sidecar goes first so that a crash at any moment never leaves a
// visible blob without its metadata: a crash before the content rename
// leaves at most an orphan sidecar, which is invisible (every read starts at
// the content file) and is replaced by the next Put of the same content.
// Delete removes the content first and the sidecar second, for the same
// reason. Put returns only after the final directory fsync, so an
// acknowledged blob survives a crash. A Put of content already stored
// returns without fsyncing its discarded copy; it waits for a concurrent Put
// of the same content to finish its fsyncs, and each blob directory is
// fsynced once when a Store first uses it, so that what a crashed process
// renamed but never fsynced is durable before it is acknowledged again.
//
// # Identity and media types
//
// Identical content is stored once. The first Put of some content fixes its
// artifact: a later Put of the same bytes writes nothing and returns the
// stored artifact, with the media type and creation time of the first Put,
// even if it asked for another media type. Callers that need their own label
// for shared content keep it in their own records.
//
// # Retention and legal hold
//
// Delete removes a blob for retention. Hold places or lifts a legal hold; a
// held blob cannot be deleted: Delete returns EFORBIDDEN until the hold is
// lifted.
//
// A directory is served by one Store at a time, across processes: New takes
// an exclusive lock on the directory (on Unix) and fails with EUNAVAILABLE if
// another Store holds it, because opening a store removes the temporary files
// of in-progress writes.
package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot"
)

// Defaults of Config.
const (
	// DefaultMaxBlobSize is the largest blob Put accepts: 2 GiB.
	DefaultMaxBlobSize int64 = 2 << 30
)

// Names of the entries under the store's directory; see the package doc.
const (
	contentDir = "sha256"
	tmpDir     = "tmp"
	lockName   = "lock"
	metaSuffix = ".json"
	holdSuffix = ".hold"

	dirMode = 0o755
	// fileMode is the mode of content and sidecar files: nobody writes a
	// stored blob, not even its owner.
	fileMode = 0o444
)

// Attribute keys of the store's log records.
const (
	logComponent = "component"
	logSHA       = "sha256"
	logSize      = "size"
	logMediaType = "media_type"
	logCount     = "count"
	logErr       = "err"
	logHold      = "hold"
)

// Config configures a Store. Dir is required; every other field has a
// default.
type Config struct {
	// Dir is the store's directory; created if missing. Required.
	Dir string
	// MaxBlobSize is the largest content, in bytes, Put accepts; default
	// DefaultMaxBlobSize.
	MaxBlobSize int64
	// Now is the clock stamped on new artifacts; default time.Now.
	Now func() time.Time
	// Logger receives the store's logs, with attribute component=file;
	// default slog.Default().
	Logger *slog.Logger
}

// Store is a content-addressed BlobStore in a local directory. It is safe
// for concurrent use. Close releases the directory.
type Store struct {
	dir    string
	tmp    string
	max    int64
	now    func() time.Time
	log    *slog.Logger
	unlock func() error
	closed atomic.Bool

	// stripes serialize, per first byte of the hash, the steps that test
	// and change which blobs exist: committing a Put, Delete and Hold.
	stripes [256]sync.Mutex

	// dirLocks holds a *sync.Mutex per directory being made durable.
	dirLocks sync.Map
	durable  sync.Map // directory path -> struct{}: exists and fsynced into its parent
}

var _ auditshot.BlobStore = (*Store)(nil)

// New opens the store in cfg.Dir, creating the directory and its layout if
// missing, and removes the temporary files that a crash left behind. It
// returns EINVALID if cfg.Dir is empty, EUNAVAILABLE if another Store holds
// the directory, and EINTERNAL if the directory cannot be prepared.
func New(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, auditshot.Errorf(auditshot.EINVALID, "file store: a directory is required")
	}
	if cfg.MaxBlobSize <= 0 {
		cfg.MaxBlobSize = DefaultMaxBlobSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, internal("open the blob store", fmt.Errorf("resolve %s: %w", cfg.Dir, err))
	}
	s := &Store{
		dir: dir,
		tmp: filepath.Join(dir, tmpDir),
		max: cfg.MaxBlobSize,
		now: cfg.Now,
		log: cfg.Logger.With(logComponent, "file"),
	}
	if err := mkdirAllDurable(dir); err != nil {
		return nil, internal("open the blob store", err)
	}
	unlock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		if errors.Is(err, errLocked) {
			return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "the blob store directory is in use by another store", Err: fmt.Errorf("%s: %w", dir, err)}
		}
		return nil, internal("open the blob store", err)
	}
	s.unlock = unlock
	if err := s.prepare(); err != nil {
		_ = unlock()
		return nil, internal("open the blob store", err)
	}
	return s, nil
}

// prepare creates tmp/ and sha256/ durably and empties tmp/.
func (s *Store) prepare() error {
	for _, d := range []string{s.tmp, filepath.Join(s.dir, contentDir)} {
		if err := s.ensureDir(s.dir, d); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
			return fmt.Errorf("remove stale temporary file: %w", err)
		}
	}
	if len(ents) > 0 {
		s.log.Info("removed stale temporary files", slog.Int(logCount, len(ents)))
		return syncDir(s.tmp)
	}
	return nil
}

// Close releases the directory for another Store. Operations must have
// returned before Close is called; any after it return EUNAVAILABLE.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.unlock(); err != nil {
		return internal("close the blob store", err)
	}
	return nil
}

// Dir returns the store's directory, as an absolute path.
func (s *Store) Dir() string { return s.dir }

// check returns an error if the store is closed, ctx is done or sha is not a
// well-formed hash.
func (s *Store) check(ctx context.Context, op, sha string) error {
	if s.closed.Load() {
		return auditshot.Errorf(auditshot.EUNAVAILABLE, "%s: the blob store is closed", op)
	}
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	if sha == "" {
		return auditshot.Errorf(auditshot.EINVALID, "%s: a sha256 is required", op)
	}
	if !validSHA(sha) {
		return auditshot.Errorf(auditshot.EINVALID, "%s: %q is not a sha256: want 64 lowercase hex digits", op, truncate(sha, 80))
	}
	return nil
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// blobDir returns the directory of a blob's files; sha must be valid.
func (s *Store) blobDir(sha string) string {
	return filepath.Join(s.dir, contentDir, sha[:2], sha[2:4])
}

// paths returns the content, sidecar and hold-marker paths of a blob.
func (s *Store) paths(sha string) (content, meta, hold string) {
	content = filepath.Join(s.blobDir(sha), sha)
	return content, content + metaSuffix, content + holdSuffix
}

// stripe returns the mutex that serializes changes to the blob sha.
func (s *Store) stripe(sha string) *sync.Mutex {
	return &s.stripes[unhex(sha[0])<<4|unhex(sha[1])]
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// internal returns an EINTERNAL error whose message names the operation;
// err, with its paths and causes, stays internal.
func internal(op string, err error) error {
	return &auditshot.Error{Code: auditshot.EINTERNAL, Message: op + ": internal error", Err: err}
}

// ctxError reports that ctx ended op: ETIMEOUT for a deadline, EUNAVAILABLE
// for a cancellation. It wraps the context's error.
func ctxError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &auditshot.Error{Code: auditshot.ETIMEOUT, Message: op + ": deadline exceeded", Err: err}
	}
	return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: op + ": cancelled", Err: err}
}

func notFound(op, sha string) error {
	return auditshot.Errorf(auditshot.ENOTFOUND, "%s: blob %s not found", op, sha)
}
