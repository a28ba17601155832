package sqlite

import (
	"context"
	"time"

	"github.com/auditshot/auditshot"
)

var _ auditshot.UsageService = (*DB)(nil)

// checkPeriod returns EINVALID unless period is a month, "2006-01".
func checkPeriod(period string) error {
	t, err := time.Parse("2006-01", period)
	if err != nil || auditshot.UsagePeriod(t) != period {
		return auditshot.Errorf(auditshot.EINVALID, "usage period %q is not a month like 2006-01", period)
	}
	return nil
}

// ReserveCapture counts one capture of the tenant in period unless limit
// (> 0) captures are already counted there; a limit of 0 or less is no
// limit. The check and the count are one conditional UPSERT, so concurrent
// reservations never exceed the limit. It returns the usage after the
// reservation, with Limit set to limit. Returns EQUOTA, with the usage,
// when the quota is spent, EINVALID for a malformed period and ENOTFOUND
// for an unknown tenant.
func (db *DB) ReserveCapture(ctx context.Context, tenantID, period string, limit int64) (auditshot.Usage, error) {
	u := auditshot.Usage{TenantID: tenantID, Period: period, Limit: max(limit, 0)}
	if err := checkPeriod(period); err != nil {
		return u, err
	}
	err := db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(tenantID); err != nil {
			return err
		}
		err := tx.queryRow(`INSERT INTO usage (tenant_id, period, captures) VALUES (?, ?, 1)
			ON CONFLICT (tenant_id, period) DO UPDATE SET captures = captures + 1 WHERE ? <= 0 OR captures < ?
			RETURNING captures`, tenantID, period, limit, limit).Scan(&u.Captures)
		if errNotFound(err) {
			// The row exists and is at the limit: nothing was counted.
			if err := tx.queryRow(`SELECT captures FROM usage WHERE tenant_id = ? AND period = ?`,
				tenantID, period).Scan(&u.Captures); err != nil {
				return internal("read usage", err)
			}
			return auditshot.Errorf(auditshot.EQUOTA, "monthly capture quota of %d is spent for %s", limit, period)
		}
		if err != nil {
			return internal("reserve capture", err)
		}
		return nil
	})
	return u, err
}

// ReleaseCapture takes back one reservation of the tenant in period, for a
// capture that failed. The count never goes below zero. Returns EINVALID
// for a malformed period.
func (db *DB) ReleaseCapture(ctx context.Context, tenantID, period string) error {
	if err := checkPeriod(period); err != nil {
		return err
	}
	return db.write(ctx, func(tx *batchTx) error {
		if _, err := tx.exec(`UPDATE usage SET captures = captures - 1
			WHERE tenant_id = ? AND period = ? AND captures > 0`, tenantID, period); err != nil {
			return internal("release capture", err)
		}
		return nil
	})
}

// Usage returns the tenant's capture count in period: 0 if nothing was
// counted there. Limit is left 0; the caller knows the tenant's plan.
// Returns EINVALID for a malformed period.
func (db *DB) Usage(ctx context.Context, tenantID, period string) (auditshot.Usage, error) {
	u := auditshot.Usage{TenantID: tenantID, Period: period}
	if err := checkPeriod(period); err != nil {
		return u, err
	}
	err := db.rdb.QueryRowContext(ctx, `SELECT captures FROM usage WHERE tenant_id = ? AND period = ?`,
		tenantID, period).Scan(&u.Captures)
	if err != nil && !errNotFound(err) {
		return u, internal("read usage", err)
	}
	return u, nil
}
