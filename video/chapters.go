package video

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// chapterMuxer is the second ffmpeg of a recording: it copies the encoded
// video (no re-encoding) into the final file and adds the chapters from an
// FFMETADATA document, so players list the flow's steps. MP4 gets a Nero
// chapter list and a QuickTime chapter track (a second, data-only stream),
// WebM Matroska chapters.
//
// ffmpeg reads its inputs when it starts, before the chapters are known,
// hence a second pass. Its process starts with the recording and waits,
// blocked on its stdin, so that loading ffmpeg costs nothing when the
// recording finishes: then the encoded video goes to its stdin and the
// chapters to its file descriptor 3 (a pipe; this needs a Unix).
type chapterMuxer struct {
	cmd    *exec.Cmd
	video  io.WriteCloser // ffmpeg's stdin
	meta   *os.File       // the write end of ffmpeg's fd 3
	stderr *tailWriter
	out    string // the final file
}

// startMuxer starts the chapter muxer of a recording in cfg's format,
// writing to a file in dir.
func (r *Recorder) startMuxer(dir string) (*chapterMuxer, error) {
	cfg := r.e.cfg
	m := &chapterMuxer{stderr: &tailWriter{}, out: filepath.Join(dir, "final."+cfg.Format)}
	metaR, metaW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("chapters pipe: %w", err)
	}
	defer metaR.Close() // the child has its own copy
	m.meta = metaW
	m.cmd = exec.CommandContext(r.ctx, cfg.FFmpegPath, remuxArgs(cfg, m.out)...)
	m.cmd.WaitDelay = 5 * time.Second
	m.cmd.Stderr = m.stderr
	m.cmd.ExtraFiles = []*os.File{metaR}
	if m.video, err = m.cmd.StdinPipe(); err != nil {
		metaW.Close()
		return nil, fmt.Errorf("ffmpeg stdin: %w", err)
	}
	if err := m.cmd.Start(); err != nil {
		metaW.Close()
		return nil, err
	}
	return m, nil
}

// run feeds the encoded video at path and the chapters' FFMETADATA
// document to ffmpeg and waits for it. It returns ffmpeg's exit error if
// it failed, else an error feeding it.
func (m *chapterMuxer) run(path, metadata string) error {
	// ffmpeg reads the video's header, then the chapters, then the rest of
	// the video: feed both at once.
	metaErr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(m.meta, metadata)
		metaErr <- errors.Join(err, m.meta.Close())
	}()
	var copyErr error
	if f, err := os.Open(path); err != nil {
		copyErr = err
	} else {
		_, copyErr = io.Copy(m.video, f)
		f.Close()
	}
	// EOF, or, if the copy failed, a truncated input that fails ffmpeg.
	_ = m.video.Close()
	waitErr := m.cmd.Wait()
	// ffmpeg has exited, so the chapters' write is over too. Having
	// succeeded, it may have left trailing bytes of the video unread.
	if errors.Is(copyErr, syscall.EPIPE) {
		copyErr = nil
	}
	if err := errors.Join(copyErr, <-metaErr); waitErr == nil && err != nil {
		return fmt.Errorf("feed chapter muxer: %w", err)
	}
	return waitErr
}

// kill stops ffmpeg if it still runs.
func (m *chapterMuxer) kill() {
	_ = m.meta.Close()
	if m.cmd.ProcessState == nil {
		_ = m.cmd.Process.Kill()
		_ = m.video.Close()
		_ = m.cmd.Wait()
	}
}

// addChapters writes the recording's chapters into the encoded video and
// returns the path of the result.
func (r *Recorder) addChapters() (string, error) {
	if r.mux == nil {
		return r.out, nil // Config.FileChapters is off
	}
	durMS := (time.Duration(r.k) * time.Second / time.Duration(r.e.cfg.FPS)).Milliseconds()
	if err := r.ffmpegDone(r.mux.run(r.out, ffmetadata(r.chapters, durMS)), r.mux.stderr); err != nil {
		return "", err
	}
	return r.mux.out, nil
}

// leadInTitle names the chapter a file's chapters start with when the
// first step starts after the video does: an MP4's chapters cover the video
// from its start, so without it the first step would seem to start at 0.
const leadInTitle = "start"

// ffmetadata returns the FFMETADATA document holding chapters, in
// milliseconds: each chapter ends where the next starts, the last at durMS.
// A chapter of no duration (superseded within the millisecond, or starting
// at the end) is left out; if the first starts after 0, a leadInTitle
// chapter comes before it. Titles are the labels made safe for one line (as
// in the overlay) and escaped.
func ffmetadata(chapters []Chapter, durMS int64) string {
	var b strings.Builder
	b.WriteString(";FFMETADATA1\n")
	add := func(start, end int64, title string) {
		if end > start {
			fmt.Fprintf(&b, "[CHAPTER]\nTIMEBASE=1/1000\nSTART=%d\nEND=%d\ntitle=%s\n", start, end, metadataEscaper.Replace(title))
		}
	}
	for i, c := range chapters {
		start := min(max(c.OffsetMS, 0), durMS)
		if i == 0 {
			add(0, start, leadInTitle)
		}
		end := durMS
		if i+1 < len(chapters) {
			end = min(max(chapters[i+1].OffsetMS, start), durMS)
		}
		add(start, end, clean(c.Label))
	}
	return b.String()
}

// metadataEscaper escapes the characters special in an FFMETADATA value.
var metadataEscaper = strings.NewReplacer(`=`, `\=`, `;`, `\;`, `#`, `\#`, `\`, `\\`, "\n", "\\\n")

// remuxArgs returns the arguments that copy the video read from stdin to
// out with the chapters of the FFMETADATA document read from fd 3,
// keeping the video's metadata. An MP4 on stdin must be faststart: its
// index cannot be read from the end of a pipe.
func remuxArgs(cfg Config, out string) []string {
	in := "mp4"
	if cfg.Format == FormatWebM {
		in = "webm"
	}
	args := []string{
		"-hide_banner", "-nostats", "-loglevel", "error", "-nostdin",
		"-f", in, "-i", "pipe:0", "-f", "ffmetadata", "-i", "pipe:3",
		"-map", "0:v", "-map_metadata", "0", "-map_chapters", "1", "-c", "copy",
	}
	switch cfg.Format {
	case FormatWebM:
		args = append(args, "-f", "webm")
	default:
		args = append(args, "-movflags", "+faststart", "-f", "mp4")
	}
	return append(args, "-y", out)
}
