package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/auditshot/auditshot"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/opentype"
)

// Defaults of Config.
const (
	// DefaultFFmpegPath is used when ffmpeg is not on PATH.
	DefaultFFmpegPath = "/usr/bin/ffmpeg"
	// DefaultFPS is the default frame rate. MinFPS and MaxFPS bound it.
	DefaultFPS = 10
	MinFPS     = 1
	MaxFPS     = 30
	// DefaultFormat is the default output format.
	DefaultFormat = FormatMP4
	// DefaultCRFMP4 is libx264's constant rate factor for MP4: mostly static
	// UI at 1280x720 (plus the bar) stays well under 1 MB per minute while
	// text stays readable.
	DefaultCRFMP4 = 30
	// DefaultCRFWebM is libvpx-vp9's constant quality for WebM.
	DefaultCRFWebM = 42
	// DefaultMaxDuration bounds a video's length: a flow whose frames or end
	// lie further from the first frame is refused.
	DefaultMaxDuration = time.Hour
	// MaxDimension bounds the width and height of frames and of the page
	// area; the video is taller by the overlay bar.
	MaxDimension = 8192
)

// DefaultFontFiles are the fonts the overlay tries, in order, when
// Config.FontFile is empty. If none exists, the overlay uses Go Mono, which
// is compiled in.
var DefaultFontFiles = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
	"/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
}

// Config configures an Encoder. The zero value is usable.
type Config struct {
	// FFmpegPath is the ffmpeg binary. Default: "ffmpeg" found on PATH, then
	// DefaultFFmpegPath.
	FFmpegPath string
	// FPS is the constant output frame rate, MinFPS..MaxFPS. Default DefaultFPS.
	FPS int
	// Width and Height are the size of the page area in pixels; both must
	// be even (yuv420p). The video is Height plus the overlay bar tall (see
	// Result.BarHeight): the bar is drawn below the page, not over it.
	// Default: the first frame's size rounded down to even numbers. If only
	// one is set, the other follows the first frame's aspect ratio. Frames
	// of another size are scaled to fit and centred on black.
	Width, Height int
	// Format is FormatMP4 (H.264, yuv420p, faststart) or FormatWebM (VP9).
	// Default DefaultFormat.
	Format string
	// FileChapters also writes the chapters into the video file (MP4 chapter
	// list and track, WebM chapters) so players list the steps. It costs a
	// second ffmpeg pass per recording (about 3% more wall time for a
	// flow on 2 cores), so it is off by default: the chapters are always
	// in Result.Chapters and the sidecar.
	FileChapters bool
	// CRF is the encoder's constant rate factor (lower is better and
	// larger): up to 51 for MP4, up to 63 for WebM; 0 means the default,
	// DefaultCRFMP4 or DefaultCRFWebM.
	CRF int
	// FontFile is a TrueType/OpenType font for the overlay. Default: the
	// first of DefaultFontFiles that exists, else the compiled-in Go Mono.
	FontFile string
	// MaxDuration bounds the video's length. Default DefaultMaxDuration.
	MaxDuration time.Duration
	// TempDir is where a private working directory is made for each encode
	// (and always removed). Default os.TempDir().
	TempDir string
	// Logger receives the encoder's logs. Default slog.Default().
	Logger *slog.Logger
}

// Encoder turns frames into videos. It is safe for concurrent use; each
// Encode or Recorder runs its own ffmpeg process.
type Encoder struct {
	cfg  Config
	font *opentype.Font
	log  *slog.Logger
}

// New returns an Encoder for cfg after filling in defaults. It returns
// EINVALID naming the field for a bad setting, and EUNAVAILABLE if ffmpeg
// cannot be found.
func New(cfg Config) (*Encoder, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	path, err := findFFmpeg(cfg.FFmpegPath)
	if err != nil {
		return nil, err
	}
	cfg.FFmpegPath = path
	f, fontName, err := loadFont(cfg.FontFile)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "video")
	log.Debug("video encoder ready", "ffmpeg", path, "font", fontName, "format", cfg.Format, "fps", cfg.FPS)
	return &Encoder{cfg: cfg, font: f, log: log}, nil
}

// Config returns the encoder's configuration with defaults filled in.
func (e *Encoder) Config() Config { return e.cfg }

// Encode encodes frames, which end at end, into one video written to w.
// The video starts at frames[0].Time and lasts end - frames[0].Time (to the
// nearest frame); each frame is held until the next one's time.
//
// w receives the video only once ffmpeg has finished successfully; if the
// encode fails or ctx is cancelled, nothing is written to w. (Only a failure
// of w itself can leave part of the video in it.)
//
// Encode returns EINVALID for no frames, an undecodable image, times that do
// not strictly increase, or an end before the last frame; EUNAVAILABLE if
// ffmpeg cannot be started; EINTERNAL with ffmpeg's stderr tail if it fails;
// and an error wrapping ctx.Err() if ctx ends first.
func (e *Encoder) Encode(ctx context.Context, frames []Frame, end time.Time, w io.Writer) (*Result, error) {
	if len(frames) == 0 {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: no frames")
	}
	r := e.Record(ctx)
	defer r.Close()
	for i, f := range frames {
		if err := r.Add(f); err != nil {
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
	}
	return r.Finish(end, w)
}

func (c *Config) setDefaults() {
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	if c.CRF == 0 {
		c.CRF = DefaultCRFMP4
		if c.Format == FormatWebM {
			c.CRF = DefaultCRFWebM
		}
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	invalid := func(format string, args ...any) error {
		return auditshot.Errorf(auditshot.EINVALID, "video: "+format, args...)
	}
	switch {
	case c.FPS < MinFPS || c.FPS > MaxFPS:
		return invalid("FPS must be %d..%d, got %d", MinFPS, MaxFPS, c.FPS)
	case c.Format != FormatMP4 && c.Format != FormatWebM:
		return invalid("Format must be %q or %q, got %q", FormatMP4, FormatWebM, c.Format)
	case c.Width < 0 || c.Width > MaxDimension || c.Width%2 != 0:
		return invalid("Width must be an even number of pixels, 0..%d, got %d", MaxDimension, c.Width)
	case c.Height < 0 || c.Height > MaxDimension || c.Height%2 != 0:
		return invalid("Height must be an even number of pixels, 0..%d, got %d", MaxDimension, c.Height)
	case c.CRF < 0 || (c.Format == FormatMP4 && c.CRF > 51) || c.CRF > 63:
		return invalid("CRF out of range for %s: %d", c.Format, c.CRF)
	case c.MaxDuration < 0:
		return invalid("MaxDuration must not be negative, got %s", c.MaxDuration)
	}
	return nil
}

// errNoFFmpeg is the message of the EUNAVAILABLE error for a missing ffmpeg.
const errNoFFmpeg = "ffmpeg not found: install it (scripts/install-deps, or the distribution's ffmpeg package) or set the ffmpeg path"

// findFFmpeg resolves the ffmpeg binary: path if set, else PATH, else
// DefaultFFmpegPath.
func findFFmpeg(path string) (string, error) {
	if path == "" {
		if p, err := exec.LookPath("ffmpeg"); err == nil {
			return p, nil
		}
		path = DefaultFFmpegPath
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: errNoFFmpeg + " (looked for " + path + ")", Err: err}
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: errNoFFmpeg + " (" + path + " is not executable)", Err: fs.ErrPermission}
	}
	return path, nil
}

// loadFont returns the overlay font and its name.
func loadFont(file string) (*opentype.Font, string, error) {
	files := DefaultFontFiles
	if file != "" {
		files = []string{file}
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) && file == "" {
			continue
		}
		if err != nil {
			return nil, "", auditshot.Errorf(auditshot.EINVALID, "video: FontFile %s: %v", name, err)
		}
		f, err := opentype.Parse(b)
		if err != nil {
			return nil, "", auditshot.Errorf(auditshot.EINVALID, "video: FontFile %s: %v", name, err)
		}
		return f, name, nil
	}
	f, err := opentype.Parse(gomono.TTF)
	if err != nil {
		return nil, "", fmt.Errorf("parse Go Mono: %w", err)
	}
	return f, "Go Mono", nil
}
