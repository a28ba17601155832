package chromium

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// Sequence implements auditshot.SequenceService: it runs a browser flow in
// one isolated context, step by step, and records its evidence and, when
// asked, its video.
func (e *Engine) Sequence(ctx context.Context, opts auditshot.SequenceOptions, policy auditshot.CapturePolicy) (*auditshot.SequenceResult, error) {
	start := e.now()
	o, err := opts.Normalize(policy)
	if err != nil {
		return nil, err
	}
	var video auditshot.VideoRecorder
	if o.Video {
		if e.cfg.Video == nil {
			return nil, auditshot.Errorf(auditshot.EUNAVAILABLE, "video: this server has no video encoder configured")
		}
		video, err = e.cfg.Video.Record(ctx, auditshot.VideoConfig{FPS: o.VideoFPS, Format: o.VideoFormat, Width: o.VideoWidth, Height: o.VideoHeight})
		if err != nil {
			return nil, fmt.Errorf("start video: %w", err)
		}
		defer video.Close()
	}
	release, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	queued := e.now().Sub(start)
	co := o.CaptureOptions()
	co.Timeout = int(min(o.TimeoutDuration(), auditshot.MaxTimeout) / time.Millisecond)
	// The steps have o.Timeout; the failure screenshot, the video and the
	// evidence get a grace period after that.
	c, end, err := e.begin(ctx, co, policy, start, queued, o.TimeoutDuration())
	if err != nil {
		return nil, err
	}
	defer end()
	q := &sequence{c: c, o: o, scrub: newScrubber(o.Secrets()), video: video}
	res, err := q.run()
	if err != nil {
		err = c.failed(ctx, err, "sequence", o.TimeoutDuration())
		if ctx.Err() != nil {
			return nil, err
		}
		// Every error text is scrubbed: a step's error may quote the page.
		return nil, q.scrub.err(err)
	}
	res.Evidence.Timings.TotalMS = ms(e.now().Sub(start))
	e.stats.captures.Add(1)
	return res, nil
}

// sequence is the state of one flow in its slot.
type sequence struct {
	c      *capture
	o      auditshot.SequenceOptions
	scrub  *scrubber
	video  auditshot.VideoRecorder
	cast   *screencast
	secret []auditshot.Redaction
}

func (q *sequence) run() (*auditshot.SequenceResult, error) {
	c, o := q.c, q.o
	if err := c.setup(); err != nil {
		return nil, fmt.Errorf("set up page: %w", err)
	}
	if err := q.installMasks(); err != nil {
		return nil, err
	}
	if q.video != nil {
		cast, err := startScreencast(c, q.video, q.scrub, o)
		if err != nil {
			return nil, err
		}
		q.cast = cast
		defer cast.abort()
	}
	c.ev.Wait.Until = o.WaitUntil
	if o.URL != "" {
		t := c.e.now()
		if err := c.navigateTo(o.URL, c.waitDeadline); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithDeadline(c.ctx, c.waitDeadline)
		reached := c.waitLifecycle(wctx)
		cancel()
		c.ev.Wait = auditshot.WaitOutcome{Until: o.WaitUntil, Reached: reached, BestAttempt: !reached}
		if err := c.refusedDocument(); err != nil {
			return nil, err
		}
		c.ev.Timings.NavigationMS = ms(c.e.now().Sub(t))
	}
	t := c.e.now()
	results := q.steps()
	stepsEnd := c.e.now()
	c.ev.Timings.WaitMS = ms(stepsEnd.Sub(t))

	res := &auditshot.SequenceResult{Steps: results, Status: auditshot.SequenceSucceeded, Options: o.Redacted()}
	for _, r := range results {
		if r.Status == auditshot.StepFailed {
			res.Status = auditshot.SequenceFailed
		}
	}
	t = c.e.now()
	if q.cast != nil {
		// No frame after the steps: the DOM's redaction is not the page's.
		q.cast.stopFrames()
	}
	dom, err := q.finalDOM()
	if err != nil {
		return nil, err
	}
	res.DOM = dom
	if q.cast != nil {
		// The video ends with the steps: the last frame is held until then,
		// not through the DOM snapshot, which the viewer does not see.
		v, err := q.cast.finish(stepsEnd)
		if err != nil {
			return nil, err
		}
		res.Video, res.VideoMediaType, res.Chapters = v.data, v.info.MediaType, v.info.Chapters
	}
	c.collect()
	c.ev.Redactions = append(c.ev.Redactions, q.secret...)
	c.ev.Timings.CaptureMS = ms(c.e.now().Sub(t))
	res.Evidence = c.ev
	q.scrub.result(res)
	return res, nil
}

// steps runs the steps in order; after a failure the rest are skipped.
func (q *sequence) steps() []auditshot.StepResult {
	n := len(q.o.Steps)
	out := make([]auditshot.StepResult, n)
	failed := false
	for i, st := range q.o.Steps {
		r := &out[i]
		*r = auditshot.StepResult{Index: i, Action: st.Action, Label: st.Label, Status: auditshot.StepSkipped}
		if failed {
			continue
		}
		if q.cast != nil {
			q.cast.mark(fmt.Sprintf("%d/%d %s", i+1, n, st.Label))
		}
		t := q.c.e.now()
		budget := st.TimeoutDuration()
		if st.Action == auditshot.ActionWait {
			budget += time.Duration(st.MS) * time.Millisecond
		}
		deadline := t.Add(budget)
		if q.c.waitDeadline.Before(deadline) {
			deadline = q.c.waitDeadline
		}
		sctx, cancel := context.WithDeadline(q.c.ctx, deadline)
		err := q.step(sctx, st, r)
		if err == nil {
			// A click or a script may have led the page somewhere the
			// egress policy refused.
			err = q.c.refusedDocument()
		}
		cancel()
		r.DurationMS = ms(q.c.e.now().Sub(t))
		r.URL = q.c.rec.currentURL()
		if err == nil {
			r.Status = auditshot.StepOK
			continue
		}
		failed = true
		r.Status = auditshot.StepFailed
		r.Error = stepMessage(err, sctx, st)
		if shot, err := q.screenshot("failure"); err == nil {
			r.Screenshot = shot
		} else {
			q.c.e.log.Warn("failure screenshot", "err", err)
		}
	}
	return out
}

// stepMessage is the caller-facing text of a step's error.
func stepMessage(err error, ctx context.Context, st auditshot.Step) string {
	var ae *auditshot.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	var se *stepError
	if errors.As(err, &se) {
		return se.msg
	}
	if ctx.Err() != nil {
		return fmt.Sprintf("%s: timed out after %d ms", st.Label, st.Timeout)
	}
	return fmt.Sprintf("%s: %v", st.Label, err)
}

// stepError is a step failure whose text is meant for the caller.
type stepError struct{ msg string }

func (e *stepError) Error() string { return e.msg }

func failf(format string, args ...any) error {
	return &stepError{msg: fmt.Sprintf(format, args...)}
}

// screenshot takes the viewport as PNG once the masks are painted.
func (q *sequence) screenshot(name string) (*auditshot.ScreenshotData, error) {
	ctx, cancel := context.WithTimeout(q.c.ctx, DefaultCaptureGrace)
	defer cancel()
	if _, err := eval[bool](ctx, paintedJS); err != nil {
		return nil, err
	}
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	shot := &auditshot.ScreenshotData{Data: res.Data, Name: name, MediaType: "image/png"}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(res.Data)); err == nil {
		shot.Width, shot.Height = cfg.Width, cfg.Height
	}
	return shot, nil
}

// paintedJS resolves after two animation frames: the masks' positions are
// then on screen.
const paintedJS = `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`

// finalDOM waits briefly for the last page to load, removes secrets from
// it and returns its MHTML snapshot.
func (q *sequence) finalDOM() ([]byte, error) {
	c := q.c
	wctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	c.waitLifecycle(wctx)
	cancel()
	if secrets := q.o.Secrets(); len(secrets) > 0 {
		if _, err := eval[bool](c.ctx, redactSecretsJS(secrets)); err != nil {
			return nil, fmt.Errorf("redact secrets from the DOM: %w", err)
		}
	}
	dom, err := c.snapshotDOM()
	if err != nil {
		return nil, err
	}
	return q.scrub.bytes(dom), nil
}
