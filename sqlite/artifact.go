package sqlite

import (
	"context"

	"github.com/auditshot/auditshot"
)

// FindArtifact returns the tenant's artifact with the given SHA-256.
// Returns EINVALID for a malformed hash and ENOTFOUND if the tenant has no
// such artifact (another tenant's artifact is not found either).
func (db *DB) FindArtifact(ctx context.Context, tenantID, sha256 string) (auditshot.Artifact, error) {
	a := auditshot.Artifact{SHA256: sha256}
	if !validSHA256.MatchString(sha256) {
		return a, auditshot.Errorf(auditshot.EINVALID, "artifact sha256 must be 64 lowercase hex digits")
	}
	var created int64
	err := db.rdb.QueryRowContext(ctx, `SELECT size, media_type, created_at FROM artifacts WHERE tenant_id = ? AND sha256 = ?`,
		tenantID, sha256).Scan(&a.Size, &a.MediaType, &created)
	if errNotFound(err) {
		return a, auditshot.Errorf(auditshot.ENOTFOUND, "artifact %s not found", sha256)
	}
	if err != nil {
		return a, internal("find artifact", err)
	}
	a.CreatedAt = fromUnixNano(created)
	return a, nil
}
