package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

const originBase = "auditshot.bench"

// store is a SQLite store with one tenant and one running run whose events
// are the benchmark's entries.
type store struct {
	db     *sqlite.DB
	tenant string
	runID  string
	vkey   string
	v      note.Verifier
	data   json.RawMessage
	// entryLen is the length of an encoded benchmark entry.
	entryLen int
}

// openStore opens a new store at path with a tenant and a run, and a
// checkpoint key named after the tenant's log.
func openStore(ctx context.Context, path, tenant string, entrySize int) (*store, error) {
	origin := originBase + "/" + tenant
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		return nil, err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, path, sqlite.Config{Signer: signer, Verifier: v, OriginBase: originBase,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	s := &store{db: db, tenant: tenant, vkey: vkey, v: v}
	if err := db.CreateTenant(ctx, &auditshot.Tenant{ID: tenant, Name: "Benchmark", Plan: auditshot.Plans["free"]}); err != nil {
		db.Close()
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	r := &auditshot.Run{TenantID: tenant, Workflow: "bench-ledger", Agent: auditshot.Agent{ID: "bench-agent", Model: "m1"}}
	if err := db.CreateRun(ctx, r); err != nil {
		db.Close()
		return nil, fmt.Errorf("create run: %w", err)
	}
	s.runID = r.ID
	if s.data, err = s.padData(ctx, entrySize); err != nil {
		db.Close()
		return nil, err
	}
	n, err := s.append(ctx, s.data)
	if err == nil {
		var es [][]byte
		es, err = db.Entries(ctx, tenant, n-1, n)
		if err == nil {
			s.entryLen = len(es[0])
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// padData returns event data that makes an encoded run.event entry about
// size bytes long, measured on an entry of the store's own.
func (s *store) padData(ctx context.Context, size int) (json.RawMessage, error) {
	data := func(pad int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", max(pad, 0))))
	}
	n, err := s.append(ctx, data(0))
	if err != nil {
		return nil, err
	}
	es, err := s.db.Entries(ctx, s.tenant, n-1, n)
	if err != nil {
		return nil, err
	}
	return data(size - len(es[0])), nil
}

// append adds one event with data and returns the log's size after it.
func (s *store) append(ctx context.Context, data json.RawMessage) (int64, error) {
	e := &auditshot.Event{TenantID: s.tenant, RunID: s.runID, Type: auditshot.EventAction, Name: "bench", Data: data}
	if err := s.db.AddEvent(ctx, e); err != nil {
		return 0, err
	}
	return e.Ledger.Index + 1, nil
}

// add appends one benchmark entry.
func (s *store) add(ctx context.Context) error {
	_, err := s.append(ctx, s.data)
	return err
}

func (s *store) size(ctx context.Context) (int64, error) { return s.db.LogSize(ctx, s.tenant) }

func (s *store) close() error { return s.db.Close() }
