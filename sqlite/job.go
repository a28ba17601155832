package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/auditshot/auditshot"
)

var _ auditshot.JobService = (*DB)(nil)

// CreateJob stores j as queued and sets its ID (if empty), Status,
// CreatedAt and UpdatedAt. Returns EINVALID for a bad id or kind, or a
// request or result that is not valid JSON, ENOTFOUND for an unknown
// tenant and ECONFLICT if the tenant already has a job with j's ID.
func (db *DB) CreateJob(ctx context.Context, j *auditshot.Job) error {
	switch {
	case j.ID != "" && !validID.MatchString(j.ID):
		return auditshot.Errorf(auditshot.EINVALID, "job id must be 1 to 64 characters of [a-z0-9_-]")
	case j.Kind == "" || len(j.Kind) > 64:
		return auditshot.Errorf(auditshot.EINVALID, "job kind must be 1 to 64 bytes")
	case len(j.Request) > 0 && !json.Valid(j.Request):
		return auditshot.Errorf(auditshot.EINVALID, "job request is not valid JSON")
	}
	job := *j
	if job.ID == "" {
		job.ID = randomID()
	}
	job.Status, job.FinishedAt = auditshot.JobQueued, nil
	cols, err := encodeJob(&job)
	if err != nil {
		return err
	}
	err = db.write(ctx, func(tx *batchTx) error {
		if err := tx.requireTenant(job.TenantID); err != nil {
			return err
		}
		job.CreatedAt = tx.now.UTC()
		job.UpdatedAt = job.CreatedAt
		_, err := tx.exec(`INSERT INTO jobs (tenant_id, id, kind, status, actor, request, result, error, webhook,
			next_attempt, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			job.TenantID, job.ID, job.Kind, job.Status, job.Actor, nullBytes(job.Request), cols.result, cols.err,
			cols.webhook, cols.nextAttempt, unixNano(job.CreatedAt), unixNano(job.UpdatedAt))
		if isConstraint(err) {
			return auditshot.Errorf(auditshot.ECONFLICT, "job %q already exists", job.ID)
		}
		if err != nil {
			return internal("create job", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*j = job
	return nil
}

// jobColumns are the stored forms of a job's changing fields.
type jobColumns struct {
	result       []byte
	err, webhook sql.NullString
	nextAttempt  sql.NullInt64
	finishedAt   sql.NullInt64
}

// encodeJob returns the columns of j's result, error, webhook and finish
// time. Returns EINVALID for a result that is not valid JSON.
func encodeJob(j *auditshot.Job) (jobColumns, error) {
	var c jobColumns
	if len(j.Result) > 0 && !json.Valid(j.Result) {
		return c, auditshot.Errorf(auditshot.EINVALID, "job result is not valid JSON")
	}
	c.result = nullBytes(j.Result)
	if j.Error != nil {
		b, _ := json.Marshal(j.Error)
		c.err = sql.NullString{String: string(b), Valid: true}
	}
	if w := j.Webhook; w != nil {
		b, _ := json.Marshal(w)
		c.webhook = sql.NullString{String: string(b), Valid: true}
		// A retry is due only while the webhook is undelivered.
		if w.NextAttempt != nil && w.DeliveredAt == nil {
			c.nextAttempt = sql.NullInt64{Int64: unixNano(*w.NextAttempt), Valid: true}
		}
	}
	if j.FinishedAt != nil {
		c.finishedAt = sql.NullInt64{Int64: unixNano(*j.FinishedAt), Valid: true}
	}
	return c, nil
}

// nullBytes returns b, or nil (NULL) if it is empty.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// FindJob returns a job of the tenant. Returns ENOTFOUND if the tenant has
// no such job, whether or not another tenant has.
func (db *DB) FindJob(ctx context.Context, tenantID, id string) (*auditshot.Job, error) {
	j, err := scanJob(db.rdb.QueryRowContext(ctx, `SELECT `+jobSelect+` FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errNotFound(err) {
		return nil, auditshot.Errorf(auditshot.ENOTFOUND, "job %q not found", id)
	}
	if err != nil {
		return nil, internal("find job", err)
	}
	return j, nil
}

// UpdateJob stores j's Status, Result, Error, Webhook and FinishedAt, and
// sets its UpdatedAt. Returns EINVALID for an unknown status or a result
// that is not valid JSON, and ENOTFOUND if the tenant has no such job.
func (db *DB) UpdateJob(ctx context.Context, j *auditshot.Job) error {
	switch j.Status {
	case auditshot.JobQueued, auditshot.JobRunning, auditshot.JobSucceeded, auditshot.JobFailed:
	default:
		return auditshot.Errorf(auditshot.EINVALID, "job status must be queued, running, succeeded or failed")
	}
	cols, err := encodeJob(j)
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx *batchTx) error {
		updated := tx.now.UTC()
		res, err := tx.exec(`UPDATE jobs SET status = ?, result = ?, error = ?, webhook = ?, next_attempt = ?,
			finished_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			j.Status, cols.result, cols.err, cols.webhook, cols.nextAttempt, cols.finishedAt, unixNano(updated),
			j.TenantID, j.ID)
		if err != nil {
			return internal("update job", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return internal("update job", err)
		} else if n == 0 {
			return auditshot.Errorf(auditshot.ENOTFOUND, "job %q not found", j.ID)
		}
		j.UpdatedAt = updated
		return nil
	})
}

// PendingJobs returns, oldest first, the jobs that are queued or running
// and the done jobs whose webhook is undelivered with a retry due: the
// work a restarted server resumes. The jobs of every tenant are returned.
func (db *DB) PendingJobs(ctx context.Context) ([]*auditshot.Job, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+jobSelect+` FROM jobs
		WHERE status IN ('queued', 'running') OR next_attempt IS NOT NULL ORDER BY created_at, tenant_id, id`)
	if err != nil {
		return nil, internal("list pending jobs", err)
	}
	defer rows.Close()
	var out []*auditshot.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, internal("list pending jobs", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list pending jobs", err)
	}
	return out, nil
}

const jobSelect = `tenant_id, id, kind, status, actor, request, result, error, webhook, created_at, updated_at, finished_at`

func scanJob(s scanner) (*auditshot.Job, error) {
	var (
		j                auditshot.Job
		request, result  []byte
		jobErr, webhook  sql.NullString
		created, updated int64
		finished         sql.NullInt64
	)
	if err := s.Scan(&j.TenantID, &j.ID, &j.Kind, &j.Status, &j.Actor, &request, &result, &jobErr, &webhook,
		&created, &updated, &finished); err != nil {
		return nil, err
	}
	if len(request) > 0 {
		j.Request = json.RawMessage(request)
	}
	if len(result) > 0 {
		j.Result = json.RawMessage(result)
	}
	if jobErr.Valid {
		j.Error = new(auditshot.JobError)
		if err := json.Unmarshal([]byte(jobErr.String), j.Error); err != nil {
			return nil, fmt.Errorf("decode job error: %w", err)
		}
	}
	if webhook.Valid {
		j.Webhook = new(auditshot.WebhookState)
		if err := json.Unmarshal([]byte(webhook.String), j.Webhook); err != nil {
			return nil, fmt.Errorf("decode job webhook: %w", err)
		}
	}
	j.CreatedAt, j.UpdatedAt = fromUnixNano(created), fromUnixNano(updated)
	if finished.Valid {
		t := fromUnixNano(finished.Int64)
		j.FinishedAt = &t
	}
	return &j, nil
}
