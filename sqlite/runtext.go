package sqlite

import (
	"context"
	"time"
)

// runTextChunk is how many rows of runs and of events IndexRunText
// indexes per transaction, so that other writes wait for one chunk at
// most. A variable for tests.
var runTextChunk int64 = 2000

// IndexRunText brings the text index of runs and events (which
// RunFilter.Text searches) up to date with every write committed before it
// was called. Writes do not index their text themselves: ListRuns indexes
// what is pending before a text search, and a server may call this
// periodically (or at start, after an upgrade) so that searches seldom
// wait for it. It indexes in transactions of runTextChunk runs and events.
func (db *DB) IndexRunText(ctx context.Context) error {
	var lastRun, lastEvent int64
	if err := db.rdb.QueryRowContext(ctx, `SELECT (SELECT COALESCE(MAX(rowid), 0) FROM runs),
		(SELECT COALESCE(MAX(rowid), 0) FROM events)`).Scan(&lastRun, &lastEvent); err != nil {
		return internal("index run text", err)
	}
	for {
		var runs, events int64
		if err := db.rdb.QueryRowContext(ctx, `SELECT runs, events FROM run_text_state`).Scan(&runs, &events); err != nil {
			return internal("index run text", err)
		}
		if runs >= lastRun && events >= lastEvent {
			return nil
		}
		if err := db.write(ctx, func(tx *batchTx) error { return tx.indexRunText(runTextChunk) }); err != nil {
			return err
		}
	}
}

// RunTextPending returns how many runs and events (of every tenant) were
// written and are not in the text index yet.
func (db *DB) RunTextPending(ctx context.Context) (runs, events int64, err error) {
	err = db.rdb.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM runs WHERE rowid > (SELECT runs FROM run_text_state)),
		(SELECT COUNT(*) FROM events WHERE rowid > (SELECT events FROM run_text_state))`).Scan(&runs, &events)
	if err != nil {
		return 0, 0, internal("count unindexed run text", err)
	}
	return runs, events, nil
}

// RunTextIndexer calls IndexRunText at once and then every interval until
// ctx is done, and returns ctx's error. Failures are logged and retried at
// the next tick.
func (db *DB) RunTextIndexer(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := db.IndexRunText(ctx); err != nil && ctx.Err() == nil {
			db.log.Error("index run text", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// indexRunText indexes the next n runs and n events not indexed yet.
func (tx *batchTx) indexRunText(n int64) error {
	var runs, events int64
	if err := tx.queryRow(`SELECT runs, events FROM run_text_state`).Scan(&runs, &events); err != nil {
		return internal("index run text", err)
	}
	runs, err := tx.indexText(runs, n, "runs", "tenant_id, id, NULL", `SELECT q.id, r.workflow, r.subject
		FROM run_text_rows q JOIN runs r ON r.tenant_id = q.tenant_id AND r.id = q.run_id WHERE q.id > ?`)
	if err != nil {
		return err
	}
	events, err = tx.indexText(events, n, "events", "tenant_id, run_id, rowid", `SELECT q.id, e.name, CAST(e.data AS TEXT)
		FROM run_text_rows q JOIN events e ON e.rowid = q.event_rowid WHERE q.id > ?`)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE run_text_state SET runs = ?, events = ?`, runs, events); err != nil {
		return internal("index run text", err)
	}
	return nil
}

// indexText indexes the rows of table (runs or events) after rowid from,
// n at most, and returns the last rowid it indexed: cols are the tenant,
// run and event rowid of a row of table, and text selects the rowid and
// text of the run_text_rows after an id.
func (tx *batchTx) indexText(from, n int64, table, cols, text string) (int64, error) {
	var to, base int64
	if err := tx.queryRow(`SELECT (SELECT COALESCE(MAX(rowid), ?) FROM (SELECT rowid FROM `+table+` WHERE rowid > ? ORDER BY rowid LIMIT ?)),
		(SELECT COALESCE(MAX(id), 0) FROM run_text_rows)`, from, from, n).Scan(&to, &base); err != nil {
		return 0, internal("index run text", err)
	}
	if to == from {
		return from, nil
	}
	if _, err := tx.exec(`INSERT INTO run_text_rows (tenant_id, run_id, event_rowid) SELECT `+cols+` FROM `+table+
		` WHERE rowid > ? AND rowid <= ? ORDER BY rowid`, from, to); err != nil {
		return 0, internal("index run text", err)
	}
	if _, err := tx.exec(`INSERT INTO run_text (rowid, a, b) `+text, base); err != nil {
		return 0, internal("index run text", err)
	}
	return to, nil
}
