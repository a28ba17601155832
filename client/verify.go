package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/auditshot/auditshot/ledger"
)

// ErrNotVerified is wrapped by every error of VerifyRunProof and
// Checkpoint.Open: what was checked does not prove what it claims.
var ErrNotVerified = errors.New("not verified")

// VerifyError says why a proof does not verify. It wraps ErrNotVerified
// and, when there is one, the error of the ledger package that found it
// (such as ledger.ErrUnverifiedCheckpoint or ledger.ErrInvalidProof).
type VerifyError struct {
	// Reason says what does not hold.
	Reason string
	// Err is the underlying error, or nil.
	Err error
}

func (e *VerifyError) Error() string {
	if e.Err != nil {
		return "verify: " + e.Reason + ": " + e.Err.Error()
	}
	return "verify: " + e.Reason
}

// Unwrap returns ErrNotVerified and Err.
func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotVerified}
	}
	return []error{ErrNotVerified, e.Err}
}

func hexHash(h ledger.Hash) string { return hex.EncodeToString(h[:]) }

// VerifyRunProof checks a run's proof offline, trusting nothing the
// server says but what trustedKeys signed:
//
//   - the checkpoint's note is of origin ("" accepts the checkpoint's own
//     origin) and signed by one of trustedKeys (see Checkpoint.Open: with
//     no trusted keys the server's own keys are used, which proves the
//     proof consistent but not authentic; pin the operator's key);
//   - every entry's leaf hash is the hash of its bytes, and its inclusion
//     proof leads from it to the checkpoint's signed root;
//   - every entry is a valid ledger entry of the run (its run_id id is
//     proof.RunID), the entries are in log order, the first is the run's
//     run.started entry and a run.finished entry, if any, is the last.
//
// It returns nil if all hold, and a *VerifyError otherwise.
func VerifyRunProof(proof *RunProof, origin string, trustedKeys ...string) error {
	switch {
	case proof == nil || proof.Checkpoint == nil:
		return &VerifyError{Reason: "no proof or no checkpoint"}
	case proof.RunID == "":
		return &VerifyError{Reason: "proof names no run"}
	case len(proof.Entries) == 0:
		return &VerifyError{Reason: "proof has no entries"}
	}
	cp, err := proof.Checkpoint.Open(origin, trustedKeys...)
	if err != nil {
		return err
	}
	prev, tenant := int64(-1), ""
	for i, pe := range proof.Entries {
		bad := func(reason string, err error) error {
			return &VerifyError{Reason: fmt.Sprintf("entry %d (index %d): %s", i, pe.Index, reason), Err: err}
		}
		if pe.Index <= prev {
			return bad("not in log order", nil)
		}
		prev = pe.Index
		leaf := ledger.LeafHash(pe.Entry)
		if hexHash(leaf) != pe.LeafHash {
			return bad("leaf hash is not the hash of the entry", nil)
		}
		if err := ledger.VerifyInclusion(pe.Index, cp.Size, leaf, pe.Proof, cp.Hash); err != nil {
			return bad("not in the checkpoint's tree", err)
		}
		e, err := ledger.Parse(pe.Entry)
		if err != nil {
			return bad("not a valid entry", err)
		}
		switch {
		case e.IDs[ledger.IDRun] != proof.RunID:
			return bad(fmt.Sprintf("of run %q, not %q", e.IDs[ledger.IDRun], proof.RunID), nil)
		case i == 0 && e.Type != ledger.TypeRunStarted:
			return bad(fmt.Sprintf("first entry is %s, not %s", e.Type, ledger.TypeRunStarted), nil)
		case i > 0 && e.Type == ledger.TypeRunStarted:
			return bad("a second "+string(ledger.TypeRunStarted), nil)
		case e.Type == ledger.TypeRunFinished && i != len(proof.Entries)-1:
			return bad(string(ledger.TypeRunFinished)+" is not the last entry", nil)
		case tenant != "" && e.Tenant != tenant:
			return bad(fmt.Sprintf("of tenant %q, not %q", e.Tenant, tenant), nil)
		}
		tenant = e.Tenant
	}
	return nil
}

// VerifyRun fetches the proof of a run and checks it with VerifyRunProof
// against Config.Origin and Config.TrustedKeys (the server's own keys if
// none are configured: see Config.TrustedKeys). It returns the proof,
// which can be kept and checked again offline.
func (c *Client) VerifyRun(ctx context.Context, runID string) (*RunProof, error) {
	p, err := c.RunProof(ctx, runID)
	if err != nil {
		return nil, err
	}
	if p.RunID != runID {
		return nil, &VerifyError{Reason: fmt.Sprintf("asked for the proof of run %q, got run %q", runID, p.RunID)}
	}
	if err := VerifyRunProof(p, c.cfg.Origin, c.cfg.TrustedKeys...); err != nil {
		return nil, err
	}
	return p, nil
}
