package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// Stats counts the work of the write sequencer.
type Stats struct {
	// Batches is the number of committed write transactions.
	Batches int64
	// Writes is the number of writes committed (each a caller's request).
	Writes int64
	// Entries is the number of ledger entries committed.
	Entries int64
	// Failed is the number of writes that returned an error.
	Failed int64
}

// Stats returns the sequencer's counters since Open.
func (db *DB) Stats() Stats {
	db.statsMu.Lock()
	defer db.statsMu.Unlock()
	return db.stats
}

// request is one caller's write: fn runs inside the batch's transaction.
type request struct {
	ctx  context.Context
	fn   func(*batchTx) error
	done chan error
	// eventOnly marks a write that changes no tenant, run or artifact row
	// (AddEvent): the batch's caches of those rows stay valid across it.
	eventOnly bool
}

// batchTx is the transaction of a batch, as one write sees it: its rows and
// ledger appends commit together with the batch, or not at all.
type batchTx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time
	// sizes caches the log size of tenants appended to in this batch.
	sizes map[string]int64
	// entries counts the entries appended by the current write.
	entries int64
	// stmts are the batch's handles on prepared statements, by query.
	stmts map[string]*sql.Stmt
	// hashes caches stored hashes read or written in this batch, by tenant
	// and stored hash index. A rolled-back write clears it.
	hashes map[hashKey]ledger.Hash
	// runs caches the runs read by AddEvent (DB.runCache, kept across
	// batches). Only runs of consecutive eventOnly writes share it: any
	// other write, a failed batch, or a commit by another connection clears
	// it.
	runs map[runKey]*auditshot.Run
}

type hashKey struct {
	tenant string
	id     int64
}

type runKey struct{ tenant, run string }

// maxCachedRuns bounds DB.runCache.
const maxCachedRuns = 10_000

// clearRowCaches forgets the cached rows of runs, which another write may
// change.
func (tx *batchTx) clearRowCaches() { clear(tx.runs) }

// write runs fn in the sequencer's next batch and returns once the batch
// has committed durably (nil) or failed. fn's writes are isolated from the
// other writes of the batch by a savepoint: if fn returns an error, its
// writes are rolled back and the error returned, and the rest of the batch
// commits. If the commit fails, every write of the batch returns the error
// and none is visible. fn MUST NOT keep tx after it returns.
func (db *DB) write(ctx context.Context, fn func(tx *batchTx) error) error {
	return db.send(&request{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// send queues r and waits for its answer, as write does.
func (db *DB) send(r *request) error {
	ctx := r.ctx
	select {
	case db.reqs <- r:
	case <-ctx.Done():
		return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "request cancelled", Err: ctx.Err()}
	case <-db.closing:
		return auditshot.Errorf(auditshot.EUNAVAILABLE, "store is closed")
	}
	// Once taken, a write is always answered: the batch is bounded in size
	// and time, and its outcome is only known after the commit.
	return <-r.done
}

// sequence is the sequencer goroutine: it collects writes into batches and
// commits each batch in one transaction.
func (db *DB) sequence() {
	defer close(db.seqDone)
	for {
		var first *request
		select {
		case first = <-db.reqs:
		case <-db.closing:
			return
		}
		db.runBatch(db.collect(first))
		db.prepareNew()
	}
}

// collect gathers writes after first until the batch is full or BatchWait
// has passed.
func (db *DB) collect(first *request) []*request {
	batch := []*request{first}
	if db.cfg.BatchWait < 0 {
		for len(batch) < db.cfg.MaxBatch {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				return batch
			}
		}
		return batch
	}
	timer := time.NewTimer(db.cfg.BatchWait)
	defer timer.Stop()
	for len(batch) < db.cfg.MaxBatch {
		select {
		case r := <-db.reqs:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		case <-db.closing:
			return batch
		}
	}
	return batch
}

// runBatch runs the writes of batch in one transaction, commits it and
// answers every caller.
func (db *DB) runBatch(batch []*request) {
	results := make([]error, len(batch))
	var entries int64
	err := db.execBatch(batch, results, &entries)
	var st Stats
	for i := range results {
		if err != nil {
			results[i] = err
		}
		if results[i] != nil {
			st.Failed++
		} else {
			st.Writes++
		}
	}
	if err == nil {
		st.Batches, st.Entries = 1, entries
	} else {
		db.log.Error("write batch failed", "writes", len(batch), "err", err)
	}
	db.statsMu.Lock()
	db.stats.Batches += st.Batches
	db.stats.Writes += st.Writes
	db.stats.Entries += st.Entries
	db.stats.Failed += st.Failed
	db.statsMu.Unlock()
	for i, r := range batch {
		r.done <- results[i]
	}
}

// execBatch runs batch in one transaction and commits it. It fills results
// with each write's own error and returns an error that fails the whole
// batch, if any.
func (db *DB) execBatch(batch []*request, results []error, entries *int64) error {
	ctx := context.Background()
	sqltx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return internal("begin batch", err)
	}
	defer sqltx.Rollback()
	// Runs read by earlier batches stay cached while no other connection
	// (another process) committed: data_version tells.
	tx := &batchTx{tx: sqltx, db: db, now: db.cfg.Now(), sizes: map[string]int64{}, stmts: map[string]*sql.Stmt{},
		hashes: map[hashKey]ledger.Hash{}, runs: db.runCache}
	var version int64
	if err := tx.queryRow(`PRAGMA data_version`).Scan(&version); err != nil || version != db.dataVersion || len(db.runCache) > maxCachedRuns {
		clear(db.runCache)
		db.dataVersion = version
	}
	committed := false
	defer func() {
		if !committed {
			clear(db.runCache)
		}
	}()
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "request cancelled", Err: err}
			continue
		}
		if !r.eventOnly {
			tx.clearRowCaches()
		}
		n, err := tx.run(r.fn)
		if !r.eventOnly {
			tx.clearRowCaches()
		}
		if err != nil {
			var fatal batchError
			if errors.As(err, &fatal) {
				return err
			}
			results[i] = err
			continue
		}
		*entries += n
	}
	if err := sqltx.Commit(); err != nil {
		return internal("commit batch", err)
	}
	committed = true
	return nil
}

// batchError is an error that fails the whole batch: the transaction is
// in an unknown state.
type batchError struct{ error }

func (e batchError) Unwrap() error { return e.error }

// run runs fn inside a savepoint and returns the number of entries it
// appended. An error of fn rolls back to the savepoint; an error wrapped in
// batchError means the savepoint itself failed.
func (tx *batchTx) run(fn func(*batchTx) error) (n int64, err error) {
	defer func() {
		// A panicking write leaves the transaction in an unknown state:
		// fail the batch rather than the sequencer.
		if p := recover(); p != nil {
			n, err = 0, batchError{internal("write", fmt.Errorf("panic: %v", p))}
		}
	}()
	if _, err := tx.exec(`SAVEPOINT write`); err != nil {
		return 0, batchError{internal("savepoint", err)}
	}
	tx.entries = 0
	if err := fn(tx); err != nil {
		// The rolled-back write may have appended or changed rows: forget
		// cached sizes, hashes and rows.
		clear(tx.sizes)
		clear(tx.hashes)
		tx.clearRowCaches()
		if _, rerr := tx.exec(`ROLLBACK TO write`); rerr != nil {
			return 0, batchError{internal("rollback to savepoint", fmt.Errorf("%w (after %w)", rerr, err))}
		}
		if _, rerr := tx.exec(`RELEASE write`); rerr != nil {
			return 0, batchError{internal("release savepoint", rerr)}
		}
		return 0, err
	}
	if _, err := tx.exec(`RELEASE write`); err != nil {
		return 0, batchError{internal("release savepoint", err)}
	}
	return tx.entries, nil
}

// Now returns the time of the batch: every entry of a batch carries it.
func (tx *batchTx) Now() time.Time { return tx.now }

// stmt returns the batch's prepared statement of query, preparing it the
// first time the batch uses it, so that the writes of a batch parse each
// statement once. The transaction closes them.
func (tx *batchTx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := tx.stmts[query]; ok {
		return s, nil
	}
	ctx := context.Background()
	if ps, ok := tx.db.prepared[query]; ok {
		// Prepared on the write connection by an earlier batch: the
		// transaction's handle reuses it without parsing the query again.
		s := tx.tx.StmtContext(ctx, ps)
		tx.stmts[query] = s
		return s, nil
	}
	s, err := tx.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	tx.stmts[query] = s
	if len(tx.db.prepared)+len(tx.db.toPrepare) < maxPrepared {
		tx.db.toPrepare = append(tx.db.toPrepare, query)
	}
	return s, nil
}

// maxPrepared bounds the statements kept prepared on the write connection.
const maxPrepared = 256

// prepareNew prepares, on the write connection and outside any
// transaction, the statements the last batch used for the first time, so
// that later batches reuse them. A statement that fails to prepare is
// simply prepared again by each batch that uses it.
func (db *DB) prepareNew() {
	for _, q := range db.toPrepare {
		if _, ok := db.prepared[q]; ok {
			continue
		}
		s, err := db.wdb.PrepareContext(context.Background(), q)
		if err != nil {
			continue
		}
		db.prepared[q] = s
	}
	db.toPrepare = db.toPrepare[:0]
}

func (tx *batchTx) exec(query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(context.Background(), args...)
}

func (tx *batchTx) queryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(context.Background(), query, args...)
}

// QueryRowContext makes batchTx a querier, with prepared statements.
func (tx *batchTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := tx.stmt(query)
	if err != nil {
		return tx.tx.QueryRowContext(ctx, query, args...) // reports the error
	}
	return s.QueryRowContext(ctx, args...)
}

// QueryContext makes batchTx a querier, with prepared statements.
func (tx *batchTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}
