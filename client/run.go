package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/auditshot/auditshot"
)

// FinishTimeout bounds the calls with which Do records a failure and
// finishes the run, which run even when the run's context is done.
const FinishTimeout = 30 * time.Second

// Run is a running run that records its captures and events into itself.
// Its embedded auditshot.Run is the run as the server last returned it.
// A Run is safe for concurrent use by calls that do not finish it.
type Run struct {
	*auditshot.Run
	c *Client
}

// StartRun starts a run (see CreateRun) and returns it as a Run.
func (c *Client) StartRun(ctx context.Context, req RunRequest) (*Run, error) {
	r, err := c.CreateRun(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Run{Run: r, c: c}, nil
}

// Screenshot takes a screenshot attached to the run (req.RunID is set to
// the run's), in req.Role ("before", "after", "step", ...).
func (r *Run) Screenshot(ctx context.Context, req ScreenshotRequest) (*Capture, error) {
	req.RunID = r.ID
	return r.c.Screenshot(ctx, req)
}

// Event records an event of the run; see AddEvent.
func (r *Run) Event(ctx context.Context, req EventRequest) (*auditshot.Event, error) {
	return r.c.AddEvent(ctx, r.ID, req)
}

// Action records an action: what the agent did (name), with what (data,
// an object with integer numbers only; fractions as strings) and why
// (reasoning).
func (r *Run) Action(ctx context.Context, name string, data any, reasoning string) (*auditshot.Event, error) {
	return r.Event(ctx, EventRequest{Type: auditshot.EventAction, Name: name, Data: data, Reasoning: reasoning})
}

// Note records a note named name with text as {"text": text}.
func (r *Run) Note(ctx context.Context, name, text string) (*auditshot.Event, error) {
	return r.Event(ctx, EventRequest{Type: auditshot.EventNote, Name: name, Data: map[string]string{"text": text}})
}

// Finish ends the run with status (succeeded if empty) and updates r.Run.
func (r *Run) Finish(ctx context.Context, status auditshot.RunStatus) error {
	run, err := r.c.FinishRun(ctx, r.ID, status)
	if err != nil {
		return err
	}
	r.Run = run
	return nil
}

// fail records err as an "error" event, with its text as
// {"message": ...}, and finishes the run failed.
func (r *Run) fail(ctx context.Context, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FinishTimeout)
	defer cancel()
	_, eerr := r.Event(ctx, EventRequest{Type: auditshot.EventError, Name: "error",
		Data: map[string]string{"message": err.Error()}})
	if eerr != nil {
		eerr = fmt.Errorf("record error event of run %s: %w", r.ID, eerr)
	}
	ferr := r.Finish(ctx, auditshot.RunFailed)
	if ferr != nil {
		ferr = fmt.Errorf("finish run %s: %w", r.ID, ferr)
	}
	return errors.Join(eerr, ferr)
}

// Do starts a run, calls fn with it and finishes it: succeeded if fn
// returns nil; otherwise it records an "error" event (type error, data
// {"message": err.Error()}), finishes the run failed and returns fn's
// error, joined with any error of recording it. If fn panics, the run is
// failed the same way and the panic goes on. If fn finishes the run itself
// (run.Finish), Do leaves it as it is and returns fn's error. The failure is recorded even
// when ctx is done, within FinishTimeout.
func (c *Client) Do(ctx context.Context, req RunRequest, fn func(ctx context.Context, run *Run) error) (err error) {
	run, err := c.StartRun(ctx, req)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if done {
			return
		}
		p := recover()
		if p == nil { // runtime.Goexit, as by t.Fatal
			run.fail(ctx, errors.New("the run's goroutine exited"))
			return
		}
		run.fail(ctx, fmt.Errorf("panic: %v", p))
		panic(p)
	}()
	ferr := fn(ctx, run)
	done = true
	if run.Status != auditshot.RunRunning { // fn finished it
		return ferr
	}
	if ferr != nil {
		return errors.Join(ferr, run.fail(ctx, ferr))
	}
	return run.Finish(ctx, auditshot.RunSucceeded)
}
