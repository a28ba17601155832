package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

func TestDo(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := srv.admin(t)
	ctx := t.Context()

	t.Run("OK", func(t *testing.T) {
		var runID string
		err := c.Do(ctx, client.RunRequest{Workflow: "refund"}, func(ctx context.Context, run *client.Run) error {
			runID = run.ID
			_, err := run.Note(ctx, "checked_order", "order 1042 is eligible")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.GetRun(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != auditshot.RunSucceeded || len(d.Events) != 1 || d.Events[0].Type != auditshot.EventNote ||
			string(d.Events[0].Data) != `{"text":"order 1042 is eligible"}` {
			t.Errorf("run %+v events %+v, want succeeded with the note", d.Run, d.Events)
		}
	})

	t.Run("ErrFn", func(t *testing.T) {
		declined := errors.New("card declined")
		var runID string
		err := c.Do(ctx, client.RunRequest{Workflow: "refund", Subject: "customer-7"}, func(ctx context.Context, run *client.Run) error {
			runID = run.ID
			if _, err := run.Action(ctx, "charge_card", map[string]any{"amount": "12.50", "currency": "EUR"}, "refund by charge reversal"); err != nil {
				return err
			}
			return declined
		})
		if !errors.Is(err, declined) {
			t.Fatalf("Do = %v, want the function's error", err)
		}
		d, err := c.GetRun(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != auditshot.RunFailed || d.Finished == nil || len(d.Events) != 2 {
			t.Fatalf("run %+v with %d events, want failed with the action and the error", d.Run, len(d.Events))
		}
		ev := d.Events[1]
		var data struct{ Message string }
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		if ev.Type != auditshot.EventError || ev.Name != "error" || data.Message != "card declined" {
			t.Errorf("error event %+v, want type error with message %q", ev, "card declined")
		}
		if _, err := c.VerifyRun(ctx, runID); err != nil {
			t.Errorf("VerifyRun of the failed run: %v", err)
		}
	})

	t.Run("FnFinishes", func(t *testing.T) {
		var runID string
		err := c.Do(ctx, client.RunRequest{Workflow: "refund"}, func(ctx context.Context, run *client.Run) error {
			runID = run.ID
			return run.Finish(ctx, auditshot.RunCancelled)
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.GetRun(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != auditshot.RunCancelled {
			t.Errorf("status %s, want cancelled as fn left it", d.Status)
		}
	})

	t.Run("ErrFractionalNumber", func(t *testing.T) {
		run, err := c.StartRun(ctx, client.RunRequest{Workflow: "refund"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = run.Action(ctx, "refund_approved", map[string]any{"amount": 12.5}, "")
		wantCode(t, err, auditshot.EINVALID, 400)
	})

	t.Run("ErrFinished", func(t *testing.T) {
		run, err := c.StartRun(ctx, client.RunRequest{Workflow: "refund"})
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Finish(ctx, auditshot.RunSucceeded); err != nil {
			t.Fatal(err)
		}
		_, err = run.Action(ctx, "late", nil, "")
		wantCode(t, err, auditshot.ECONFLICT, 409)
	})

	t.Run("ErrNoWorkflow", func(t *testing.T) {
		called := false
		err := c.Do(ctx, client.RunRequest{}, func(context.Context, *client.Run) error { called = true; return nil })
		wantCode(t, err, auditshot.EINVALID, 400)
		if called {
			t.Error("fn called although the run did not start")
		}
	})
}
