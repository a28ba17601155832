package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

// store is the embedded default: SQLite, local blobs and the log key, all
// in one data directory.
type store struct {
	db    *sqlite.DB
	blobs *file.Store
	vkey  string
}

// openStore opens (creating on first use) the data directory's store and
// declares the log key in every tenant's log after a rotation.
func openStore(ctx context.Context, dir, name string, log *slog.Logger) (*store, error) {
	db, vkey, err := openDB(ctx, dir, name, log)
	if err != nil {
		return nil, err
	}
	blobs, err := file.New(file.Config{Dir: filepath.Join(dir, "blobs"), Logger: log})
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &store{db: db, blobs: blobs, vkey: vkey}
	if _, err := db.RecordLogKeys(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens the data directory's database with the log's signing key
// (created on first use) and returns it with the verifier key.
func openDB(ctx context.Context, dir, name string, log *slog.Logger) (*sqlite.DB, string, error) {
	skey, vkey, _, err := loadOrCreateLogKey(dir, name)
	if err != nil {
		return nil, "", err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, "", err
	}
	verifier, err := ledger.NewVerifier(vkey)
	if err != nil {
		return nil, "", err
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "auditshot.db"), sqlite.Config{
		Signer: signer, Verifier: verifier, PublicKey: vkey, OriginBase: name, Logger: log,
	})
	return db, vkey, err
}

// Close closes the database and the blob store.
func (s *store) Close() error {
	return errors.Join(s.db.Close(), s.blobs.Close())
}

// dataFlags are the flags of every command that opens the data directory.
type dataFlags struct {
	dir, name string
}

func (f *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "data", "auditshot-data", "data directory (env AUDITSHOT_DATA)")
	fs.StringVar(&f.name, "name", "auditshot", "log origin base, also the signing key's name (env AUDITSHOT_NAME)")
}

// open opens the data directory's store, logging to stderr.
func (f *dataFlags) open(ctx context.Context, stderr io.Writer, verbose bool) (*store, error) {
	return openStore(ctx, f.dir, f.name, newLogger(stderr, verbose))
}
