package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// Checkpoint is a signed checkpoint of the tenant's log as the API shows
// it. Only Note is signed; Open checks it and returns what it states.
type Checkpoint struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	// RootHash is the root hash, lowercase hex.
	RootHash string `json:"root_hash"`
	// Note is the C2SP signed note, exactly as signed.
	Note string `json:"checkpoint"`
	// Time is when the server signed it; it is not signed and proves
	// nothing.
	Time time.Time `json:"time"`
	// PublicKeys are the verifier keys the server says sign the log.
	PublicKeys []string `json:"public_keys"`
}

// Open verifies the checkpoint's signed note and returns the checkpoint
// it states. The note must be of origin ("" accepts cp.Origin) and signed
// by one of trustedKeys; with no trusted keys, cp.PublicKeys are used,
// which shows that the server signed what it shows but not that the key
// is the operator's. Open also checks that Origin, Size and RootHash agree
// with the note.
func (cp *Checkpoint) Open(origin string, trustedKeys ...string) (ledger.Checkpoint, error) {
	if origin == "" {
		origin = cp.Origin
	}
	if len(trustedKeys) == 0 {
		trustedKeys = cp.PublicKeys
	}
	if len(trustedKeys) == 0 {
		return ledger.Checkpoint{}, &VerifyError{Reason: "no verifier key: give a trusted key"}
	}
	vs, err := ledger.NewVerifiers(trustedKeys...)
	if err != nil {
		return ledger.Checkpoint{}, &VerifyError{Reason: "bad verifier key", Err: err}
	}
	c, _, err := ledger.OpenCheckpoint([]byte(cp.Note), origin, vs)
	if err != nil {
		return ledger.Checkpoint{}, &VerifyError{Reason: "checkpoint", Err: err}
	}
	if c.Origin != cp.Origin || c.Size != cp.Size || hexHash(c.Hash) != cp.RootHash {
		return ledger.Checkpoint{}, &VerifyError{Reason: "the checkpoint's fields disagree with its signed note"}
	}
	return c, nil
}

// Checkpoint returns the tenant's latest checkpoint, signed on demand so
// that it covers the whole log.
func (c *Client) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	var out Checkpoint
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/ledger/checkpoint"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Checkpoints returns a page of the checkpoints the log signed, largest
// first: those smaller than before (all if before is 0), at most limit
// (the server's default if 0; at most 500), and the before of the next
// page (0 at the end). Check each with Checkpoint.Open and, against a
// later one, with ConsistencyProof and ledger.VerifyConsistency.
func (c *Client) Checkpoints(ctx context.Context, before int64, limit int) ([]Checkpoint, int64, error) {
	q := url.Values{}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Checkpoints []Checkpoint `json:"checkpoints"`
		NextBefore  int64        `json:"next_before"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/ledger/checkpoints", query: q}, &out); err != nil {
		return nil, 0, err
	}
	return out.Checkpoints, out.NextBefore, nil
}

// AccessFilter selects entries of the access log; zero fields select all.
type AccessFilter struct {
	// Key is an API key id, Run a run id.
	Key, Run string
	// Before is a ledger index: entries before it (the next page).
	Before int64
	// Limit is the most entries (the server's default if 0, at most 500).
	Limit int
}

// Access returns a page of the access log (who viewed evidence and who
// exported it, each a ledger entry), newest first, and the Before of the
// next page (0 at the end). It needs an audit (or admin) key.
func (c *Client) Access(ctx context.Context, f AccessFilter) ([]auditshot.AccessEntry, int64, error) {
	q := url.Values{}
	for k, v := range map[string]string{"key": f.Key, "run": f.Run} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Before > 0 {
		q.Set("before", strconv.FormatInt(f.Before, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct {
		Entries    []auditshot.AccessEntry `json:"entries"`
		NextBefore int64                   `json:"next_before"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/ledger/access", query: q}, &out); err != nil {
		return nil, 0, err
	}
	return out.Entries, out.NextBefore, nil
}

// proofWire is an inclusion or consistency proof as the API sends it.
type proofWire struct {
	Size  int64         `json:"size"`
	Proof []ledger.Hash `json:"proof"` // base64 in JSON
}

// InclusionProof returns the proof that entry index is in the tree of the
// first size entries; check it with ledger.VerifyInclusion against a
// checkpoint of that size. Returns EINVALID unless 0 <= index < size <=
// the log's size.
func (c *Client) InclusionProof(ctx context.Context, index, size int64) ([]ledger.Hash, error) {
	q := url.Values{"index": {strconv.FormatInt(index, 10)}, "size": {strconv.FormatInt(size, 10)}}
	var out proofWire
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/ledger/proof/inclusion", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Proof, nil
}

// ConsistencyProof returns the proof that the tree of oldSize entries is a
// prefix of the tree of newSize entries; check it with
// ledger.VerifyConsistency. Returns EINVALID unless 0 <= oldSize <= newSize
// <= the log's size.
func (c *Client) ConsistencyProof(ctx context.Context, oldSize, newSize int64) ([]ledger.Hash, error) {
	q := url.Values{"old": {strconv.FormatInt(oldSize, 10)}, "new": {strconv.FormatInt(newSize, 10)}}
	var out proofWire
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/ledger/proof/consistency", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Proof, nil
}

// MaxEntries is the most entries one Entries call returns.
const MaxEntries = 1000

// Entries returns the encoded entries [start, end) of the tenant's log,
// exactly as stored (decode them with ledger.Parse). Returns EINVALID
// unless start < end <= start+MaxEntries and end <= the log's size.
func (c *Client) Entries(ctx context.Context, start, end int64) ([][]byte, error) {
	q := url.Values{"start": {strconv.FormatInt(start, 10)}, "end": {strconv.FormatInt(end, 10)}}
	var out struct {
		Entries [][]byte `json:"entries"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/ledger/entries", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// RunProof is what proves a run's entries: each entry with its inclusion
// proof in the tree of a signed checkpoint. Check it with VerifyRunProof.
type RunProof struct {
	RunID      string       `json:"run_id"`
	Checkpoint *Checkpoint  `json:"checkpoint"`
	Entries    []ProofEntry `json:"entries"`
}

// ProofEntry is one entry of a run with its inclusion proof.
type ProofEntry struct {
	Index int64 `json:"index"`
	// LeafHash is the entry's leaf hash, lowercase hex.
	LeafHash string `json:"leaf_hash"`
	// Entry is the encoded entry, exactly as the log holds it.
	Entry []byte `json:"entry"`
	// Proof is the inclusion proof in the checkpoint's tree.
	Proof []ledger.Hash `json:"proof"`
}

// RunProof returns the proof of a run's entries (run.started, its events
// and captures, run.finished), without checking it: see VerifyRun. Returns
// ENOTFOUND if the tenant has no such run.
func (c *Client) RunProof(ctx context.Context, runID string) (*RunProof, error) {
	var out RunProof
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/runs/" + escape(runID) + "/proof"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
