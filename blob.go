package auditshot

import (
	"context"
	"errors"
	"io"
	"time"
)

// Artifact is an immutable, content-addressed blob: a screenshot, a DOM
// snapshot, a network log, a video. Its SHA-256 is its identity and is what
// ledger entries refer to.
type Artifact struct {
	// SHA256 is the lowercase hex SHA-256 of the content.
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	MediaType string    `json:"media_type"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrBlobCorrupt is wrapped by errors of reads whose content no longer
// matches its SHA-256.
var ErrBlobCorrupt = errors.New("blob content does not match its hash")

// BlobStore keeps artifacts' content, addressed by SHA-256. Implementations
// are file (local directory) and s3.
type BlobStore interface {
	// Put stores the content of r and returns its artifact. Content already
	// stored is stored once: a second Put of the same bytes returns the
	// stored artifact (the first media type wins) and writes nothing new. Put MUST NOT return before the
	// content is durable (a crash after Put returns loses nothing), and a
	// failed or cancelled Put MUST leave nothing visible under any hash.
	// Returns EINVALID if mediaType is empty or the content is larger than
	// the store's limit.
	Put(ctx context.Context, r io.Reader, mediaType string) (Artifact, error)

	// Open returns the content of the blob with the given SHA-256. If
	// verify is true, reading to EOF checks the content against the hash
	// and the final Read returns an EINTERNAL error wrapping ErrBlobCorrupt
	// on a mismatch. Returns ENOTFOUND if no such blob exists (or it was
	// deleted), EINVALID if sha256 is not 64 lowercase hex digits.
	Open(ctx context.Context, sha256 string, verify bool) (io.ReadCloser, Artifact, error)

	// Stat returns the artifact without reading its content. Returns
	// ENOTFOUND if no such blob exists.
	Stat(ctx context.Context, sha256 string) (Artifact, error)

	// Delete removes a blob, for retention; its ledger entries stay and a
	// tombstone entry records the deletion. Returns ENOTFOUND if no such
	// blob exists and EFORBIDDEN if it is under legal hold.
	Delete(ctx context.Context, sha256 string) error
}
