package client_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
	"github.com/auditshot/auditshot/ledger"
	"github.com/google/go-cmp/cmp"
)

const refundPage = `<!doctype html><title>Refund</title><body style="margin:0;background:#fff"><h1>Order 1042</h1><p>Refund: $500.00</p>`

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// TestSeedFlow is the flow of DESIGN.md: a named screenshot, then a run
// with a before screenshot, an action, an after screenshot, finished;
// the run reads back with its events and its proof verifies offline.
func TestSeedFlow(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()
	page := testPage(t, refundPage)
	opts := auditshot.CaptureOptions{URL: page, Width: 320, Height: 200}

	shot, err := c.Screenshot(ctx, client.ScreenshotRequest{CaptureOptions: opts, Name: "refund_start"})
	if err != nil {
		t.Fatal(err)
	}
	if shot.Name != "refund_start" || shot.Title != "Refund" || shot.MediaType != "image/png" ||
		shot.Width != 320 || shot.Height != 200 || len(shot.SHA256) != 64 || shot.Ledger.LeafHash == "" {
		t.Errorf("capture %+v", shot)
	}
	img, err := c.ArtifactBytes(ctx, shot.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(img, pngMagic) || int64(len(img)) != shot.Size {
		t.Errorf("artifact: %d bytes starting %q, want a PNG of %d bytes", len(img), img[:min(8, len(img))], shot.Size)
	}
	got, err := c.GetCapture(ctx, shot.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "refund_start" || got.Ledger != shot.Ledger {
		t.Errorf("GetCapture = %+v, want the capture %+v", got, shot.Capture)
	}

	run, err := c.StartRun(ctx, client.RunRequest{Workflow: "process_refund", Subject: "customer-42",
		Agent: auditshot.Agent{ID: "refund-bot", Model: "claude-sonnet-4", Version: "1.2.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != auditshot.RunRunning || run.Agent.ID != "refund-bot" {
		t.Errorf("started run %+v", run.Run)
	}
	before, err := run.Screenshot(ctx, client.ScreenshotRequest{CaptureOptions: opts, Name: "refund_form", Role: auditshot.RoleBefore})
	if err != nil {
		t.Fatal(err)
	}
	if before.RunID != run.ID || before.Role != auditshot.RoleBefore {
		t.Errorf("before capture run %q role %q, want %q before", before.RunID, before.Role, run.ID)
	}
	data := map[string]any{"amount": "500.00", "currency": "USD", "order": 1042}
	action, err := run.Event(ctx, client.EventRequest{Name: "refund_approved", Data: data,
		Reasoning: "order arrived damaged; within the refund policy",
		Artifacts: []client.ArtifactRef{{SHA256: before.SHA256, Role: auditshot.RoleBefore}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Screenshot(ctx, client.ScreenshotRequest{CaptureOptions: opts, Role: auditshot.RoleAfter}); err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if run.Status != auditshot.RunSucceeded || run.Finished == nil {
		t.Errorf("finished run %+v", run.Run)
	}

	detail, err := c.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Status != auditshot.RunSucceeded || detail.Subject != "customer-42" || len(detail.Events) != 1 {
		t.Fatalf("GetRun = %+v with %d events, want succeeded with the action", detail.Run, len(detail.Events))
	}
	ev := detail.Events[0]
	var gotData map[string]any
	if err := json.Unmarshal(ev.Data, &gotData); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gotData, map[string]any{"amount": "500.00", "currency": "USD", "order": 1042.0}); diff != "" {
		t.Errorf("event data (-got +want):\n%s", diff)
	}
	if ev.ID != action.ID || ev.Type != auditshot.EventAction || ev.Name != "refund_approved" || ev.Reasoning == "" ||
		len(ev.Artifacts) != 1 || ev.Artifacts[0].SHA256 != before.SHA256 || ev.Artifacts[0].Role != auditshot.RoleBefore {
		t.Errorf("event %+v", ev)
	}

	u, err := c.Usage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Captures != 3 || u.Remaining != nil || u.TenantID != "default" {
		t.Errorf("usage %+v (remaining %v), want 3 captures, unlimited", u.Usage, u.Remaining)
	}

	proof, err := c.RunProof(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Proof", func(t *testing.T) { testProof(t, srv, proof) })

	pinned, err := client.New(client.Config{BaseURL: srv.URL, APIKey: srv.AdminKey, TrustedKeys: []string{srv.VKey}, Origin: srv.Origin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pinned.VerifyRun(ctx, run.ID); err != nil {
		t.Errorf("VerifyRun with the pinned key: %v", err)
	}
}

// testProof checks that the run's proof verifies with the log's key, and
// that any change to it, another key or another origin does not.
func testProof(t *testing.T, srv *testServer, proof *client.RunProof) {
	var types []ledger.Type
	for _, pe := range proof.Entries {
		e, err := ledger.Parse(pe.Entry)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
	}
	want := []ledger.Type{ledger.TypeRunStarted, ledger.TypeCaptureCompleted, ledger.TypeRunEvent, ledger.TypeCaptureCompleted, ledger.TypeRunFinished}
	if !slices.Equal(types, want) {
		t.Fatalf("proof entries %v, want %v", types, want)
	}
	if err := client.VerifyRunProof(proof, srv.Origin, srv.VKey); err != nil {
		t.Fatalf("VerifyRunProof with the log's key: %v", err)
	}
	if !slices.Contains(proof.Checkpoint.PublicKeys, srv.VKey) {
		t.Errorf("checkpoint public keys %q lack the log key", proof.Checkpoint.PublicKeys)
	}
	if err := client.VerifyRunProof(proof, ""); err != nil {
		t.Errorf("VerifyRunProof with the server's keys: %v", err)
	}

	_, otherKey, err := ledger.GenerateKey(originBase)
	if err != nil {
		t.Fatal(err)
	}
	withProof := slices.IndexFunc(proof.Entries, func(pe client.ProofEntry) bool { return len(pe.Proof) > 0 })
	if withProof < 0 {
		t.Fatal("no entry has a non-empty inclusion proof")
	}
	for _, tc := range []struct {
		name   string
		change func(p *client.RunProof)
		origin string
		keys   []string
		is     error
	}{
		{name: "EntryByte", change: func(p *client.RunProof) { p.Entries[2].Entry[10] ^= 1 }},
		{name: "EntryByteAndLeafHash", change: func(p *client.RunProof) {
			p.Entries[2].Entry[10] ^= 1
			h := ledger.LeafHash(p.Entries[2].Entry)
			p.Entries[2].LeafHash = hex.EncodeToString(h[:])
		}, is: ledger.ErrInvalidProof},
		{name: "ProofHash", change: func(p *client.RunProof) { p.Entries[withProof].Proof[0][0] ^= 1 }, is: ledger.ErrInvalidProof},
		{name: "ProofTooShort", change: func(p *client.RunProof) {
			p.Entries[withProof].Proof = p.Entries[withProof].Proof[1:]
		}, is: ledger.ErrInvalidProof},
		{name: "Index", change: func(p *client.RunProof) { p.Entries[4].Index++ }, is: ledger.ErrInvalidProof},
		{name: "DroppedStart", change: func(p *client.RunProof) { p.Entries = p.Entries[1:] }},
		{name: "OtherRun", change: func(p *client.RunProof) { p.RunID = "another-run" }},
		{name: "Reordered", change: func(p *client.RunProof) { p.Entries[1], p.Entries[2] = p.Entries[2], p.Entries[1] }},
		{name: "CheckpointNote", change: func(p *client.RunProof) {
			n := []byte(p.Checkpoint.Note)
			n[len(p.Checkpoint.Origin)+1] ^= 1 // a digit of the size
			p.Checkpoint.Note = string(n)
		}},
		{name: "CheckpointRootField", change: func(p *client.RunProof) { p.Checkpoint.RootHash = hex.EncodeToString(make([]byte, 32)) }},
		{name: "OtherKey", keys: []string{otherKey}, is: ledger.ErrUnverifiedCheckpoint},
		{name: "OtherKeyOnServerList", change: func(p *client.RunProof) { p.Checkpoint.PublicKeys = []string{otherKey} },
			keys: []string{}, is: ledger.ErrUnverifiedCheckpoint},
		{name: "OtherOrigin", origin: originBase + "/acme", is: ledger.ErrWrongOrigin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := cloneProof(t, proof)
			if tc.change != nil {
				tc.change(p)
			}
			origin, keys := srv.Origin, []string{srv.VKey}
			if tc.origin != "" {
				origin = tc.origin
			}
			if tc.keys != nil {
				keys = tc.keys
			}
			err := client.VerifyRunProof(p, origin, keys...)
			if !errors.Is(err, client.ErrNotVerified) {
				t.Fatalf("VerifyRunProof = %v, want ErrNotVerified", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("VerifyRunProof = %v, want it to wrap %v", err, tc.is)
			}
		})
	}
}

// cloneProof returns a deep copy of p.
func cloneProof(tb testing.TB, p *client.RunProof) *client.RunProof {
	tb.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	var out client.RunProof
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return &out
}
