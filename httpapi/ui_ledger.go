package httpapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"golang.org/x/mod/sumdb/note"
)

// What the console's ledger page reads beyond Ledger, when the Ledger
// offers it (sqlite.DB does): the log's RFC 3161 anchors and its stored
// checkpoints by size.
type (
	anchorLister interface {
		// Anchors returns the tenant's anchors in log order.
		Anchors(ctx context.Context, tenantID string) ([]auditshot.Anchor, error)
	}
	checkpointFinder interface {
		// CheckpointAt returns the tenant's stored checkpoint of a size.
		// Returns ENOTFOUND if there is none.
		CheckpointAt(ctx context.Context, tenantID string, size int64) (*auditshot.Checkpoint, error)
	}
)

// uiHistory bounds the checkpoint history and the access log shown.
const (
	uiHistory   = 20
	uiAccessLog = 100
)

// ledgerPage is the data of the ledger page.
type ledgerPage struct {
	uiBase
	Checkpoint *checkpointBody
	Signed     string
	SignedOK   bool
	Keys       []keyView
	History    []historyRow
	// NoHistory says why there is no older checkpoint to show.
	NoHistory string
	// OlderURL and NewestURL page through the history.
	OlderURL, NewestURL string
	Old                 string
	OldResult           *historyRow
	Anchors             []anchorRow
	Access              []accessRow
	NoAccess            string
	// AccessKey and AccessRun filter the access log; AccessOlder and
	// AccessFirst page through it.
	AccessKey, AccessRun     string
	AccessFiltered           bool
	AccessOlder, AccessFirst string
}

type keyView struct{ Key, Fingerprint string }

type historyRow struct {
	Size                     int64
	Time, Root, Status, Note string
	OK                       bool
}

type anchorRow struct {
	CheckpointSize int64
	GenTime, TSA   string
	Index          int64
}

type accessRow struct {
	Type, Actor, ActorName, What, Time string
	RunURL, RunID, SHA256              string
	ArtifactURL, ExportID              string
	Index                              int64
	LeafHash                           string
}

func (u *ui) handleLedger(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	ctx, tenant := r.Context(), ur.key.TenantID
	size, err := u.s.cfg.Ledger.LogSize(ctx, tenant)
	if err != nil {
		return err
	}
	if err := u.recordView(ctx, ur, auditshot.EvidenceView{What: auditshot.ViewLedger}); err != nil {
		return err
	}
	// The page's own evidence.viewed entry is in the checkpoint it shows.
	cp, err := u.s.checkpoint(ctx, tenant, size+1)
	if err != nil {
		return err
	}
	p := ledgerPage{uiBase: u.base(ur, "Ledger", "ledger"), Checkpoint: cp}
	vs, err := ledger.NewVerifiers(cp.PublicKeys...)
	if err != nil {
		return err
	}
	latest, _, err := ledger.OpenCheckpoint([]byte(cp.Note), cp.Origin, vs)
	if err != nil {
		p.Signed = "The signature does not verify: " + err.Error()
	} else {
		p.SignedOK, p.Signed = true, "Signature verified with the log's key at "+uiTime(u.s.cfg.Now())+"."
	}
	for _, k := range cp.PublicKeys {
		fp, err := ledger.KeyFingerprint(k)
		if err != nil {
			fp = "invalid key: " + err.Error()
		}
		p.Keys = append(p.Keys, keyView{Key: k, Fingerprint: fp})
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	history, next, err := u.history(ctx, tenant, cp.Size, before)
	if err != nil {
		return err
	}
	for _, old := range history {
		p.History = append(p.History, u.consistency(ctx, tenant, old, latest, vs))
	}
	if next != "" {
		p.OlderURL = ledgerURL(r.URL.Query(), "before", next, "hist-h")
	}
	if before > 0 {
		p.NewestURL = ledgerURL(r.URL.Query(), "before", "", "hist-h")
	}
	if len(p.History) == 0 {
		p.NoHistory = "The log has signed no earlier checkpoint."
		if before > 0 {
			p.NoHistory = "No checkpoint is older than these."
		}
	}
	if old := r.URL.Query().Get("old"); old != "" {
		p.Old = old
		row := u.checkOld(ctx, tenant, old, cp.Size, latest, vs)
		p.OldResult = &row
	}
	if al, ok := u.s.cfg.Ledger.(anchorLister); ok {
		anchors, err := al.Anchors(ctx, tenant)
		if err != nil {
			return err
		}
		for _, a := range slices.Backward(anchors) {
			p.Anchors = append(p.Anchors, anchorRow{CheckpointSize: a.CheckpointSize, GenTime: uiTime(a.GenTime), TSA: a.TSA, Index: a.Ledger.Index})
		}
	}
	if err := u.ledgerAccess(ctx, tenant, r.URL.Query(), &p); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "ledger", p)
	return nil
}

// ledgerAccess fills the ledger page's access log: the page of it that q
// asks for (filtered by key and run, before an index), with its links.
func (u *ui) ledgerAccess(ctx context.Context, tenant string, q url.Values, p *ledgerPage) error {
	p.AccessKey, p.AccessRun = strings.TrimSpace(q.Get("key")), strings.TrimSpace(q.Get("run"))
	f := auditshot.AccessFilter{Actor: p.AccessKey, RunID: p.AccessRun, Limit: uiAccessLog}
	f.Before, _ = strconv.ParseInt(q.Get("access_before"), 10, 64)
	access, next, err := u.accessRows(ctx, tenant, f)
	if err != nil {
		return err
	}
	p.Access = access
	if f.Before > 0 {
		p.AccessFirst = ledgerURL(q, "access_before", "", "access-h")
	}
	p.AccessFiltered = p.AccessKey != "" || p.AccessRun != ""
	if next > 0 {
		p.AccessOlder = ledgerURL(q, "access_before", strconv.FormatInt(next, 10), "access-h")
	}
	switch {
	case len(p.Access) > 0:
	case p.AccessFiltered:
		p.NoAccess = "No view or export matches this filter."
	case f.Before > 0:
		p.NoAccess = "No older views or exports."
	default:
		p.NoAccess = "Nobody has looked at evidence or exported it yet."
	}
	return nil
}

// ledgerURL is the ledger page as q shows it (the history's and the
// access log's pages and filters), with param set to value ("" removes
// it), scrolled to the section anchor.
func ledgerURL(q url.Values, param, value, anchor string) string {
	keep := url.Values{}
	for _, k := range []string{"before", "key", "run", "access_before"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	keep.Del(param)
	if value != "" {
		keep.Set(param, value)
	}
	if len(keep) == 0 {
		return "/ui/ledger#" + anchor
	}
	return "/ui/ledger?" + keep.Encode() + "#" + anchor
}

// history returns a page of the log's earlier checkpoints (smaller than
// size, and than before if it is set), largest first, and the value of
// before for the next page ("" if there is none).
func (u *ui) history(ctx context.Context, tenant string, size, before int64) ([]auditshot.Checkpoint, string, error) {
	if before <= 0 || before > size {
		before = size
	}
	cps, next, err := u.s.checkpointPage(ctx, tenant, before, uiHistory)
	if err != nil {
		return nil, "", err
	}
	nextBefore := ""
	if next > 0 {
		nextBefore = strconv.FormatInt(next, 10)
	}
	return slices.DeleteFunc(cps, func(c auditshot.Checkpoint) bool { return c.Size == 0 }), nextBefore, nil
}

// consistency checks an earlier checkpoint: its signature, and the proof
// that its tree is a prefix of the latest checkpoint's.
func (u *ui) consistency(ctx context.Context, tenant string, old auditshot.Checkpoint, latest ledger.Checkpoint, vs note.Verifiers) historyRow {
	row := historyRow{Size: old.Size, Time: uiTime(old.Time), Root: hex.EncodeToString(old.RootHash[:]), Note: string(old.Note)}
	cp, _, err := ledger.OpenCheckpoint(old.Note, latest.Origin, vs)
	switch {
	case err != nil:
		row.Status = "Signature does not verify: " + err.Error()
		return row
	case cp.Size != old.Size || cp.Hash != old.RootHash:
		row.Status = "The signed note does not state this size and root."
		return row
	}
	p, err := u.s.cfg.Ledger.ConsistencyProof(ctx, tenant, cp.Size, latest.Size)
	if err != nil {
		row.Status = "No consistency proof: " + auditshot.ErrorMessage(err)
		return row
	}
	if err := ledger.VerifyConsistency(cp.Size, latest.Size, toHashes(p), cp.Hash, latest.Hash); err != nil {
		row.Status = "NOT consistent with the latest checkpoint: " + err.Error()
		return row
	}
	row.OK = true
	row.Status = fmt.Sprintf("Signed; consistent with the latest checkpoint (size %d): proof of %d hashes verified.", latest.Size, len(p))
	return row
}

// checkOld checks the stored checkpoint of a size an auditor typed.
func (u *ui) checkOld(ctx context.Context, tenant, old string, size int64, latest ledger.Checkpoint, vs note.Verifiers) historyRow {
	n, err := strconv.ParseInt(old, 10, 64)
	if err != nil || n <= 0 || n > size {
		return historyRow{Status: fmt.Sprintf("Give a size from 1 to %d.", size)}
	}
	cf, ok := u.s.cfg.Ledger.(checkpointFinder)
	if !ok {
		return historyRow{Size: n, Status: "This store cannot look checkpoints up by size."}
	}
	cp, err := cf.CheckpointAt(ctx, tenant, n)
	if err != nil {
		if auditshot.ErrorCode(err) == auditshot.ENOTFOUND {
			return historyRow{Size: n, Status: fmt.Sprintf("The log signed no checkpoint of size %d.", n)}
		}
		return historyRow{Size: n, Status: auditshot.ErrorMessage(err)}
	}
	return u.consistency(ctx, tenant, *cp, latest, vs)
}
