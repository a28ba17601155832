package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// Log attribute keys.
const (
	logKeyFrames  = "frames"
	logKeySize    = "size"
	logKeyElapsed = "elapsed"
	logKeyVideo   = "video_duration"
	logKeyArgs    = "args"
	logKeyErr     = "err"
)

// stderrTail is how much of ffmpeg's stderr an EINTERNAL error keeps.
const stderrTail = 2048

// Recorder encodes one video from frames added as they arrive, for a live
// screencast. It holds at most the current frame in memory. A Recorder is
// not safe for concurrent use.
//
//	r := enc.Record(ctx)
//	defer r.Close()
//	for f := range frames { if err := r.Add(f); err != nil { ... } }
//	res, err := r.Finish(end, w)
type Recorder struct {
	e   *Encoder
	ctx context.Context
	log *slog.Logger

	started time.Time // wall clock at ffmpeg start, for logs
	dir     string    // private temp dir, holds the output files
	out     string    // the video as encoded, without chapters
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *tailWriter
	mux     *chapterMuxer // the second pass, which adds the chapters
	err     error         // sticky failure of ffmpeg or ctx
	closed  bool

	w, h     int // the page area; the video is h + ov.barH tall
	ov       *overlay
	t0       time.Time
	cur      *shown // the frame on screen now; nil before the first
	k        int    // output frames written
	chapters []Chapter
	lastStep string

	bar                       []byte // the bar under the page as packed RGB, nil before the first
	barClock, barStep, barURL string // the texts bar was drawn with
}

// shown is an added frame, decoded and fitted to the page area.
type shown struct {
	t         time.Time
	url, step string
	packed    []byte // the page area as packed RGB
}

// Record starts a Recorder. ffmpeg starts with the first frame. ctx bounds
// the whole recording: when it ends, ffmpeg is killed and Add and Finish
// return an error. The caller MUST call Close (typically deferred), which
// releases ffmpeg and the temporary files whether or not Finish was called.
func (e *Encoder) Record(ctx context.Context) *Recorder {
	return &Recorder{e: e, ctx: ctx, log: e.log}
}

// Add adds the next frame. It returns EINVALID, and leaves the recorder as it
// was, for an undecodable image, a time not after the previous frame's, or a
// time beyond Config.MaxDuration from the first frame. Any other error
// (ffmpeg failing, ctx ending) is final: the recording is lost.
func (r *Recorder) Add(f Frame) error {
	if err := r.usable(); err != nil {
		return err
	}
	if r.cur != nil {
		if !f.Time.After(r.cur.t) {
			return auditshot.Errorf(auditshot.EINVALID, "video: frame time %s is not after the previous frame's %s",
				f.Time.UTC().Format(time.RFC3339Nano), r.cur.t.UTC().Format(time.RFC3339Nano))
		}
		if err := r.checkLength(f.Time, "frame"); err != nil {
			return err
		}
	}
	img, err := decodeFrame(f.Image)
	if err != nil {
		return err
	}
	if r.cur == nil {
		if err := r.start(img.Bounds().Size(), f.Time); err != nil {
			return r.fail(err)
		}
	}
	for r.cur != nil && r.frameTime(r.k).Before(f.Time) {
		if err := r.writeFrame(); err != nil {
			return err
		}
	}
	packed := make([]byte, 3*r.w*r.h)
	packRGB24(packed, fit(img, r.w, r.h), 0)
	r.cur = &shown{t: f.Time, url: f.URL, step: f.Step, packed: packed}
	if f.Step != r.lastStep && f.Step != "" {
		r.chapters = append(r.chapters, Chapter{
			Step:     len(r.chapters) + 1,
			Label:    f.Step,
			OffsetMS: f.Time.Sub(r.t0).Milliseconds(),
			URL:      f.URL,
		})
	}
	r.lastStep = f.Step
	return nil
}

// Finish holds the last frame until end, finishes the video and copies it
// to w. w receives nothing unless ffmpeg succeeded. Finish returns EINVALID
// if no frame was added or end is before the last frame, EINTERNAL with
// ffmpeg's stderr tail if ffmpeg fails, and an error wrapping ctx.Err() if
// ctx ended. The recorder cannot be used after Finish; Close is still due.
func (r *Recorder) Finish(end time.Time, w io.Writer) (*Result, error) {
	if err := r.usable(); err != nil {
		return nil, err
	}
	if r.cur == nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: no frames")
	}
	if end.Before(r.cur.t) {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: end %s is before the last frame's time %s",
			end.UTC().Format(time.RFC3339Nano), r.cur.t.UTC().Format(time.RFC3339Nano))
	}
	if err := r.checkLength(end, "end"); err != nil {
		return nil, err
	}
	fps := r.e.cfg.FPS
	n := max(1, int(math.Round(end.Sub(r.t0).Seconds()*float64(fps))))
	for r.k < n {
		if err := r.writeFrame(); err != nil {
			return nil, err
		}
	}
	if err := r.wait(); err != nil {
		return nil, err
	}
	final, err := r.addChapters()
	if err != nil {
		return nil, err
	}
	res, err := r.copyOut(final, w)
	if err != nil {
		return nil, err
	}
	r.err = errors.New("video: recorder already finished")
	r.log.Info("video encoded", logKeyFrames, res.Frames, logKeySize, res.Size,
		logKeyVideo, res.Duration, logKeyElapsed, time.Since(r.started))
	return res, nil
}

// Close kills ffmpeg if it still runs and removes the temporary files. It is
// safe to call more than once and after Finish.
func (r *Recorder) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.cmd != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.stdin.Close()
		_ = r.cmd.Wait()
	}
	if r.mux != nil {
		r.mux.kill()
	}
	if r.dir != "" {
		if err := os.RemoveAll(r.dir); err != nil {
			return fmt.Errorf("remove video temp dir: %w", err)
		}
	}
	return nil
}

func (r *Recorder) usable() error {
	switch {
	case r.closed:
		return errors.New("video: recorder closed")
	case r.err != nil:
		return r.err
	case r.ctx.Err() != nil:
		return r.fail(fmt.Errorf("video: %w", r.ctx.Err()))
	}
	return nil
}

// fail records err as the recorder's final error and returns it.
func (r *Recorder) fail(err error) error {
	r.err = err
	return err
}

func (r *Recorder) checkLength(t time.Time, what string) error {
	if d := t.Sub(r.t0); d > r.e.cfg.MaxDuration {
		return auditshot.Errorf(auditshot.EINVALID, "video: %s is %s after the first frame, more than MaxDuration %s",
			what, d.Round(time.Millisecond), r.e.cfg.MaxDuration)
	}
	return nil
}

// frameTime returns the instant output frame k shows.
func (r *Recorder) frameTime(k int) time.Time {
	return r.t0.Add(time.Duration(k) * time.Second / time.Duration(r.e.cfg.FPS))
}

// start sizes the page area after the first frame and starts ffmpeg.
func (r *Recorder) start(first image.Point, t0 time.Time) error {
	cfg := r.e.cfg
	w, h, err := outputSize(first, cfg.Width, cfg.Height)
	if err != nil {
		return err
	}
	ov, err := newOverlay(r.e.font, w)
	if err != nil {
		return err
	}
	r.w, r.h, r.ov, r.t0 = w, h, ov, t0
	r.dir, err = os.MkdirTemp(cfg.TempDir, "auditshot-video-*")
	if err != nil {
		return fmt.Errorf("video temp dir: %w", err)
	}
	r.out = filepath.Join(r.dir, "video."+cfg.Format)
	args := ffmpegArgs(cfg, w, h+ov.barH, t0, r.out)
	r.cmd = exec.CommandContext(r.ctx, cfg.FFmpegPath, args...)
	r.cmd.WaitDelay = 5 * time.Second
	r.stderr = &tailWriter{}
	r.cmd.Stderr = r.stderr
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		return fmt.Errorf("ffmpeg stdin: %w", err)
	}
	if err := r.cmd.Start(); err != nil {
		return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: errNoFFmpeg + " (cannot start " + cfg.FFmpegPath + ")", Err: err}
	}
	if cfg.FileChapters {
		if r.mux, err = r.startMuxer(r.dir); err != nil {
			return &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: errNoFFmpeg + " (cannot start " + cfg.FFmpegPath + ")", Err: err}
		}
	}
	r.started = time.Now()
	r.log.Debug("ffmpeg started", logKeyArgs, args)
	return nil
}

// writeFrame sends output frame k to ffmpeg: the current frame's page area
// and, below it, the bar.
func (r *Recorder) writeFrame() error {
	clock := r.frameTime(r.k).UTC().Format(timeLayout)
	if r.bar == nil || r.barClock != clock || r.barStep != r.cur.step || r.barURL != r.cur.url {
		r.bar = r.ov.render(clock, r.cur.step, r.cur.url)
		r.barClock, r.barStep, r.barURL = clock, r.cur.step, r.cur.url
	}
	for _, b := range [][]byte{r.cur.packed, r.bar} {
		if _, err := r.stdin.Write(b); err != nil {
			if werr := r.wait(); werr != nil {
				return werr
			}
			return r.fail(fmt.Errorf("video: write frame to ffmpeg: %w", err))
		}
	}
	r.k++
	return nil
}

// wait closes ffmpeg's input and waits for it to exit.
func (r *Recorder) wait() error {
	_ = r.stdin.Close()
	return r.ffmpegDone(r.cmd.Wait(), r.stderr)
}

// ffmpegDone turns the outcome err of an ffmpeg run, with its stderr, into
// the recorder's error: ctx's if it ended, else EINTERNAL if ffmpeg failed.
func (r *Recorder) ffmpegDone(err error, stderr *tailWriter) error {
	if r.ctx.Err() != nil {
		return r.fail(fmt.Errorf("video: %w", r.ctx.Err()))
	}
	if err != nil {
		r.log.Error("ffmpeg failed", logKeyErr, err, "stderr", stderr.String())
		return r.fail(&auditshot.Error{
			Code:    auditshot.EINTERNAL,
			Message: "video encoding failed",
			Err:     fmt.Errorf("ffmpeg: %w: %s", err, stderr.String()),
		})
	}
	return nil
}

// copyOut copies the finished video, the file at path, to w.
func (r *Recorder) copyOut(path string, w io.Writer) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, r.fail(fmt.Errorf("open encoded video: %w", err))
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return nil, r.fail(fmt.Errorf("copy video: %w", err))
	}
	cfg := r.e.cfg
	mt := MediaTypeMP4
	if cfg.Format == FormatWebM {
		mt = MediaTypeWebM
	}
	return &Result{
		MediaType: mt,
		Start:     r.t0,
		Duration:  time.Duration(r.k) * time.Second / time.Duration(cfg.FPS),
		FPS:       cfg.FPS,
		Width:     r.w,
		Height:    r.h + r.ov.barH,
		BarHeight: r.ov.barH,
		Frames:    r.k,
		Size:      n,
		Chapters:  r.chapters,
	}, nil
}

// ffmpegArgs returns the arguments that read raw RGB frames of w×h from
// stdin at cfg.FPS and write the video to out.
func ffmpegArgs(cfg Config, w, h int, t0 time.Time, out string) []string {
	fps := strconv.Itoa(cfg.FPS)
	args := []string{
		"-hide_banner", "-nostats", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", fmt.Sprintf("%dx%d", w, h),
		"-framerate", fps, "-i", "pipe:0",
		"-an", "-sn", "-dn",
		"-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
		"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
		"-r", fps, "-g", strconv.Itoa(keyframeSeconds * cfg.FPS),
		"-metadata", "creation_time=" + t0.UTC().Format(time.RFC3339Nano),
	}
	crf := strconv.Itoa(cfg.CRF)
	switch cfg.Format {
	case FormatWebM:
		args = append(args, "-c:v", "libvpx-vp9", "-crf", crf, "-b:v", "0",
			"-deadline", "good", "-cpu-used", "5", "-row-mt", "1", "-f", "webm")
	default:
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", crf,
			"-movflags", "+faststart", "-f", "mp4")
	}
	return append(args, "-y", out)
}

// keyframeSeconds is the longest gap between keyframes, for seeking.
const keyframeSeconds = 5

// tailWriter keeps the last stderrTail bytes written to it.
type tailWriter struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > stderrTail {
		t.b = append(t.b[:0], t.b[len(t.b)-stderrTail:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
