package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// MaxEntriesPerRequest bounds GET /v1/ledger/entries.
const MaxEntriesPerRequest = 1000

// checkpointBody is a signed checkpoint as the API shows it.
type checkpointBody struct {
	Origin     string    `json:"origin"`
	Size       int64     `json:"size"`
	RootHash   string    `json:"root_hash"` // lowercase hex
	Note       string    `json:"checkpoint"`
	Time       time.Time `json:"time"`
	PublicKeys []string  `json:"public_keys"`
}

// checkpoint returns the tenant's latest checkpoint, signing a new one on
// demand when it does not cover the first need entries.
func (s *Server) checkpoint(ctx context.Context, tenant string, need int64) (*checkpointBody, error) {
	cp, err := s.cfg.Ledger.LatestCheckpoint(ctx, tenant)
	if err != nil && auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
		return nil, err
	}
	if cp == nil || cp.Size < need {
		if cp, err = s.cfg.Ledger.SignCheckpoint(ctx, tenant); err != nil {
			return nil, err
		}
	}
	keys, err := s.cfg.Ledger.LogKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []string{}
	}
	return &checkpointBody{Origin: cp.Origin, Size: cp.Size, RootHash: hex.EncodeToString(cp.RootHash[:]),
		Note: string(cp.Note), Time: cp.Time, PublicKeys: keys}, nil
}

func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) error {
	tenant := callerOf(r).key.TenantID
	size, err := s.cfg.Ledger.LogSize(r.Context(), tenant)
	if err != nil {
		return err
	}
	cp, err := s.checkpoint(r.Context(), tenant, size)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cp)
	return nil
}

// maxCheckpointPage is the largest page of GET /v1/ledger/checkpoints: less
// than the store's most (auditshot.MaxCheckpointLimit), since a page asks
// for one more.
const maxCheckpointPage = 500

// handleCheckpoints lists the checkpoints the log signed, largest first,
// a page at a time: ?before=SIZE&limit=N (default
// auditshot.DefaultCheckpointLimit, at most maxCheckpointPage).
// next_before, when not 0, is the before of the next page.
func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request) error {
	tenant := callerOf(r).key.TenantID
	var before, limit int64
	var err error
	if r.URL.Query().Has("before") {
		if before, err = intParam(r, "before"); err != nil {
			return err
		}
	}
	if r.URL.Query().Has("limit") {
		if limit, err = intParam(r, "limit"); err != nil {
			return err
		}
		if limit < 1 || limit > maxCheckpointPage {
			return auditshot.Errorf(auditshot.EINVALID, "limit: want 1 to %d, got %d", maxCheckpointPage, limit)
		}
	}
	if limit == 0 {
		limit = auditshot.DefaultCheckpointLimit
	}
	cps, next, err := s.checkpointPage(r.Context(), tenant, before, int(limit))
	if err != nil {
		return err
	}
	keys, err := s.cfg.Ledger.LogKeys(r.Context(), tenant)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []string{}
	}
	out := struct {
		Checkpoints []checkpointBody `json:"checkpoints"`
		NextBefore  int64            `json:"next_before"`
	}{Checkpoints: []checkpointBody{}, NextBefore: next}
	for _, cp := range cps {
		out.Checkpoints = append(out.Checkpoints, checkpointBody{Origin: cp.Origin, Size: cp.Size,
			RootHash: hex.EncodeToString(cp.RootHash[:]), Note: string(cp.Note), Time: cp.Time, PublicKeys: keys})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Page sizes of GET /v1/ledger/access (the largest less than the store's
// most, since a page asks for one more).
const (
	defaultAccessPage = 50
	maxAccessPage     = 500
)

// handleAccess lists the access log (evidence.viewed and export.created
// entries), newest first: ?key=&run=&before=&limit=. next_before, when not
// 0, is the before of the next page.
func (s *Server) handleAccess(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := auditshot.AccessFilter{Actor: q.Get("key"), RunID: q.Get("run"), Limit: defaultAccessPage}
	var err error
	if q.Has("before") {
		if f.Before, err = intParam(r, "before"); err != nil {
			return err
		}
	}
	if q.Has("limit") {
		n, err := intParam(r, "limit")
		if err != nil {
			return err
		}
		if n < 1 || n > maxAccessPage {
			return auditshot.Errorf(auditshot.EINVALID, "limit: want 1 to %d, got %d", maxAccessPage, n)
		}
		f.Limit = int(n)
	}
	entries, next, err := s.accessPage(r.Context(), callerOf(r).key.TenantID, f)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []auditshot.AccessEntry{}
	}
	writeJSON(w, http.StatusOK, struct {
		Entries    []auditshot.AccessEntry `json:"entries"`
		NextBefore int64                   `json:"next_before"`
	}{entries, next})
	return nil
}

// checkpointPage returns at most limit of the tenant's checkpoints smaller
// than before (all if 0), largest first, and the before of the next page
// (0 if this is the last).
func (s *Server) checkpointPage(ctx context.Context, tenant string, before int64, limit int) ([]auditshot.Checkpoint, int64, error) {
	// One more than asked says whether there is a next page.
	cps, err := s.cfg.Ledger.Checkpoints(ctx, tenant, before, limit+1)
	if err != nil || len(cps) <= limit {
		return cps, 0, err
	}
	return cps[:limit], cps[limit-1].Size, nil
}

// accessPage returns the page of the access log f selects, at most
// f.Limit entries, and the Before of the next page (0 if this is the
// last).
func (s *Server) accessPage(ctx context.Context, tenant string, f auditshot.AccessFilter) ([]auditshot.AccessEntry, int64, error) {
	limit := f.Limit
	f.Limit++ // one more says whether there is a next page
	entries, err := s.cfg.Access.ListAccess(ctx, tenant, f)
	if err != nil || len(entries) <= limit {
		return entries, 0, err
	}
	return entries[:limit], entries[limit-1].Ledger.Index, nil
}

// intParam parses a required non-negative integer query parameter.
func intParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, auditshot.Errorf(auditshot.EINVALID, "%s: want a non-negative integer, got %q", name, v)
	}
	return n, nil
}

func b64Hashes(p [][32]byte) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// proofBody is an inclusion or consistency proof: base64 hashes as in
// C2SP tlog proofs.
type proofBody struct {
	Index   *int64   `json:"index,omitempty"`
	OldSize *int64   `json:"old_size,omitempty"`
	Size    int64    `json:"size"`
	Proof   []string `json:"proof"`
}

func (s *Server) handleInclusion(w http.ResponseWriter, r *http.Request) error {
	index, err := intParam(r, "index")
	if err != nil {
		return err
	}
	size, err := intParam(r, "size")
	if err != nil {
		return err
	}
	p, err := s.cfg.Ledger.InclusionProof(r.Context(), callerOf(r).key.TenantID, index, size)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, proofBody{Index: &index, Size: size, Proof: b64Hashes(p)})
	return nil
}

func (s *Server) handleConsistency(w http.ResponseWriter, r *http.Request) error {
	oldSize, err := intParam(r, "old")
	if err != nil {
		return err
	}
	size, err := intParam(r, "new")
	if err != nil {
		return err
	}
	p, err := s.cfg.Ledger.ConsistencyProof(r.Context(), callerOf(r).key.TenantID, oldSize, size)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, proofBody{OldSize: &oldSize, Size: size, Proof: b64Hashes(p)})
	return nil
}

// entriesBody is a range of raw entries, base64.
type entriesBody struct {
	Start   int64    `json:"start"`
	Entries [][]byte `json:"entries"`
}

func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request) error {
	start, err := intParam(r, "start")
	if err != nil {
		return err
	}
	end, err := intParam(r, "end")
	if err != nil {
		return err
	}
	if end <= start || end-start > MaxEntriesPerRequest {
		return auditshot.Errorf(auditshot.EINVALID, "end: want start < end <= start+%d, got start=%d end=%d", MaxEntriesPerRequest, start, end)
	}
	es, err := s.cfg.Ledger.Entries(r.Context(), callerOf(r).key.TenantID, start, end)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, entriesBody{Start: start, Entries: es})
	return nil
}

// runProof is everything needed to check a run's entries offline against
// a signed checkpoint.
type runProof struct {
	RunID      string          `json:"run_id"`
	Checkpoint *checkpointBody `json:"checkpoint"`
	Entries    []runProofEntry `json:"entries"`
}

type runProofEntry struct {
	Index    int64    `json:"index"`
	LeafHash string   `json:"leaf_hash"`
	Entry    []byte   `json:"entry"` // base64 in JSON
	Proof    []string `json:"proof"`
}

func (s *Server) handleRunProof(w http.ResponseWriter, r *http.Request) error {
	ctx, tenant := r.Context(), callerOf(r).key.TenantID
	refs, err := s.cfg.Runs.RunEntries(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	var need int64
	for _, ref := range refs {
		need = max(need, ref.Index+1)
	}
	cp, err := s.checkpoint(ctx, tenant, need)
	if err != nil {
		return err
	}
	out := runProof{RunID: r.PathValue("id"), Checkpoint: cp, Entries: make([]runProofEntry, 0, len(refs))}
	for _, ref := range refs {
		es, err := s.cfg.Ledger.Entries(ctx, tenant, ref.Index, ref.Index+1)
		if err != nil {
			return err
		}
		p, err := s.cfg.Ledger.InclusionProof(ctx, tenant, ref.Index, cp.Size)
		if err != nil {
			return err
		}
		leaf := ledger.LeafHash(es[0])
		out.Entries = append(out.Entries, runProofEntry{Index: ref.Index, LeafHash: hex.EncodeToString(leaf[:]),
			Entry: es[0], Proof: b64Hashes(p)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
