package video

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Overlay geometry and colour.
const (
	// maxTextRunes caps the text considered for a line before it is cut to
	// the frame's width.
	maxTextRunes = 1024
	// timeLayout is the overlay's clock: UTC to the second.
	timeLayout = "2006-01-02T15:04:05Z"
	// barColumns is about how many characters of the monospaced font fit
	// on a line of the bar; the font size follows the video's width, within
	// minFontPx..maxFontPx. At 1280 px wide it is 15 px, for a 42 px bar.
	barColumns = 84
	minFontPx  = 11
	maxFontPx  = 24
)

var (
	// barBackground is the bar's opaque background, near black.
	barBackground = color.RGBA{20, 20, 24, 255}
	// barRule is the one-pixel line that tops the bar, so a dark page's
	// last row stays distinct from the bar.
	barRule = color.RGBA{96, 96, 104, 255}
)

// overlay draws the bar that sits below the page in every output frame:
// line one holds the frame's UTC time and the step label, line two the URL.
// The bar covers no page pixel: the video is the page area, w×h, with the
// bar, w×barH, under it.
type overlay struct {
	face   font.Face
	w      int
	barH   int // bar height in pixels, even
	padX   int // left and right padding
	pad    int // top and bottom padding
	lineH  int
	ascent int
	ellW   fixed.Int26_6 // width of "…"
	bar    *image.RGBA   // scratch: the bar, w×barH
	packed []byte        // the bar as packed RGB, w×barH×3
}

// newOverlay returns the overlay for a page area w pixels wide.
func newOverlay(f *opentype.Font, w int) (*overlay, error) {
	px := min(max(w/barColumns, minFontPx), maxFontPx)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("overlay face: %w", err)
	}
	m := face.Metrics()
	o := &overlay{
		face:   face,
		w:      w,
		padX:   max(px/2, 3),
		pad:    max(px/4, 2),
		lineH:  (m.Ascent + m.Descent).Ceil(),
		ascent: m.Ascent.Ceil(),
		ellW:   font.MeasureString(face, "…"),
	}
	o.barH = (2*o.lineH + 2*o.pad + 1) &^ 1 // + 1: the rule; even for yuv420p
	o.bar = image.NewRGBA(image.Rect(0, 0, w, o.barH))
	o.packed = make([]byte, 3*w*o.barH)
	return o, nil
}

// render draws the bar for clock, step and url and returns it as packed RGB
// (valid until the next call).
func (o *overlay) render(clock, step, url string) []byte {
	draw.Draw(o.bar, o.bar.Bounds(), image.NewUniform(barBackground), image.Point{}, draw.Src)
	draw.Draw(o.bar, image.Rect(0, 0, o.w, 1), image.NewUniform(barRule), image.Point{}, draw.Src)
	line1 := clock
	if step = clean(step); step != "" {
		line1 += "  " + step
	}
	o.text(line1, 1+o.pad+o.ascent)
	o.text(clean(url), 1+o.pad+o.lineH+o.ascent)
	packRGB24(o.packed, o.bar, 0)
	return o.packed
}

// text draws s, cut to the bar's width, with its baseline at row y.
func (o *overlay) text(s string, y int) {
	if s == "" {
		return
	}
	d := font.Drawer{
		Dst:  o.bar,
		Src:  image.NewUniform(color.White),
		Face: o.face,
		Dot:  fixed.P(o.padX, y),
	}
	d.DrawString(o.cut(s, fixed.I(o.w-2*o.padX)))
}

// cut returns s, or its longest prefix followed by "…", that fits in width.
func (o *overlay) cut(s string, width fixed.Int26_6) string {
	if font.MeasureString(o.face, s) <= width {
		return s
	}
	var adv fixed.Int26_6
	prev := rune(-1)
	for i, r := range s {
		if prev >= 0 {
			adv += o.face.Kern(prev, r)
		}
		a, _ := o.face.GlyphAdvance(r)
		if adv+a+o.ellW > width {
			return s[:i] + "…"
		}
		adv += a
		prev = r
	}
	return s
}

// clean makes page text safe and visible on one line: invalid UTF-8 becomes
// U+FFFD, line breaks become "↵", tabs spaces, other control characters
// U+FFFD, and invisible format characters (such as bidi overrides, which the
// overlay does not apply anyway) are dropped. It keeps at most maxTextRunes
// runes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	n := 0
	for _, r := range s {
		switch {
		case n >= maxTextRunes:
			return b.String()
		case r == '\n' || r == '\r':
			r = '↵'
		case r == '\t':
			r = ' '
		case unicode.IsControl(r):
			r = utf8.RuneError
		case unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
