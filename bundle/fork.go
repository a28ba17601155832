package bundle

import (
	"bytes"
	"fmt"

	"github.com/auditshot/auditshot/ledger"
)

// CheckConsistency checks that two signed checkpoints of the log origin,
// each opened with the trusted verifier keys, describe one history: that the
// smaller tree is a prefix of the larger, by the consistency proof between
// them (ledger's consistency proof format; it may be nil when the sizes are
// equal or one is 0). The checkpoints may be given in either order.
//
// It returns nil if they are consistent; an error wrapping ErrCheckpoint if
// either does not open; and an error wrapping ErrFork if both are validly
// signed but describe different histories: equal sizes with different
// roots, or a proof that is missing, for other sizes, or does not verify.
// A fork signed by the log's key is evidence that the operator rewrote the
// log or showed different auditors different logs.
func CheckConsistency(origin string, keys []string, a, b, proof []byte) error {
	vs, err := ledger.NewVerifiers(keys...)
	if err != nil {
		return fmt.Errorf("check consistency: trusted key: %w", err)
	}
	cpA, _, err := ledger.OpenCheckpoint(a, origin, vs)
	if err != nil {
		return fmt.Errorf("%w: first checkpoint: %w", ErrCheckpoint, err)
	}
	cpB, _, err := ledger.OpenCheckpoint(b, origin, vs)
	if err != nil {
		return fmt.Errorf("%w: second checkpoint: %w", ErrCheckpoint, err)
	}
	if cpA.Size > cpB.Size {
		cpA, cpB = cpB, cpA
	}
	if cpA.Size == cpB.Size || cpA.Size == 0 {
		if cpA.Size != 0 && cpA.Hash != cpB.Hash {
			return fmt.Errorf("%w: two checkpoints of size %d with roots %s and %s", ErrFork, cpA.Size, cpA.Hash, cpB.Hash)
		}
		return nil
	}
	if len(bytes.TrimSpace(proof)) == 0 {
		return fmt.Errorf("%w: no consistency proof between sizes %d and %d", ErrFork, cpA.Size, cpB.Size)
	}
	p, err := ledger.ParseConsistencyProof(proof)
	if err != nil {
		return fmt.Errorf("%w: consistency proof: %w", ErrFork, err)
	}
	if p.OldSize != cpA.Size || p.NewSize != cpB.Size {
		return fmt.Errorf("%w: consistency proof is for sizes %d and %d, the checkpoints are of %d and %d", ErrFork, p.OldSize, p.NewSize, cpA.Size, cpB.Size)
	}
	if err := ledger.VerifyConsistency(p.OldSize, p.NewSize, p.Hashes, cpA.Hash, cpB.Hash); err != nil {
		return fmt.Errorf("%w: tree of size %d is not a prefix of tree of size %d: %w", ErrFork, cpA.Size, cpB.Size, err)
	}
	return nil
}
