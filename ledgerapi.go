package auditshot

import (
	"context"
	"time"
)

// Checkpoint is a signed statement of the size and root hash of a tenant's
// log: a C2SP signed note (see the ledger package) together with what the
// store knows about it.
type Checkpoint struct {
	TenantID string `json:"tenant_id"`
	// Origin names the log: "<base>/<tenant>".
	Origin string `json:"origin"`
	// Size is the number of entries the checkpoint commits to.
	Size int64 `json:"size"`
	// RootHash is the RFC 6962 root hash of the first Size entries.
	RootHash [32]byte `json:"root_hash"`
	// Note is the signed note, exactly as signed.
	Note []byte `json:"note"`
	// Time is when the store signed it. It is not part of the signed text
	// and proves nothing by itself; anchors bind the log to time.
	Time time.Time `json:"time"`
}

// DefaultCheckpointLimit is how many checkpoints Checkpoints returns when
// not told; MaxCheckpointLimit is the most it returns.
const (
	DefaultCheckpointLimit = 50
	MaxCheckpointLimit     = 1000
)

// LedgerService reads a tenant's append-only log and issues its signed
// checkpoints. Entries are appended only by the services whose writes they
// record (RunService, TenantService, ...), in the same transaction.
//
// Implementations MUST keep these invariants: a tenant's entry indexes are
// dense from 0; an entry's bytes never change once written; the tree
// hashes of every entry are stored when it is; a write is acknowledged only
// once it is durable; every checkpoint's root is the root of the entries it
// counts.
type LedgerService interface {
	// SignCheckpoint signs a checkpoint of the tenant's log at its current
	// size and stores it. If the log has not grown since the latest
	// checkpoint, that checkpoint is returned. Returns ENOTFOUND for an
	// unknown tenant.
	SignCheckpoint(ctx context.Context, tenantID string) (*Checkpoint, error)
	// LatestCheckpoint returns the tenant's latest checkpoint. Returns
	// ENOTFOUND if the tenant has none.
	LatestCheckpoint(ctx context.Context, tenantID string) (*Checkpoint, error)
	// Checkpoints returns the tenant's stored checkpoints smaller than
	// before (every one if before <= 0), largest first, at most limit
	// (limit <= 0 means DefaultCheckpointLimit, and at most
	// MaxCheckpointLimit). Each is the signed note
	// as it was issued; the caller checks signatures and consistency.
	// Returns ENOTFOUND for an unknown tenant.
	Checkpoints(ctx context.Context, tenantID string, before int64, limit int) ([]Checkpoint, error)
	// Entries returns the encoded entries [start, end) of the tenant's log,
	// exactly as stored. Returns EINVALID for a range that is empty, negative
	// or beyond the log's size.
	Entries(ctx context.Context, tenantID string, start, end int64) ([][]byte, error)
	// InclusionProof returns the inclusion proof of entry index in the tree
	// of the first size entries. Returns EINVALID unless
	// 0 <= index < size <= the log's size.
	InclusionProof(ctx context.Context, tenantID string, index, size int64) ([][32]byte, error)
	// ConsistencyProof returns the proof that the tree of oldSize entries is
	// a prefix of the tree of newSize entries. Returns EINVALID unless
	// 0 <= oldSize <= newSize <= the log's size.
	ConsistencyProof(ctx context.Context, tenantID string, oldSize, newSize int64) ([][32]byte, error)
	// RangeProof returns the proof that entries [start, end) are exactly
	// those of the tree of size entries. Returns EINVALID unless
	// 0 <= start < end <= size <= the log's size.
	RangeProof(ctx context.Context, tenantID string, start, end, size int64) ([][32]byte, error)
	// Verify recomputes every leaf hash and stored tree hash of the tenant's
	// log from its stored entries and checks every stored checkpoint's root
	// and signature. It returns nil if all hold, or an EINTERNAL error
	// naming the first entry index or checkpoint size that does not.
	Verify(ctx context.Context, tenantID string) error
}
