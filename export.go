package auditshot

// ExportSelection says what an evidence bundle holds: the entries of some
// runs, or an index range of the tenant's log (with a proof that the range
// is complete). Exactly one of Runs and Range is set.
type ExportSelection struct {
	Runs  []string    `json:"runs,omitempty"`
	Range *IndexRange `json:"range,omitempty"`
}

// IndexRange is the half-open range [Start, End) of ledger indices.
type IndexRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// Export describes a written evidence bundle.
type Export struct {
	ID       string          `json:"id"`
	TenantID string          `json:"tenant_id"`
	Selected ExportSelection `json:"selection"`
	// SHA256 and Size are those of the bundle file.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Entries is how many ledger entries the bundle holds, and
	// CheckpointSize the size of the checkpoint they are proven against.
	Entries        int       `json:"entries"`
	CheckpointSize int64     `json:"checkpoint_size"`
	Ledger         LedgerRef `json:"ledger"`
}
