// Package scenario is the logic of the example agents: each scenario
// operates the demo app ("Acme Payments", examples/demoapp) the way an AI
// agent would, and records what it did, and the visual proof of it, in an
// auditshot run through the Go SDK (package client).
//
// The agents sign in to the app twice, as a real browser-driving agent
// does: with net/http, to read the app's JSON and to pass its session
// cookie to screenshots (every capture runs in a fresh browser context, so
// a page behind the login needs the cookie), and through the login form in
// their browser flows, whose password fill is secret: masked in every
// screenshot and video frame and stored nowhere.
package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// DemoPassword is the demo app's password of every user.
const DemoPassword = "demo-password"

// sessionCookie is the name of the demo app's session cookie.
const sessionCookie = "acme_session"

// Config says where the demo app is and who the agent is.
type Config struct {
	// AppURL is the demo app's base URL, such as "http://127.0.0.1:8090".
	// auditshot's browser must be allowed to reach it (serve --allow).
	AppURL string
	// User and Password sign the agent in to the app; empty: the
	// scenario's user and DemoPassword.
	User, Password string
	// Agent overrides the non-empty fields of the scenario's agent
	// identity (id, name, model, version, code ref).
	Agent auditshot.Agent
	// HTTPClient reaches the app directly (sign-in, JSON status); nil: one
	// with a 30s timeout.
	HTTPClient *http.Client
	// VideoFPS and VideoWidth shape the flows' videos (the height follows
	// the viewport's aspect); zero: the server's defaults, 10 fps at the
	// viewport's 1280 pixels.
	VideoFPS, VideoWidth int
	// Progress, if set, is told of every record as it is made.
	Progress func(Record)
}

// Record is one thing a scenario recorded in its run.
type Record struct {
	// What is "run.started", "screenshot", "sequence", "event" or
	// "run.finished".
	What string `json:"what"`
	// Name is the capture's or the event's name; Role a capture's role
	// ("before", "after") or an event's type ("action", "decision", ...).
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
	// ID is the capture's, event's or run's id.
	ID string `json:"id"`
	// Ledger is the index of its ledger entry.
	Ledger int64 `json:"ledger_index"`
	// Detail says more: the video, the diff, the outcome.
	Detail string `json:"detail,omitempty"`
}

// Result is what a scenario did. A scenario that fails after starting its
// run returns its Result too, with the run finished failed.
type Result struct {
	Scenario string `json:"scenario"`
	// Run is the run as it ended.
	Run     *auditshot.Run `json:"run"`
	Records []Record       `json:"records"`
	// Videos are the SHA-256 of the flows' videos.
	Videos []string `json:"videos,omitempty"`
	// RefundID is the refund the refund scenario issued.
	RefundID string `json:"refund_id,omitempty"`
	// Diff is the server's comparison of the after screenshot with the
	// before screenshot, when the run has both.
	Diff *auditshot.DiffSummary `json:"diff,omitempty"`
	// Validation is the outcome the validation scenario read.
	Validation *ValidationStatus `json:"validation,omitempty"`
}

// RunID returns the run's id, or "" if no run was started.
func (r *Result) RunID() string {
	if r == nil || r.Run == nil {
		return ""
	}
	return r.Run.ID
}

// agent is one scenario's state: the app session, the run, the result.
type agent struct {
	cfg    Config
	c      *client.Client
	app    *url.URL
	http   *http.Client
	cookie *http.Cookie
	run    *client.Run
	res    *Result
}

func newAgent(c *client.Client, cfg Config, name, user string, identity auditshot.Agent) (*agent, error) {
	u, err := url.Parse(strings.TrimRight(cfg.AppURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("app URL %q: want an http or https URL", cfg.AppURL)
	}
	if cfg.User == "" {
		cfg.User = user
	}
	if cfg.Password == "" {
		cfg.Password = DemoPassword
	}
	cfg.Agent = merge(identity, cfg.Agent)
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &agent{cfg: cfg, c: c, app: u, http: hc, res: &Result{Scenario: name}}, nil
}

// merge returns a with the non-empty fields of b.
func merge(a, b auditshot.Agent) auditshot.Agent {
	for _, f := range []struct{ dst, src *string }{
		{&a.ID, &b.ID}, {&a.Name, &b.Name}, {&a.Model, &b.Model}, {&a.Version, &b.Version}, {&a.CodeRef, &b.CodeRef},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return a
}

// url returns the app's URL of path ("/customers/C-1002").
func (a *agent) url(path string) string { return a.app.String() + path }

// signIn signs in to the app with net/http and keeps the session cookie.
func (a *agent) signIn(ctx context.Context) error {
	form := url.Values{"username": {a.cfg.User}, "password": {a.cfg.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url("/login"), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := *a.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("sign in to the app: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" && resp.StatusCode == http.StatusSeeOther {
			a.cookie = c
			return nil
		}
	}
	return fmt.Errorf("sign in to the app as %s: %s, no session", a.cfg.User, resp.Status)
}

// get reads a page or JSON of the app with the session.
func (a *agent) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url(path), nil)
	if err != nil {
		return nil, err
	}
	req.AddCookie(a.cookie)
	hc := *a.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

// do runs fn in a run of req, which it finishes succeeded when fn
// returns nil, and failed, with an error event, otherwise.
func (a *agent) do(ctx context.Context, req client.RunRequest, fn func(ctx context.Context) error) (*Result, error) {
	req.Agent = a.cfg.Agent
	err := a.c.Do(ctx, req, func(ctx context.Context, run *client.Run) error {
		a.run, a.res.Run = run, run.Run
		a.record(Record{What: "run.started", Name: req.Workflow, ID: run.ID, Ledger: run.Started.Index,
			Detail: fmt.Sprintf("agent %s (%s %s)", run.Agent.ID, run.Agent.Model, run.Agent.Version)})
		if err := fn(ctx); err != nil {
			return err
		}
		if err := run.Finish(ctx, auditshot.RunSucceeded); err != nil {
			return fmt.Errorf("finish run: %w", err)
		}
		a.res.Run = run.Run
		a.record(Record{What: "run.finished", ID: run.ID, Ledger: run.Finished.Index, Detail: string(run.Status)})
		return nil
	})
	if err != nil && a.run != nil {
		// Do recorded the error and finished the run failed.
		a.res.Run = a.run.Run
		if f := a.run.Finished; f != nil && a.run.Status != auditshot.RunSucceeded {
			a.record(Record{What: "run.finished", ID: a.run.ID, Ledger: f.Index, Detail: string(a.run.Status)})
		}
	}
	if a.res.Run == nil {
		return nil, err
	}
	return a.res, err
}

func (a *agent) record(r Record) {
	a.res.Records = append(a.res.Records, r)
	if a.cfg.Progress != nil {
		a.cfg.Progress(r)
	}
}

// screenshot captures a page of the app, signed in, in role.
func (a *agent) screenshot(ctx context.Context, name, role, path string, opts auditshot.CaptureOptions) (*client.Capture, error) {
	opts.URL = a.url(path)
	opts.Cookies = append(opts.Cookies, auditshot.Cookie{Name: a.cookie.Name, Value: a.cookie.Value, Path: "/", HTTPOnly: true, SameSite: "Lax"})
	c, err := a.run.Screenshot(ctx, client.ScreenshotRequest{CaptureOptions: opts, Name: name, Role: role})
	if err != nil {
		return nil, fmt.Errorf("screenshot %s: %w", name, err)
	}
	if c.Status != http.StatusOK || c.BestAttempt || c.Blank {
		return nil, fmt.Errorf("screenshot %s of %s: status %d, best attempt %v, blank %v", name, c.FinalURL, c.Status, c.BestAttempt, c.Blank)
	}
	detail := fmt.Sprintf("%s %dx%d", c.Title, c.Width, c.Height)
	if d := c.Diff; d != nil {
		detail += fmt.Sprintf(", diff against %s: %s changed", d.Before, ppm(d.ChangedPPM))
		a.res.Diff = d
	}
	a.record(Record{What: "screenshot", Name: name, Role: role, ID: c.ID, Ledger: c.Ledger.Index, Detail: detail})
	return c, nil
}

// ppm formats parts per million as a percentage.
func ppm(v int64) string { return fmt.Sprintf("%d ppm (%.2f%%)", v, float64(v)/1e4) }

// sequence runs a browser flow that starts at path (usually behind the
// login, so that the flow signs in first: see signInSteps). A step that
// fails is an error, after the flow is recorded.
func (a *agent) sequence(ctx context.Context, name, path string, video bool, steps []auditshot.Step) (*client.Sequence, error) {
	opts := auditshot.SequenceOptions{URL: a.url(path), Steps: steps, Video: video}
	if video {
		opts.VideoFPS, opts.VideoWidth = a.cfg.VideoFPS, a.cfg.VideoWidth
	}
	s, err := a.run.Sequence(ctx, client.SequenceRequest{Name: name, SequenceOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	detail := fmt.Sprintf("%s, %d steps", s.Outcome, len(s.Steps))
	if v := s.Video; v != nil {
		detail += fmt.Sprintf(", video %s %d KiB, %d chapters", v.MediaType, v.Size>>10, len(s.Chapters))
		a.res.Videos = append(a.res.Videos, v.SHA256)
	}
	a.record(Record{What: "sequence", Name: name, ID: s.ID, Ledger: s.Ledger.Index, Detail: detail})
	if !s.Succeeded() {
		for _, st := range s.Steps {
			if st.Status == auditshot.StepFailed {
				return s, fmt.Errorf("flow %s: step %d (%s) failed: %s", name, st.Index+1, st.Label, st.Error)
			}
		}
		return s, fmt.Errorf("flow %s: %s", name, s.Outcome)
	}
	return s, nil
}

// event records an event of the run.
func (a *agent) event(ctx context.Context, req client.EventRequest) (*auditshot.Event, error) {
	e, err := a.run.Event(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", req.Name, err)
	}
	a.record(Record{What: "event", Name: e.Name, Role: string(e.Type), ID: e.ID, Ledger: e.Ledger.Index})
	return e, nil
}

// signInSteps sign in through the app's login form (the flow's start
// page redirects there) and wait for the page behind it: ready is a
// selector only that page has.
func (a *agent) signInSteps(ready string) []auditshot.Step {
	return []auditshot.Step{
		{Action: auditshot.ActionFill, Selector: "#username", Value: a.cfg.User},
		{Action: auditshot.ActionFill, Selector: "#password", Value: a.cfg.Password, Secret: true},
		{Action: auditshot.ActionClick, Selector: "#login"},
		{Action: auditshot.ActionWaitFor, Selector: ready},
	}
}

// findStep returns the first step of s with action whose URL contains
// sub, if any.
func findStep(s *client.Sequence, action, sub string) (client.SequenceStep, bool) {
	for _, st := range s.Steps {
		if st.Action == action && strings.Contains(st.URL, sub) {
			return st, true
		}
	}
	return client.SequenceStep{}, false
}

// artifacts returns the refs of the captures' images in their roles and
// of their diffs.
func artifacts(caps ...*client.Capture) []client.ArtifactRef {
	var out []client.ArtifactRef
	for _, c := range caps {
		if c == nil {
			continue
		}
		out = append(out, client.ArtifactRef{SHA256: c.SHA256, Role: c.Role})
		if d, ok := c.Artifact(auditshot.RoleDiff); ok {
			out = append(out, client.ArtifactRef{SHA256: d.SHA256, Role: auditshot.RoleDiff})
		}
	}
	return out
}

// videoRef returns the ref of a flow's video, if it has one.
func videoRef(s *client.Sequence) []client.ArtifactRef {
	if s == nil || s.Video == nil {
		return nil
	}
	return []client.ArtifactRef{{SHA256: s.Video.SHA256, Role: auditshot.RoleVideo}}
}
