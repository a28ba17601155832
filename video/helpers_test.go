package video_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/video"
)

// t0 is the first frame's time in the tests.
var t0 = time.Date(2026, 11, 27, 10, 4, 5, 0, time.UTC)

// at returns t0 + seconds.
func at(seconds float64) time.Time {
	return t0.Add(time.Duration(seconds * float64(time.Second)))
}

var (
	red   = color.RGBA{220, 30, 30, 255}
	green = color.RGBA{30, 180, 60, 255}
	blue  = color.RGBA{40, 60, 210, 255}
)

// MustNew returns an Encoder for cfg.
func MustNew(tb testing.TB, cfg video.Config) *video.Encoder {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	enc, err := video.New(cfg)
	if err != nil {
		tb.Fatalf("video.New: %v", err)
	}
	return enc
}

// tbWriter sends logs to the test log.
type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// solid returns a w×h image of colour c.
func solid(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

// uiPage returns a w×h image that looks like a static web form: a header,
// lines of "text" and an input box.
func uiPage(w, h int, seed uint64, accent color.RGBA) *image.RGBA {
	img := solid(w, h, color.RGBA{246, 246, 248, 255})
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	fill(image.Rect(0, 0, w, h/12), accent)
	rng := rand.New(rand.NewPCG(seed, 1))
	for y := h / 8; y < h*3/4; y += h / 30 {
		x := w / 16
		for x < w*3/4 {
			word := 10 + rng.IntN(60)
			fill(image.Rect(x, y, x+word, y+h/60), color.RGBA{60, 60, 70, 255})
			x += word + 8
		}
	}
	fill(image.Rect(w/16, h*3/4+10, w/2, h*3/4+50), color.White)
	fill(image.Rect(w/16, h*3/4+10, w/2, h*3/4+12), color.RGBA{150, 150, 160, 255})
	return img
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// outputDir returns where a test keeps its videos and extracted frames:
// $AUDITSHOT_TEST_OUTPUT/<test> if set, else a temporary directory.
func outputDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AUDITSHOT_TEST_OUTPUT")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// encodeToFile encodes frames into dir/name and returns its path.
func encodeToFile(t *testing.T, enc *video.Encoder, frames []video.Frame, end time.Time, dir, name string) (string, *video.Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := enc.Encode(t.Context(), frames, end, &buf)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if res.Size != int64(buf.Len()) {
		t.Errorf("Result.Size = %d, wrote %d bytes", res.Size, buf.Len())
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, res
}

// probe is the part of ffprobe's JSON the tests read.
type probe struct {
	Streams []struct {
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		PixFmt     string `json:"pix_fmt"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		RFrameRate string `json:"r_frame_rate"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Chapters []struct {
		StartTime string `json:"start_time"`
		EndTime   string `json:"end_time"`
		Tags      struct {
			Title string `json:"title"`
		} `json:"tags"`
	} `json:"chapters"`
}

// ffprobe probes the file at path. The video stream comes first in
// Streams; besides it, the file may only hold data streams (an MP4's
// chapter track).
func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-show_streams", "-show_format", "-show_chapters", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	video := 0
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			video++
		case "data":
		default:
			t.Errorf("ffprobe: unexpected %s stream in %s", s.CodecType, out)
		}
	}
	if video != 1 || p.Streams[0].CodecType != "video" {
		t.Fatalf("ffprobe: want one video stream, first, got %s", out)
	}
	return p
}

// chapter is a chapter as ffprobe sees it in a file.
type chapter struct {
	StartMS, EndMS int64
	Title          string
}

// chapters returns the file's chapters, with times in milliseconds.
func (p probe) chapters(t *testing.T) []chapter {
	t.Helper()
	ms := func(s string) int64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("ffprobe chapter time %q: %v", s, err)
		}
		return int64(math.Round(f * 1000))
	}
	var cs []chapter
	for _, c := range p.Chapters {
		cs = append(cs, chapter{ms(c.StartTime), ms(c.EndTime), c.Tags.Title})
	}
	return cs
}

func (p probe) duration(t *testing.T) float64 {
	t.Helper()
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", p.Format.Duration, err)
	}
	return d
}

// checkDecodes decodes the whole file and fails on any ffmpeg error.
func checkDecodes(t *testing.T, path string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-i", path, "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("decode %s: %v: %s", path, err, stderr.String())
	}
}

// topLevelBoxes returns the types of an MP4 file's top-level boxes, in order.
func topLevelBoxes(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var boxes []string
	var off int64
	for {
		var hdr [16]byte
		if _, err := f.ReadAt(hdr[:8], off); err == io.EOF {
			return boxes
		} else if err != nil {
			t.Fatal(err)
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		boxes = append(boxes, string(hdr[4:8]))
		switch size {
		case 0: // to the end of the file
			return boxes
		case 1:
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil {
				t.Fatal(err)
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
		}
		if size < 8 {
			t.Fatalf("bad box size %d at %d", size, off)
		}
		off += size
	}
}

// frameAt extracts the frame shown at second ts of the video and saves it
// as dir/name when name is not empty.
func frameAt(t *testing.T, path string, ts float64, dir, name string) image.Image {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-ss", strconv.FormatFloat(ts, 'f', 3, 64),
		"-i", path, "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("extract frame at %.3fs: %v: %s", ts, err, stderr.String())
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("extracted frame at %.3fs: %v", ts, err)
	}
	if name != "" {
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// mean returns the average colour of r in img.
func mean(img image.Image, r image.Rectangle) color.RGBA {
	var sr, sg, sb, n uint64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			sr, sg, sb, n = sr+uint64(c.R), sg+uint64(c.G), sb+uint64(c.B), n+1
		}
	}
	return color.RGBA{uint8(sr / n), uint8(sg / n), uint8(sb / n), 255}
}

// near reports whether a and b differ by at most tol on every channel.
func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) <= tol && d(a.G, b.G) <= tol && d(a.B, b.B) <= tol
}

// lightPixels counts the pixels of r in img with every channel above 200.
func lightPixels(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R > 200 && c.G > 200 && c.B > 200 {
				n++
			}
		}
	}
	return n
}

// cancelOn is a slog handler that calls cancel when it sees msg.
type cancelOn struct {
	msg    string
	cancel context.CancelFunc
}

func (h cancelOn) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.cancel()
	}
	return nil
}
func (h cancelOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOn) WithGroup(string) slog.Handler      { return h }
