// Package sqlite is auditshot's embedded store on SQLite (modernc.org/sqlite,
// pure Go): tenants, API keys, runs, events, artifact metadata and each
// tenant's append-only ledger with its stored Merkle hashes and signed
// checkpoints.
//
// The database runs in WAL mode with synchronous=FULL, so a committed
// transaction survives a crash or power loss. Its schema is a set of
// numbered migrations embedded in the binary and applied, each in its own
// transaction, by Open.
//
// Every write goes through one sequencer goroutine that batches concurrent
// writes into one transaction (group commit; see DB.Stats). The ledger
// invariants this package MUST keep:
//
//   - A tenant's entry indexes are dense from 0: entry n is appended only
//     when entries 0..n-1 are stored, in the same or an earlier committed
//     transaction.
//   - An entry is stored exactly as ledger.Marshal produced it, with
//     ledger.LeafHash of those bytes, and is never changed or removed
//     (triggers refuse UPDATE and DELETE on entries and hashes).
//   - Appending entry n stores every hash ledger.StoredHashes returns, in
//     the same transaction, so that tree hashes and proofs are O(log n)
//     reads of hashes that are already there.
//   - An entry is written in the same transaction as the rows it describes,
//     and a caller is answered only after that transaction has committed
//     durably; if the commit fails, every caller of the batch gets the error
//     and nothing of the batch is visible.
//   - A checkpoint of size n carries the tree hash of the first n entries,
//     read from the stored hashes in the transaction that stores it.
//
// Within a batch each write runs inside its own savepoint: a write that
// fails (a conflict, an invalid entry, a failing row) is rolled back alone,
// including any entry it appended, and its caller gets its error; the other
// writes of the batch commit. Only a failure of the transaction itself (a
// failed savepoint, BEGIN or COMMIT) fails every write of the batch, and
// then none is visible and callers may retry. A caller whose context ends
// before its write is taken into a batch gets EUNAVAILABLE and nothing is
// written; once taken, a write is always answered with its real outcome.
//
// Config.BatchWait trades the latency of a lone writer (it waits that long
// for company) for fewer, larger commits under load.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"modernc.org/sqlite" // and its "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/auditshot/auditshot"
)

// Defaults of Config.
const (
	// DefaultBusyTimeout is how long a connection waits for a lock.
	DefaultBusyTimeout = 10 * time.Second
	// DefaultBatchWait is how long the sequencer waits for more writes
	// after the first write of a batch.
	// 300µs is about one fsync here: a lone writer waits little, and 32
	// concurrent API clients still share commits (make bench-api).
	DefaultBatchWait = 300 * time.Microsecond
	// DefaultMaxBatch is the most writes committed in one transaction.
	DefaultMaxBatch = 512
)

// Config configures a DB. Zero fields take their defaults.
type Config struct {
	// Now returns the current time; time.Now by default.
	Now func() time.Time
	// Signer signs checkpoints. Without it, SignCheckpoint and the
	// checkpointer return EUNAVAILABLE. The caller creates or loads the key.
	Signer note.Signer
	// Verifier is the verifier of Signer's key. If set, Verify checks the
	// signature of every stored checkpoint with it.
	Verifier note.Verifier
	// PublicKey is the verifier key text (note vkey) of Signer. If set, a
	// new tenant's log starts with a log.key entry declaring it, and
	// RecordLogKeys declares it in every log after a key rotation.
	PublicKey string
	// Origin returns the log origin of a tenant. If nil, the origin is
	// OriginBase + "/" + tenantID.
	Origin func(tenantID string) string
	// OriginBase is the origin prefix used when Origin is nil; "auditshot"
	// by default.
	OriginBase string
	// Logger receives the store's logs; slog.Default() by default.
	Logger *slog.Logger
	// BusyTimeout is SQLite's busy timeout; DefaultBusyTimeout by default.
	BusyTimeout time.Duration
	// BatchWait is how long the sequencer collects writes before it commits
	// a batch; DefaultBatchWait by default, negative for no wait.
	BatchWait time.Duration
	// MaxBatch bounds the writes of one batch; DefaultMaxBatch by default.
	MaxBatch int
}

// DB is an open auditshot store. Its methods are safe for concurrent use.
type DB struct {
	cfg Config
	log *slog.Logger
	// wdb is the one write connection, used only by the sequencer; rdb is
	// the pool of read connections.
	wdb, rdb *sql.DB

	// prepared are statements prepared on the write connection, by query,
	// and toPrepare the queries to prepare after the current batch; both
	// belong to the sequencer goroutine.
	prepared  map[string]*sql.Stmt
	toPrepare []string
	// runCache holds runs read by event-only writes across batches, and
	// dataVersion the write connection's data_version when it was valid;
	// both belong to the sequencer goroutine.
	runCache    map[runKey]*auditshot.Run
	dataVersion int64

	// readStmts are the hot read queries, prepared on the read pool (each
	// connection prepares a statement once), by query.
	readMu    sync.Mutex
	readStmts map[string]*sql.Stmt
	// agents are the runs' agents decoded so far (runDecoder).
	agents agentCache

	reqs      chan *request
	closing   chan struct{}
	seqDone   chan struct{}
	closeOnce sync.Once

	statsMu sync.Mutex
	stats   Stats
}

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the write sequencer. Close releases it.
func Open(ctx context.Context, path string, cfg Config) (*DB, error) {
	if path == "" {
		return nil, auditshot.Errorf(auditshot.EINVALID, "database path is required")
	}
	cfg = withDefaults(cfg)
	db := &DB{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "sqlite"),
		reqs:      make(chan *request),
		prepared:  map[string]*sql.Stmt{},
		readStmts: map[string]*sql.Stmt{},
		runCache:  map[runKey]*auditshot.Run{},
		closing:   make(chan struct{}),
		seqDone:   make(chan struct{}),
	}
	var err error
	if db.wdb, err = sql.Open("sqlite", dsn(path, cfg.BusyTimeout, true)); err != nil {
		return nil, internal("open database", err)
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetConnMaxIdleTime(0)
	if db.rdb, err = sql.Open("sqlite", dsn(path, cfg.BusyTimeout, false)); err != nil {
		db.wdb.Close()
		return nil, internal("open database", err)
	}
	// Keep the read connections open: opening one costs more than most
	// queries, and the default pool keeps only two idle.
	db.rdb.SetMaxOpenConns(DefaultReadConns)
	db.rdb.SetMaxIdleConns(DefaultReadConns)
	if err := db.migrate(ctx); err != nil {
		db.wdb.Close()
		db.rdb.Close()
		return nil, err
	}
	go db.sequence()
	return db, nil
}

// DefaultReadConns is the size of the pool of read connections.
const DefaultReadConns = 8

// maxReadStmts bounds the read statements kept prepared: the run
// listings have a statement per combination of filters and sort, and
// only the first ones seen are kept (the rest run unprepared).
const maxReadStmts = 256

// readStmt returns query prepared on the read pool. If preparing fails,
// or maxReadStmts are kept already, it returns nil and the caller runs the
// query unprepared.
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	db.readMu.Lock()
	defer db.readMu.Unlock()
	if st, ok := db.readStmts[query]; ok {
		return st
	}
	if len(db.readStmts) >= maxReadStmts {
		return nil
	}
	st, err := db.rdb.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	db.readStmts[query] = st
	return st
}

// queryFast runs a hot read query through its prepared statement.
func (db *DB) queryFast(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.rdb.QueryContext(ctx, query, args...)
}

// queryRowFast runs a hot read query through its prepared statement.
func (db *DB) queryRowFast(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.rdb.QueryRowContext(ctx, query, args...)
}

func withDefaults(cfg Config) Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OriginBase == "" {
		cfg.OriginBase = "auditshot"
	}
	if cfg.Origin == nil {
		base := cfg.OriginBase
		cfg.Origin = func(tenantID string) string { return base + "/" + tenantID }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	if cfg.BatchWait == 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	return cfg
}

// dsn returns the modernc.org/sqlite data source name for path. Write
// connections begin their transactions IMMEDIATE, so that a batch holds the
// write lock from its first statement.
func dsn(path string, busy time.Duration, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if write {
		q.Add("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close stops the sequencer, after it has answered the batch it is
// committing, and closes the database. Writes after Close return
// EUNAVAILABLE.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closing) })
	<-db.seqDone
	db.readMu.Lock()
	for _, st := range db.readStmts {
		st.Close()
	}
	db.readMu.Unlock()
	return errors.Join(db.wdb.Close(), db.rdb.Close())
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in order, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	var mode string
	var synchronous int
	if err := db.wdb.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return internal("read journal mode", err)
	}
	if err := db.wdb.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&synchronous); err != nil {
		return internal("read synchronous", err)
	}
	if !strings.EqualFold(mode, "wal") || synchronous != 2 {
		return internal("open database", fmt.Errorf("journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, synchronous))
	}
	if _, err := db.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return internal("create schema_migrations", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return internal("list migrations", err)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	base := path.Base(name)
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return internal("begin migration "+base, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
		return internal("check migration "+base, err)
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return internal("read migration "+base, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return internal("apply migration "+base, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		base, db.cfg.Now().UnixNano()); err != nil {
		return internal("record migration "+base, err)
	}
	if err := tx.Commit(); err != nil {
		return internal("commit migration "+base, err)
	}
	db.log.Info("applied migration", "migration", base)
	return nil
}

// Migrations returns the names of the applied migrations, in order.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, internal("list migrations", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, internal("list migrations", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list migrations", err)
	}
	return names, nil
}

// internal returns an EINTERNAL error whose cause is err with context op.
func internal(op string, err error) error {
	var e *auditshot.Error
	if errors.As(err, &e) {
		return err
	}
	return &auditshot.Error{Code: auditshot.EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

// isConstraint reports whether err is a SQLite uniqueness or primary key
// violation.
func isConstraint(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// unixNano returns t as stored: Unix nanoseconds.
func unixNano(t time.Time) int64 { return t.UnixNano() }

// fromUnixNano returns a stored time in UTC.
func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }
