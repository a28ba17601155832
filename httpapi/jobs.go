package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/auditshot/auditshot"
)

// storedRequest is a job's request as the store keeps it: with the
// secrets of a capture (headers, cookies, basic auth, inline HTML)
// redacted, which then live only in this process's memory.
type storedRequest struct {
	Redacted bool            `json:"redacted,omitempty"`
	Body     json.RawMessage `json:"body"`
}

// redactRequest returns what the store may keep of a capture request.
func redactRequest(kind string, body []byte) (json.RawMessage, bool, error) {
	switch kind {
	case auditshot.JobExport:
		return body, false, nil
	case auditshot.JobSequence:
		var req sequenceRequest
		if err := decodeJSON(body, &req); err != nil {
			return nil, false, err
		}
		o := req.SequenceOptions
		if len(o.Headers) == 0 && len(o.Cookies) == 0 && o.BasicAuth == nil && len(o.Secrets()) == 0 {
			return body, false, nil
		}
		req.SequenceOptions = o.Redacted()
		b, err := json.Marshal(req)
		return b, true, err
	}
	var req captureRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, false, err
	}
	o := req.CaptureOptions
	if len(o.Headers) == 0 && len(o.Cookies) == 0 && o.BasicAuth == nil && o.HTML == "" {
		return body, false, nil
	}
	req.CaptureOptions = o.Redacted()
	b, err := json.Marshal(req)
	return b, true, err
}

// enqueue stores a job for the request body and hands it to the workers.
func (s *Server) enqueue(ctx context.Context, c caller, kind string, req []byte, webhook string) (*auditshot.Job, error) {
	kept, redacted, err := redactRequest(kind, req)
	if err != nil {
		return nil, err
	}
	stored, err := json.Marshal(storedRequest{Redacted: redacted, Body: kept})
	if err != nil {
		return nil, err
	}
	// A job is accepted only if a worker will take it from memory: the
	// queue is bounded, and a full queue is pushback (429).
	if s.queued.Add(1) > int64(s.cfg.MaxQueuedJobs) {
		s.queued.Add(-1)
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, RetryAfter: 5 * time.Second, Err: auditshot.ErrPushback,
			Message: fmt.Sprintf("%d jobs are queued, the most this server takes; retry later", s.cfg.MaxQueuedJobs)}
	}
	j := &auditshot.Job{TenantID: c.key.TenantID, Kind: kind, Actor: c.key.ID, Request: stored}
	if webhook != "" {
		j.Webhook = &auditshot.WebhookState{URL: webhook}
	}
	if err := s.cfg.Jobs.CreateJob(ctx, j); err != nil {
		s.queued.Add(-1)
		return nil, err
	}
	// The worker gets its own copy, with the request whole, from memory;
	// the caller's copy is answered as it was stored.
	run := *j
	run.Request, _ = json.Marshal(storedRequest{Body: req})
	if j.Webhook != nil {
		wh := *j.Webhook
		run.Webhook = &wh
	}
	s.jobs <- &run // never blocks: the channel holds MaxQueuedJobs and the jobs pending at start
	s.metrics.jobQueued(1)
	return j, nil
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.cfg.Jobs.FindJob(r.Context(), callerOf(r).key.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// startWorkers starts the job workers and requeues what a previous run of
// the server left: jobs not done, webhooks with a retry due.
func (s *Server) startWorkers(pending []*auditshot.Job) error {
	for range s.cfg.JobWorkers {
		s.workers.Add(1)
		go s.worker()
	}
	for _, j := range pending {
		if j.Status.Done() {
			s.deliverLater(j)
			continue
		}
		s.metrics.jobQueued(1)
		s.queued.Add(1)
		s.jobs <- j
	}
	return nil
}

func (s *Server) worker() {
	defer s.workers.Done()
	for {
		select {
		case <-s.closing:
			return
		case j := <-s.jobs:
			s.metrics.jobQueued(-1)
			s.queued.Add(-1)
			s.runJob(j)
		}
	}
}

// runJob runs one job to its end and records the outcome. A job cut short
// by shutdown goes back to queued and runs again at the next start.
func (s *Server) runJob(j *auditshot.Job) {
	ctx := s.ctx
	j.Status = auditshot.JobRunning
	if err := s.cfg.Jobs.UpdateJob(ctx, j); err != nil {
		s.log.Error("start job", "job", j.ID, "err", err)
		return
	}
	result, err := s.execute(ctx, j)
	if ctx.Err() != nil {
		j.Status = auditshot.JobQueued
		if err := s.cfg.Jobs.UpdateJob(context.WithoutCancel(ctx), j); err != nil {
			s.log.Error("requeue job", "job", j.ID, "err", err)
		}
		return
	}
	now := s.cfg.Now().UTC()
	j.FinishedAt = &now
	if err != nil {
		j.Status = auditshot.JobFailed
		j.Error = &auditshot.JobError{Code: auditshot.ErrorCode(err), Message: auditshot.ErrorMessage(err)}
		if j.Error.Code == auditshot.EINTERNAL {
			s.log.Error("job failed", "job", j.ID, "kind", j.Kind, "err", err)
		}
	} else {
		j.Status = auditshot.JobSucceeded
		j.Result = result
	}
	if j.Webhook != nil {
		j.Webhook.NextAttempt = &now
	}
	if err := s.cfg.Jobs.UpdateJob(ctx, j); err != nil {
		s.log.Error("finish job", "job", j.ID, "err", err)
		return
	}
	if j.Webhook != nil {
		s.deliver(j)
	}
}

// execute runs the job's request as the key that made it.
func (s *Server) execute(ctx context.Context, j *auditshot.Job) (json.RawMessage, error) {
	t, err := s.cfg.Tenants.FindTenant(ctx, j.TenantID)
	if err != nil {
		return nil, err
	}
	c := caller{key: &auditshot.APIKey{ID: j.Actor, TenantID: j.TenantID}, tenant: t}
	var stored storedRequest
	if err := json.Unmarshal(j.Request, &stored); err != nil {
		return nil, &auditshot.Error{Code: auditshot.EINTERNAL, Message: "internal error", Err: err}
	}
	var out any
	switch j.Kind {
	case auditshot.JobScreenshot, auditshot.JobPDF, auditshot.JobSequence:
		period := auditshot.UsagePeriod(j.CreatedAt)
		var res any
		var err error
		if j.Kind == auditshot.JobSequence {
			res, err = s.sequenceJob(ctx, c, stored)
		} else {
			res, err = s.captureJob(ctx, c, j.Kind, stored)
		}
		if err != nil {
			if ctx.Err() == nil {
				if rerr := s.cfg.Usage.ReleaseCapture(context.WithoutCancel(ctx), j.TenantID, period); rerr != nil {
					s.log.Error("release capture quota", "job", j.ID, "err", rerr)
				}
			}
			return nil, err
		}
		out = res
	case auditshot.JobExport:
		var req exportRequest
		if err := decodeJSON(stored.Body, &req); err != nil {
			return nil, err
		}
		res, err := s.export(ctx, c, req.ExportSelection)
		if err != nil {
			return nil, err
		}
		out = res
	default:
		return nil, auditshot.Errorf(auditshot.EINVALID, "unknown job kind %q", j.Kind)
	}
	return json.Marshal(out)
}

// captureJob runs an async capture. A request whose secrets were kept
// only in memory cannot run after a restart: it fails, naming why.
func (s *Server) captureJob(ctx context.Context, c caller, kind string, stored storedRequest) (*captureResponse, error) {
	if stored.Redacted {
		return nil, auditshot.Errorf(auditshot.EUNAVAILABLE, "the server restarted before this capture ran, and its secrets "+
			"(headers, cookies, basic auth, inline HTML) are never stored: submit it again")
	}
	var req captureRequest
	if err := decodeJSON(stored.Body, &req); err != nil {
		return nil, err
	}
	if req.Format == "" && kind == auditshot.JobPDF {
		req.Format = "pdf"
	}
	res, _, err := s.capture(ctx, c, req)
	return res, err
}
