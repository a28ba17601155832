package auditshot

import (
	"context"
	"time"
)

// Timestamper obtains RFC 3161 time-stamp tokens from a Time-Stamping
// Authority (TSA). The rfc3161 package implements it over HTTP.
//
// Timestamp asks the TSA to stamp digest, the SHA-256 of the data being
// anchored (the message imprint). Implementations MUST return the DER
// TimeStampToken (a CMS SignedData, not the whole TimeStampResp) whose
// imprint is digest with the SHA-256 algorithm, and SHOULD ask the TSA to
// include its certificate. They MUST NOT return a token that the TSA did not
// grant. Errors are EUNAVAILABLE when the TSA cannot be reached or refuses,
// EINTERNAL when it answers something that is not a valid token for digest.
type Timestamper interface {
	Timestamp(ctx context.Context, digest [32]byte) (token []byte, err error)
}

// Anchor is an RFC 3161 time-stamp over a checkpoint of a tenant's log: the
// TSA attests that the checkpoint (and so every entry it counts) existed at
// GenTime. It is recorded in the log as an "anchor" entry, so that an entry
// whose claimed time is later than an anchor covering it, or earlier than
// an anchor it follows, shows back-dating.
type Anchor struct {
	TenantID string `json:"tenant_id"`
	// CheckpointSize is the size of the anchored checkpoint.
	CheckpointSize int64 `json:"checkpoint_size"`
	// CheckpointSHA256 is the SHA-256 of the anchored checkpoint's signed
	// note bytes: the token's message imprint.
	CheckpointSHA256 [32]byte `json:"checkpoint_sha256"`
	// Token is the DER TimeStampToken.
	Token []byte `json:"token"`
	// GenTime is the time the TSA states in the token.
	GenTime time.Time `json:"gen_time"`
	// TSA names the authority, as configured.
	TSA string `json:"tsa"`
	// Ledger is the anchor entry that records it.
	Ledger LedgerRef `json:"ledger"`
}
