package video_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/video"
	"github.com/google/go-cmp/cmp"
)

// flow returns the three-frame flow of the format tests: red from 0 s,
// green (a JPEG at twice the size, scaled down) from 0.4 s, held for 3 s,
// blue from 3.4 s; the video ends at 5 s.
func flow(t *testing.T, w, h int) ([]video.Frame, time.Time) {
	return []video.Frame{
		{Image: encodePNG(t, solid(w, h, red)), Time: at(0), URL: "https://bank.example/login", Step: "1/3 open"},
		{Image: encodeJPEG(t, solid(2*w, 2*h, green)), Time: at(0.4), URL: "https://bank.example/refund?id=42", Step: "2/3 fill #amount"},
		{Image: encodePNG(t, solid(w, h, blue)), Time: at(3.4), URL: "https://bank.example/refund/done", Step: "3/3 submit"},
	}, at(5)
}

// wantShown lists, for the flow, which colour is on screen at a time.
var wantShown = []struct {
	ts float64
	c  color.RGBA
}{{0.15, red}, {0.5, green}, {1.9, green}, {3.25, green}, {3.55, blue}, {4.85, blue}}

var wantChapters = []video.Chapter{
	{Step: 1, Label: "1/3 open", OffsetMS: 0, URL: "https://bank.example/login"},
	{Step: 2, Label: "2/3 fill #amount", OffsetMS: 400, URL: "https://bank.example/refund?id=42"},
	{Step: 3, Label: "3/3 submit", OffsetMS: 3400, URL: "https://bank.example/refund/done"},
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		format, codec, mediaType string
	}{
		{video.FormatMP4, "h264", video.MediaTypeMP4},
		{video.FormatWebM, "vp9", video.MediaTypeWebM},
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			const w, h = 640, 360
			dir := outputDir(t)
			enc := MustNew(t, video.Config{Format: tc.format, FileChapters: true})
			frames, end := flow(t, w, h)
			path, res := encodeToFile(t, enc, frames, end, dir, "flow."+tc.format)

			// The result: the page area keeps its size, the bar is below it.
			if res.MediaType != tc.mediaType || res.FPS != video.DefaultFPS || res.Width != w ||
				res.BarHeight < 24 || res.BarHeight%2 != 0 || res.Height != h+res.BarHeight ||
				res.Frames != 50 || res.Duration != 5*time.Second || !res.Start.Equal(t0) {
				t.Errorf("Result = %+v", res)
			}
			if diff := cmp.Diff(res.Chapters, wantChapters); diff != "" {
				t.Errorf("Chapters (-got +want):\n%s", diff)
			}

			// The file.
			p := ffprobe(t, path)
			s := p.Streams[0]
			if s.CodecName != tc.codec || s.PixFmt != "yuv420p" || s.Width != w || s.Height != res.Height || s.RFrameRate != "10/1" {
				t.Errorf("stream = %+v, want %s yuv420p %dx%d 10/1", s, tc.codec, w, res.Height)
			}
			// The chapters are in the file, for players.
			wantFile := []chapter{{0, 400, "1/3 open"}, {400, 3400, "2/3 fill #amount"}, {3400, 5000, "3/3 submit"}}
			if diff := cmp.Diff(p.chapters(t), wantFile); diff != "" {
				t.Errorf("chapters in the file (-got +want):\n%s", diff)
			}
			if d := p.duration(t); math.Abs(d-5) > 0.1 {
				t.Errorf("duration = %.3fs, want 5s ± 1 frame", d)
			}
			if tc.format == video.FormatMP4 {
				boxes := topLevelBoxes(t, path)
				moov, mdat := slices.Index(boxes, "moov"), slices.Index(boxes, "mdat")
				if moov < 0 || mdat < 0 || moov > mdat {
					t.Errorf("top-level boxes %v: want moov before mdat (faststart)", boxes)
				}
			}
			checkDecodes(t, path)

			// Each frame is held for its real duration; the whole page area
			// shows the source frame's colour, down to its last row.
			page := image.Rect(0, 0, w, h)
			for _, ws := range wantShown {
				img := frameAt(t, path, ws.ts, dir, "")
				if got := mean(img, page); !near(got, ws.c, 24) {
					t.Errorf("at %.2fs the page is %v, want %v", ws.ts, got, ws.c)
				}
				if got := mean(img, image.Rect(0, h-1, w, h)); !near(got, ws.c, 24) {
					t.Errorf("at %.2fs the page's last row is %v, want %v", ws.ts, got, ws.c)
				}
			}

			// The overlay: a dark bar below the page with light text.
			img := frameAt(t, path, 2, dir, "frame-2s.png")
			bar := image.Rect(0, h, w, res.Height)
			if got := mean(img, bar); !near(got, color.RGBA{20, 20, 24, 255}, 40) {
				t.Errorf("overlay bar is %v, want near black", got)
			}
			if n := lightPixels(img, bar); n < 100 {
				t.Errorf("overlay bar has %d light pixels, want text", n)
			}
			if n := lightPixels(img, page); n > 0 {
				t.Errorf("page area has %d light pixels, want none", n)
			}
		})
	}
}

// TestEncode_PageNotCovered checks that the bar is below the page: the
// page's last rows, where a bar drawn over the page would be, show in the
// video, and the bar's two lines of text are under them.
func TestEncode_PageNotCovered(t *testing.T) {
	const w, h = 1280, 720
	var (
		orange  = color.RGBA{240, 160, 20, 255}
		magenta = color.RGBA{220, 40, 200, 255}
	)
	pg := uiPage(w, h, 7, blue)
	draw.Draw(pg, image.Rect(0, h-64, w, h-2), image.NewUniform(orange), image.Point{}, draw.Src)
	draw.Draw(pg, image.Rect(0, h-2, w, h), image.NewUniform(magenta), image.Point{}, draw.Src)
	frames := []video.Frame{{
		Image: encodePNG(t, pg), Time: at(0),
		URL:  "https://payments.example/refunds/new?customer=42",
		Step: "4/7 click #submit",
	}}
	dir := outputDir(t)
	enc := MustNew(t, video.Config{})
	path, res := encodeToFile(t, enc, frames, at(1), dir, "bottom.mp4")
	if res.Width != w || res.Height != h+res.BarHeight || res.BarHeight < 36 || res.BarHeight > 48 {
		t.Errorf("video %dx%d with a %d px bar, want %dx%d plus a 36..48 px bar", res.Width, res.Height, res.BarHeight, w, h)
	}
	img := frameAt(t, path, 0.5, dir, "frame-bottom.png")
	if b := img.Bounds(); b.Dx() != w || b.Dy() != res.Height {
		t.Fatalf("decoded frame is %v, want %dx%d", b, w, res.Height)
	}
	if got := mean(img, image.Rect(0, h-60, w, h-6)); !near(got, orange, 24) {
		t.Errorf("the page's bottom band is %v, want %v", got, orange)
	}
	// A two-row stripe loses some saturation at the default CRF, but stays
	// far from the bar's near black.
	if got := mean(img, image.Rect(0, h-1, w, h)); !near(got, magenta, 48) {
		t.Errorf("the page's last row is %v, want %v: covered", got, magenta)
	}
	if got := mean(img, image.Rect(0, 0, w, h/12)); !near(got, blue, 24) {
		t.Errorf("the page's header is %v, want %v: the page moved", got, blue)
	}
	// Below the page: a dark bar, text on both of its lines.
	barTop, mid := h, h+res.BarHeight/2
	if got := mean(img, image.Rect(0, barTop, w, res.Height)); !near(got, color.RGBA{20, 20, 24, 255}, 40) {
		t.Errorf("bar is %v, want near black", got)
	}
	for _, line := range []image.Rectangle{image.Rect(0, barTop, w, mid), image.Rect(0, mid, w, res.Height)} {
		if n := lightPixels(img, line); n < 200 {
			t.Errorf("bar line %v has %d light pixels, want text", line, n)
		}
	}
}

// TestEncode_FileChapters checks the chapters in the file when the first
// step starts after the video and a step is superseded within a
// millisecond: players get a "start" chapter from 0 and no empty chapter,
// while Result.Chapters keeps every step.
func TestEncode_FileChapters(t *testing.T) {
	img := encodePNG(t, solid(64, 48, red))
	frames := []video.Frame{
		{Image: img, Time: at(0)},
		{Image: img, Time: at(0.5), Step: "1/3 click #a"},
		{Image: img, Time: at(1), Step: "2/3 fill #b"},
		{Image: img, Time: at(1.0003), Step: "3/3 press Enter"},
	}
	want := []chapter{{0, 500, "start"}, {500, 1000, "1/3 click #a"}, {1000, 2000, "3/3 press Enter"}}
	for _, format := range []string{video.FormatMP4, video.FormatWebM} {
		t.Run(format, func(t *testing.T) {
			enc := MustNew(t, video.Config{Format: format, FileChapters: true})
			path, res := encodeToFile(t, enc, frames, at(2), outputDir(t), "chapters."+format)
			if len(res.Chapters) != 3 {
				t.Errorf("Result.Chapters = %+v, want all 3 steps", res.Chapters)
			}
			if diff := cmp.Diff(ffprobe(t, path).chapters(t), want); diff != "" {
				t.Errorf("chapters in the file (-got +want):\n%s", diff)
			}
		})
	}
}

func TestEncode_Sidecar(t *testing.T) {
	enc := MustNew(t, video.Config{FPS: 5})
	frames, end := flow(t, 64, 48)
	var buf bytes.Buffer
	res, err := enc.Encode(t.Context(), frames, end, &buf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.Sidecar())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"media_type": "video/mp4", "start": "2026-11-27T10:04:05Z", "duration_ms": 5000.0,
		"fps": 5.0, "width": 64.0, "height": 48.0 + float64(res.BarHeight), "frames": 25.0,
		"chapters": []any{
			map[string]any{"step": 1.0, "label": "1/3 open", "offset_ms": 0.0, "url": "https://bank.example/login"},
			map[string]any{"step": 2.0, "label": "2/3 fill #amount", "offset_ms": 400.0, "url": "https://bank.example/refund?id=42"},
			map[string]any{"step": 3.0, "label": "3/3 submit", "offset_ms": 3400.0, "url": "https://bank.example/refund/done"},
		},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("sidecar %s (-got +want):\n%s", b, diff)
	}
}

// TestEncode_HostileText encodes labels and URLs that would break an ffmpeg
// filter graph, a drawtext expansion or an ASS script if they reached one.
func TestEncode_HostileText(t *testing.T) {
	hostile := []string{
		`it's "quoted"`,
		`a:b\c;d,e[f]=g`,
		`100% %{pts} %{eif:1:d} %%`,
		"two\nlines\r\nand\ttab",
		`\N{\b1}{\an8}\h ass tags`,
		"'; drawtext=text=pwned:x=0 ,null[x]",
		"unicode: Überweisung €500 ✓ 日本語 \u202Eevil\u202C done",
		"bad utf8 \xff\xfe and nul \x00 bell \a",
		strings.Repeat("very long label ", 200),
	}
	const w, h = 640, 360
	var frames []video.Frame
	for i, s := range hostile {
		frames = append(frames, video.Frame{
			Image: encodePNG(t, solid(w, h, color.RGBA{uint8(40 * i), 90, 120, 255})),
			Time:  at(0.3 * float64(i)),
			URL:   "https://evil.example/p?q=" + s,
			Step:  s,
		})
	}
	dir := outputDir(t)
	enc := MustNew(t, video.Config{FileChapters: true})
	path, res := encodeToFile(t, enc, frames, at(0.3*float64(len(hostile))), dir, "hostile.mp4")
	checkDecodes(t, path)
	if len(res.Chapters) != len(hostile) {
		t.Errorf("got %d chapters, want %d", len(res.Chapters), len(hostile))
	}
	for i, c := range res.Chapters {
		if c.Label != hostile[i] {
			t.Errorf("chapter %d label = %q, want the frame's label unchanged %q", i, c.Label, hostile[i])
		}
	}
	frameAt(t, path, 0.3*6+0.15, dir, "frame-unicode.png")

	// In the file, chapter titles are the labels on one line, as the bar
	// shows them, with FFMETADATA's special characters intact.
	wantTitles := []string{
		`it's "quoted"`,
		`a:b\c;d,e[f]=g`,
		`100% %{pts} %{eif:1:d} %%`,
		"two↵lines↵and tab",
		`\N{\b1}{\an8}\h ass tags`,
		"'; drawtext=text=pwned:x=0 ,null[x]",
		"unicode: Überweisung €500 ✓ 日本語 evil done",
		"bad utf8 \uFFFD and nul \uFFFD bell \uFFFD",
		strings.Repeat("very long label ", 200)[:1024],
	}
	got := ffprobe(t, path).chapters(t)
	if len(got) != len(wantTitles) {
		t.Fatalf("file has %d chapters, want %d: %+v", len(got), len(wantTitles), got)
	}
	for i, c := range got {
		if want := res.Chapters[i].OffsetMS; c.Title != wantTitles[i] || c.StartMS != want {
			t.Errorf("chapter %d in the file: %q at %d ms, want %q at %d ms", i, c.Title, c.StartMS, wantTitles[i], want)
		}
	}
}

func TestRecorder(t *testing.T) {
	enc := MustNew(t, video.Config{})
	frames, end := flow(t, 320, 240)
	r := enc.Record(t.Context())
	defer r.Close()
	for _, f := range frames {
		if err := r.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	// A bad frame is refused and leaves the recording intact.
	if err := r.Add(video.Frame{Image: frames[0].Image, Time: at(3)}); auditshot.ErrorCode(err) != auditshot.EINVALID {
		t.Errorf("Add(earlier frame) = %v, want EINVALID", err)
	}
	if err := r.Add(video.Frame{Image: []byte("not an image"), Time: at(4)}); auditshot.ErrorCode(err) != auditshot.EINVALID {
		t.Errorf("Add(garbage) = %v, want EINVALID", err)
	}
	var buf bytes.Buffer
	res, err := r.Finish(end, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 50 || buf.Len() == 0 {
		t.Errorf("Finish = %+v with %d bytes", res, buf.Len())
	}
	if diff := cmp.Diff(res.Chapters, wantChapters); diff != "" {
		t.Errorf("Chapters (-got +want):\n%s", diff)
	}
	if _, err := r.Finish(end, &buf); err == nil {
		t.Error("second Finish succeeded")
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg := MustNew(t, video.Config{}).Config()
		if cfg.FPS != video.DefaultFPS || cfg.Format != video.FormatMP4 || cfg.CRF != video.DefaultCRFMP4 || cfg.FFmpegPath == "" {
			t.Errorf("Config() = %+v", cfg)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tc := range []struct {
			cfg   video.Config
			field string
		}{
			{video.Config{FPS: 31}, "FPS"},
			{video.Config{FPS: -1}, "FPS"},
			{video.Config{Width: 641}, "Width"},
			{video.Config{Height: -2}, "Height"},
			{video.Config{Format: "gif"}, "Format"},
			{video.Config{CRF: 52}, "CRF"},
			{video.Config{FontFile: "/nonexistent/font.ttf"}, "FontFile"},
		} {
			_, err := video.New(tc.cfg)
			if auditshot.ErrorCode(err) != auditshot.EINVALID || !strings.Contains(auditshot.ErrorMessage(err), tc.field) {
				t.Errorf("New(%+v) = %v, want EINVALID naming %s", tc.cfg, err, tc.field)
			}
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		_, err := video.New(video.Config{FFmpegPath: "/nonexistent/bin/ffmpeg"})
		msg := auditshot.ErrorMessage(err)
		if auditshot.ErrorCode(err) != auditshot.EUNAVAILABLE || !strings.Contains(msg, "ffmpeg not found") || !strings.Contains(msg, "install") {
			t.Errorf("New(missing ffmpeg) = %v, want EUNAVAILABLE with an install hint", err)
		}
	})
}

func TestEncode_ErrInvalid(t *testing.T) {
	enc := MustNew(t, video.Config{})
	img := encodePNG(t, solid(32, 32, red))
	for name, tc := range map[string]struct {
		frames []video.Frame
		end    time.Time
	}{
		"NoFrames":      {nil, at(1)},
		"Undecodable":   {[]video.Frame{{Image: []byte("GIF89a..."), Time: at(0)}}, at(1)},
		"Truncated":     {[]video.Frame{{Image: img[:len(img)/2], Time: at(0)}}, at(1)},
		"SameTime":      {[]video.Frame{{Image: img, Time: at(0)}, {Image: img, Time: at(0)}}, at(1)},
		"Decreasing":    {[]video.Frame{{Image: img, Time: at(1)}, {Image: img, Time: at(0.5)}}, at(2)},
		"EndBeforeLast": {[]video.Frame{{Image: img, Time: at(0)}, {Image: img, Time: at(1)}}, at(0.5)},
		"TooLong":       {[]video.Frame{{Image: img, Time: at(0)}}, at(2 * 3600)},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := enc.Encode(t.Context(), tc.frames, tc.end, &buf)
			if auditshot.ErrorCode(err) != auditshot.EINVALID {
				t.Errorf("Encode = %v, want EINVALID", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on failure", buf.Len())
			}
		})
	}
}

func TestEncode_ErrInternal(t *testing.T) {
	// A binary that exits at once with an error stands in for a failing ffmpeg.
	enc := MustNew(t, video.Config{FFmpegPath: "/bin/false"})
	frames, end := flow(t, 64, 48)
	var buf bytes.Buffer
	_, err := enc.Encode(t.Context(), frames, end, &buf)
	if auditshot.ErrorCode(err) != auditshot.EINTERNAL || buf.Len() != 0 {
		t.Errorf("Encode = %v with %d bytes, want EINTERNAL and nothing written", err, buf.Len())
	}
}

func TestEncode_Cancel(t *testing.T) {
	t.Run("Encode", func(t *testing.T) {
		tmp := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// Cancel as soon as ffmpeg runs.
		enc := MustNew(t, video.Config{TempDir: tmp, Logger: slog.New(cancelOn{"ffmpeg started", cancel})})
		frames, end := flow(t, 320, 240)
		var buf bytes.Buffer
		_, err := enc.Encode(ctx, frames, end, &buf)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Encode = %v, want context.Canceled", err)
		}
		checkCleanedUp(t, tmp, buf.Len())
	})
	t.Run("Recorder", func(t *testing.T) {
		tmp := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		enc := MustNew(t, video.Config{TempDir: tmp})
		frames, end := flow(t, 320, 240)
		r := enc.Record(ctx)
		defer r.Close()
		for _, f := range frames[:2] {
			if err := r.Add(f); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		var buf bytes.Buffer
		if err := r.Add(frames[2]); !errors.Is(err, context.Canceled) {
			t.Errorf("Add after cancel = %v, want context.Canceled", err)
		}
		if _, err := r.Finish(end, &buf); !errors.Is(err, context.Canceled) {
			t.Errorf("Finish after cancel = %v, want context.Canceled", err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		checkCleanedUp(t, tmp, buf.Len())
	})
}

func checkCleanedUp(t *testing.T, tmp string, written int) {
	t.Helper()
	if written != 0 {
		t.Errorf("wrote %d bytes after cancel, want none", written)
	}
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("temp dir holds %v (%v), want nothing", ents, err)
	}
}

// uiFlow is a 60 s flow at 1280x720 of six mostly static form pages, shown
// at uneven times.
func uiFlow(tb testing.TB) ([]video.Frame, time.Time) {
	accents := []color.RGBA{{30, 90, 180, 255}, {30, 90, 180, 255}, {200, 80, 20, 255}, {30, 140, 80, 255}, {30, 140, 80, 255}, {120, 40, 160, 255}}
	times := []float64{0, 2.5, 9, 20, 33.3, 47}
	var frames []video.Frame
	for i, ts := range times {
		frames = append(frames, video.Frame{
			Image: encodeJPEG(tb, uiPage(1280, 720, uint64(i), accents[i])),
			Time:  at(ts),
			URL:   "https://payments.example/refunds/new?customer=42&step=" + string(rune('1'+i)),
			Step:  string(rune('1'+i)) + "/6 fill #amount",
		})
	}
	return frames, at(60)
}

func TestEncode_Size(t *testing.T) {
	const limit = 1 << 20
	frames, end := uiFlow(t)
	dir := outputDir(t)
	enc := MustNew(t, video.Config{})
	start := time.Now()
	path, res := encodeToFile(t, enc, frames, end, dir, "ui-60s.mp4")
	elapsed := time.Since(start)
	perMinute := float64(res.Size) / res.Duration.Minutes()
	t.Logf("60 s of 1280x720 at %d fps: %d frames, %d bytes (%.0f bytes/minute), encoded in %s",
		res.FPS, res.Frames, res.Size, perMinute, elapsed.Round(time.Millisecond))
	if res.Size >= limit {
		t.Errorf("a 60 s mostly static flow is %d bytes, want < %d", res.Size, limit)
	}
	if d := ffprobe(t, path).duration(t); math.Abs(d-60) > 0.1 {
		t.Errorf("duration = %.3fs, want 60s", d)
	}
	frameAt(t, path, 21, dir, "frame-21s.png")
}

func BenchmarkEncode60s720p(b *testing.B) {
	frames, end := uiFlow(b)
	enc := MustNew(b, video.Config{})
	for b.Loop() {
		var buf bytes.Buffer
		if _, err := enc.Encode(b.Context(), frames, end, &buf); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(buf.Len()), "bytes/video")
	}
}
