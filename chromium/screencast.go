package chromium

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// Screencast settings.
const (
	screencastQuality = 70
	// screencastBuffer is how many frames may wait for the encoder; the
	// browser sends at most a few unacknowledged ones, so it never fills.
	screencastBuffer = 256
)

// screencast records a flow from the browser's screencast into a video
// recorder. One goroutine owns the recorder: it acknowledges every frame,
// and adds frames and step marks in the order they arrive.
type screencast struct {
	c     *capture
	rec   auditshot.VideoRecorder
	scrub *scrubber
	// started is the time of the first frame.
	started time.Time
	// items carries frames, marks and the stop, in the order they
	// happened: a frame sent before a mark was painted before it.
	items chan any
	done  chan castResult

	// owned by the loop
	last     time.Time
	lastMark time.Time
	lastImg  []byte
	label    string
	err      error
}

type mark struct {
	t     time.Time
	label string
}

// stop ends the recording at t; a zero t abandons it.
type stop struct{ t time.Time }

type castResult struct {
	data []byte
	info *auditshot.VideoInfo
	err  error
}

// startScreencast adds a first frame taken now and starts the screencast.
func startScreencast(c *capture, rec auditshot.VideoRecorder, scrub *scrubber, o auditshot.SequenceOptions) (*screencast, error) {
	s := &screencast{
		c: c, rec: rec, scrub: scrub,
		items: make(chan any, screencastBuffer),
		done:  make(chan castResult, 1),
	}
	t := c.e.now()
	s.started = t
	first, err := chromedp.Call(c.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: new(int64(screencastQuality))})
	if err != nil {
		return nil, fmt.Errorf("first video frame: %w", err)
	}
	s.add(first.Data, t)
	if s.err != nil {
		return nil, s.err
	}
	c.rec.screencast(s.items)
	if _, err := chromedp.Call(c.ctx, page.StartScreencast, page.StartScreencastParams{
		Format: page.StartScreencastFormatJpeg, Quality: new(int64(screencastQuality)),
		MaxWidth: int64(o.VideoWidth), MaxHeight: int64(o.VideoHeight), EveryNthFrame: 1,
	}); err != nil {
		c.rec.screencast(nil)
		return nil, fmt.Errorf("start screencast: %w", err)
	}
	go s.loop()
	return s, nil
}

// mark starts a chapter: the frame on screen is shown again now under the
// step's label.
func (s *screencast) mark(label string) {
	select {
	case s.items <- mark{t: s.c.e.now(), label: label}:
	case <-s.c.ctx.Done():
	}
}

// stopFrames stops the screencast; frames still on their way are dropped.
func (s *screencast) stopFrames() {
	ctx, cancel := context.WithTimeout(s.c.ctx, 5*time.Second)
	defer cancel()
	_, _ = chromedp.Call(ctx, page.StopScreencast, cdp.Empty{})
	s.c.rec.screencast(nil)
}

// finish holds the last frame until end and returns the encoded video. It
// is called after stopFrames.
func (s *screencast) finish(end time.Time) (*castResult, error) {
	// Encoding the held frames takes longer the longer the video: the
	// grace grows with it.
	ctx, cancel := context.WithTimeout(s.c.ctx, DefaultCaptureGrace+end.Sub(s.started))
	defer cancel()
	select {
	case s.items <- stop{t: end}:
	case <-ctx.Done():
		return nil, fmt.Errorf("finish video: %w", ctx.Err())
	}
	var r castResult
	select {
	case r = <-s.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("finish video: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	return &r, nil
}

// abort ends the loop if finish was not called.
func (s *screencast) abort() {
	s.c.rec.screencast(nil)
	select {
	case s.items <- stop{}:
	default: // finished, or the loop is gone with the tab
	}
}

func (s *screencast) loop() {
	for {
		var it any
		select {
		case it = <-s.items:
		case <-s.c.s.ctx.Done():
			s.done <- castResult{err: fmt.Errorf("video: %w", s.c.s.ctx.Err())}
			return
		}
		switch it := it.(type) {
		case *page.EventScreencastFrame:
			s.frame(it)
		case mark:
			s.onMark(it)
		case stop:
			s.done <- s.end(it.t)
			return
		}
	}
}

func (s *screencast) frame(f *page.EventScreencastFrame) {
	go func() {
		ctx, cancel := context.WithTimeout(s.c.ctx, 5*time.Second)
		defer cancel()
		_, _ = chromedp.Call(ctx, page.ScreencastFrameAck, page.ScreencastFrameAckParams{SessionID: f.SessionID})
	}()
	t := s.c.e.now()
	if f.Metadata != nil && f.Metadata.Timestamp > 0 {
		ts := float64(f.Metadata.Timestamp)
		t = time.Unix(0, int64(ts*1e9))
	}
	s.add(f.Data, t)
}

// onMark shows the frame on screen again at m.t under the new label. Marks
// are at least a millisecond apart, so chapters have increasing offsets.
func (s *screencast) onMark(m mark) {
	if !s.lastMark.IsZero() && m.t.Before(s.lastMark.Add(time.Millisecond)) {
		m.t = s.lastMark.Add(time.Millisecond)
	}
	s.lastMark = m.t
	s.label = m.label
	if s.lastImg != nil {
		s.add(s.lastImg, m.t)
	}
}

// add adds a frame at t, or just after the previous one if t is not later.
func (s *screencast) add(img []byte, t time.Time) {
	if s.err != nil {
		return
	}
	if !t.After(s.last) {
		t = s.last.Add(time.Microsecond)
	}
	err := s.rec.Add(auditshot.VideoFrame{Image: img, Time: t, URL: s.scrub.str(s.c.rec.currentURL()), Step: s.scrub.str(s.label)})
	if auditshot.ErrorCode(err) == auditshot.EINVALID {
		s.c.e.log.Warn("video frame skipped", "err", err)
		return
	}
	if err != nil {
		s.err = fmt.Errorf("record video: %w", err)
		return
	}
	s.last, s.lastImg = t, img
}

func (s *screencast) end(t time.Time) castResult {
	if s.err != nil {
		return castResult{err: s.err}
	}
	if t.IsZero() {
		return castResult{err: fmt.Errorf("video aborted")}
	}
	if t.Before(s.last) {
		t = s.last
	}
	var buf bytes.Buffer
	info, err := s.rec.Finish(t, &buf)
	if err != nil {
		return castResult{err: fmt.Errorf("finish video: %w", err)}
	}
	return castResult{data: buf.Bytes(), info: info}
}
