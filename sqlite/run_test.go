package sqlite_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

var png = auditshot.Artifact{SHA256: strings.Repeat("ab", 32), Size: 1234, MediaType: "image/png"}

func TestRuns(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		r := &auditshot.Run{TenantID: "acme", Workflow: "refund", Principal: "alice", Subject: "customer-42",
			Agent:  auditshot.Agent{ID: "a1", Name: "refunder", Model: "m", Version: "1", CodeRef: "abc"},
			Labels: map[string]string{"env": "prod"}}
		if err := db.CreateRun(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		if r.ID == "" || r.Status != auditshot.RunRunning || r.StartedAt.IsZero() || r.Started.LeafHash == "" {
			t.Fatalf("CreateRun left %+v", r)
		}
		got, err := db.FindRun(t.Context(), "acme", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, r); diff != "" {
			t.Errorf("FindRun (-got +want):\n%s", diff)
		}
		fin, err := db.FinishRun(t.Context(), "acme", r.ID, auditshot.RunSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		if fin.Status != auditshot.RunSucceeded || fin.EndedAt == nil || fin.Finished == nil || fin.Finished.Index != 1 {
			t.Fatalf("FinishRun = %+v", fin)
		}
		got, err = db.FindRun(t.Context(), "acme", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, fin); diff != "" {
			t.Errorf("FindRun after finish (-got +want):\n%s", diff)
		}
		_, err = db.FinishRun(t.Context(), "acme", r.ID, auditshot.RunFailed)
		wantCode(t, err, auditshot.ECONFLICT)
		e, err := ledger.Parse(mustEntries(t, db, "acme")[0])
		if err != nil || e.Type != ledger.TypeRunStarted || e.IDs[ledger.IDRun] != r.ID || e.Agent.CodeRef != "abc" {
			t.Fatalf("run.started entry = %+v, %v", e, err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		wantCode(t, db.CreateRun(t.Context(), &auditshot.Run{TenantID: "acme"}), auditshot.EINVALID)
		wantCode(t, db.CreateRun(t.Context(), &auditshot.Run{TenantID: "acme", Workflow: "w", ID: "Bad ID"}), auditshot.EINVALID)
		r := MustCreateRun(t, db, "acme")
		_, err := db.FinishRun(t.Context(), "acme", r.ID, auditshot.RunRunning)
		wantCode(t, err, auditshot.EINVALID)
		_, _, err = db.ListRuns(t.Context(), "acme", auditshot.RunFilter{Cursor: "!!"})
		wantCode(t, err, auditshot.EINVALID)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		r := &auditshot.Run{TenantID: "acme", Workflow: "w", ID: "run-1"}
		if err := db.CreateRun(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.CreateRun(t.Context(), &auditshot.Run{TenantID: "acme", Workflow: "w", ID: "run-1"}), auditshot.ECONFLICT)
		if n := len(mustEntries(t, db, "acme")); n != 1 {
			t.Errorf("%d entries after a refused run, want 1", n)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		wantCode(t, db.CreateRun(t.Context(), &auditshot.Run{TenantID: "nobody", Workflow: "w"}), auditshot.ENOTFOUND)
		_, err := db.FindRun(t.Context(), "acme", "nope")
		wantCode(t, err, auditshot.ENOTFOUND)
		_, err = db.FinishRun(t.Context(), "acme", "nope", auditshot.RunFailed)
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}

func TestListRuns(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	var ids []string
	for i := range 7 {
		r := &auditshot.Run{TenantID: "acme", Workflow: []string{"refund", "login"}[i%2], Subject: "s",
			Agent: auditshot.Agent{ID: fmt.Sprintf("agent-%d", i%3)}}
		if err := db.CreateRun(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		ids = append([]string{r.ID}, ids...) // newest first
	}
	MustCreateRun(t, db, "other")

	t.Run("Pages", func(t *testing.T) {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			runs, next, err := db.ListRuns(t.Context(), "acme", auditshot.RunFilter{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				got = append(got, r.ID)
			}
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("too many pages")
			}
			cursor = next
		}
		if diff := cmp.Diff(got, ids); diff != "" {
			t.Errorf("paged ids (-got +want):\n%s", diff)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		for _, tc := range []struct {
			f    auditshot.RunFilter
			want int
		}{
			{auditshot.RunFilter{Workflow: "refund"}, 4},
			{auditshot.RunFilter{AgentID: "agent-0"}, 3},
			{auditshot.RunFilter{Status: auditshot.RunRunning}, 7},
			{auditshot.RunFilter{Status: auditshot.RunFailed}, 0},
			{auditshot.RunFilter{Subject: "nobody"}, 0},
			{auditshot.RunFilter{From: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}, 0},
			{auditshot.RunFilter{To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}, 7},
		} {
			runs, _, err := db.ListRuns(t.Context(), "acme", tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != tc.want {
				t.Errorf("ListRuns(%+v) = %d runs, want %d", tc.f, len(runs), tc.want)
			}
		}
	})
}

func TestEvents(t *testing.T) {
	setup := func(t *testing.T) (*sqlite.DB, *auditshot.Run) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "acme")
		if err := db.PutArtifact(t.Context(), "acme", png); err != nil {
			t.Fatal(err)
		}
		return db, MustCreateRun(t, db, "acme")
	}
	t.Run("OK", func(t *testing.T) {
		db, r := setup(t)
		client := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		e := &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventAction, Name: "refund_approved",
			Data: json.RawMessage(`{"amount": "500.00", "customer": 42}`), Reasoning: "policy allows",
			Artifacts:  []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: png.SHA256}, Role: auditshot.RoleAfter}},
			ClientTime: &client}
		if err := db.AddEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		if e.ID == "" || e.Ledger.Index != 1 || e.Artifacts[0].Size != png.Size {
			t.Fatalf("AddEvent left %+v", e)
		}
		got, err := db.ListEvents(t.Context(), "acme", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.Data = json.RawMessage(`{"amount": "500.00", "customer": 42}`)
		if diff := cmp.Diff(got, []*auditshot.Event{e}); diff != "" {
			t.Errorf("ListEvents (-got +want):\n%s", diff)
		}
		entry, err := ledger.Parse(mustEntries(t, db, "acme")[1])
		if err != nil {
			t.Fatal(err)
		}
		want := []ledger.Artifact{{SHA256: png.SHA256, Size: png.Size, MediaType: png.MediaType, Role: auditshot.RoleAfter}}
		if diff := cmp.Diff(entry.Artifacts, want); diff != "" {
			t.Errorf("entry artifacts (-got +want):\n%s", diff)
		}
		if entry.Type != ledger.TypeRunEvent || entry.IDs[ledger.IDEvent] != e.ID || !entry.ClientTime.Equal(client) {
			t.Errorf("entry = %+v", entry)
		}
		if !strings.Contains(string(entry.Data), `"amount":"500.00"`) {
			t.Errorf("entry data = %s", entry.Data)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db, r := setup(t)
		bad := []*auditshot.Event{
			{Type: "shout", Name: "x"},
			{Type: auditshot.EventNote},
			{Type: auditshot.EventNote, Name: "x", Data: json.RawMessage(`{`)},
			{Type: auditshot.EventNote, Name: "x", Data: json.RawMessage(`{"amount":1.5}`)},
			{Type: auditshot.EventNote, Name: "x", Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: strings.Repeat("cd", 32)}}}},
			{Type: auditshot.EventNote, Name: "x", Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: png.SHA256, Size: 1}}}},
		}
		for i, e := range bad {
			e.TenantID, e.RunID = "acme", r.ID
			if err := db.AddEvent(t.Context(), e); auditshot.ErrorCode(err) != auditshot.EINVALID {
				t.Errorf("event %d: error %v, want code %s", i, err, auditshot.EINVALID)
			}
		}
		if n := len(mustEntries(t, db, "acme")); n != 1 {
			t.Errorf("%d entries after refused events, want 1", n)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db, r := setup(t)
		if _, err := db.FinishRun(t.Context(), "acme", r.ID, auditshot.RunSucceeded); err != nil {
			t.Fatal(err)
		}
		err := db.AddEvent(t.Context(), &auditshot.Event{TenantID: "acme", RunID: r.ID, Type: auditshot.EventNote, Name: "late"})
		wantCode(t, err, auditshot.ECONFLICT)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db, _ := setup(t)
		err := db.AddEvent(t.Context(), &auditshot.Event{TenantID: "acme", RunID: "nope", Type: auditshot.EventNote, Name: "x"})
		wantCode(t, err, auditshot.ENOTFOUND)
		_, err = db.ListEvents(t.Context(), "acme", "nope")
		wantCode(t, err, auditshot.ENOTFOUND)
	})
}

func TestArtifacts(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	if err := db.PutArtifact(t.Context(), "acme", png); err != nil {
		t.Fatal(err)
	}
	if err := db.PutArtifact(t.Context(), "acme", png); err != nil {
		t.Fatalf("second put: %v", err)
	}
	other := png
	other.Size++
	wantCode(t, db.PutArtifact(t.Context(), "acme", other), auditshot.ECONFLICT)
	wantCode(t, db.PutArtifact(t.Context(), "acme", auditshot.Artifact{SHA256: "x", MediaType: "a/b"}), auditshot.EINVALID)
	wantCode(t, db.PutArtifact(t.Context(), "acme", auditshot.Artifact{SHA256: png.SHA256}), auditshot.EINVALID)
	wantCode(t, db.PutArtifact(t.Context(), "nobody", png), auditshot.ENOTFOUND)
}

// TestTenantIsolation: tenant B cannot see or touch tenant A's run.
func TestTenantIsolation(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "a")
	MustCreateTenant(t, db, "b")
	if err := db.PutArtifact(t.Context(), "a", png); err != nil {
		t.Fatal(err)
	}
	r := MustCreateRun(t, db, "a")
	_, err := db.FindRun(t.Context(), "b", r.ID)
	wantCode(t, err, auditshot.ENOTFOUND)
	runs, _, err := db.ListRuns(t.Context(), "b", auditshot.RunFilter{})
	if err != nil || len(runs) != 0 {
		t.Errorf("tenant b lists %d runs, %v", len(runs), err)
	}
	err = db.AddEvent(t.Context(), &auditshot.Event{TenantID: "b", RunID: r.ID, Type: auditshot.EventNote, Name: "x"})
	wantCode(t, err, auditshot.ENOTFOUND)
	_, err = db.ListEvents(t.Context(), "b", r.ID)
	wantCode(t, err, auditshot.ENOTFOUND)
	_, err = db.FinishRun(t.Context(), "b", r.ID, auditshot.RunFailed)
	wantCode(t, err, auditshot.ENOTFOUND)
	// b's run cannot use a's artifact either.
	rb := MustCreateRun(t, db, "b")
	err = db.AddEvent(t.Context(), &auditshot.Event{TenantID: "b", RunID: rb.ID, Type: auditshot.EventNote, Name: "x",
		Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: png.SHA256}}}})
	wantCode(t, err, auditshot.EINVALID)
	if n := len(mustEntries(t, db, "b")); n != 1 {
		t.Errorf("tenant b has %d entries, want 1", n)
	}
}

func TestRunEntries(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateTenant(t, db, "acme")
	MustCreateTenant(t, db, "other")
	if err := db.PutArtifact(t.Context(), "acme", png); err != nil {
		t.Fatal(err)
	}
	run := MustCreateRun(t, db, "acme")
	other := MustCreateRun(t, db, "acme") // its entries interleave with run's
	want := []auditshot.LedgerRef{run.Started}
	addEvent := func(runID string) auditshot.LedgerRef {
		e := &auditshot.Event{TenantID: "acme", RunID: runID, Type: auditshot.EventNote, Name: "step"}
		if err := db.AddEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		return e.Ledger
	}
	capture := func(runID string) auditshot.LedgerRef {
		c := &auditshot.Capture{TenantID: "acme", RunID: runID, Name: "page",
			Artifacts: []auditshot.ArtifactRef{{Artifact: auditshot.Artifact{SHA256: png.SHA256}, Role: "image"}}}
		if err := db.RecordCapture(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		return c.Ledger
	}
	want = append(want, addEvent(run.ID))
	addEvent(other.ID)
	want = append(want, capture(run.ID))
	capture("") // a capture of no run
	capture(other.ID)
	want = append(want, addEvent(run.ID))
	fin, err := db.FinishRun(t.Context(), "acme", run.ID, auditshot.RunSucceeded)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, *fin.Finished)

	got, err := db.RunEntries(t.Context(), "acme", run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("RunEntries (-got +want):\n%s", diff)
	}
	// Each reference is the stored entry's, and names the run.
	entries := mustEntries(t, db, "acme")
	for _, ref := range got {
		leaf := leafHash(entries[ref.Index])
		if ref.LeafHash != hex.EncodeToString(leaf[:]) {
			t.Errorf("entry %d: leaf hash %s, want %x", ref.Index, ref.LeafHash, leaf)
		}
		e, err := ledger.Parse(entries[ref.Index])
		if err != nil || e.IDs[ledger.IDRun] != run.ID {
			t.Errorf("entry %d = %+v, %v; want one of run %s", ref.Index, e, err, run.ID)
		}
	}

	_, err = db.RunEntries(t.Context(), "other", run.ID)
	wantCode(t, err, auditshot.ENOTFOUND)
	_, err = db.RunEntries(t.Context(), "acme", "nope")
	wantCode(t, err, auditshot.ENOTFOUND)
}
