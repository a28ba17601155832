package video

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Overlay geometry and colour.
const (
	// barDim scales the pixels under the bar (out of 256): the bar is black
	// at about 65% opacity.
	barDim = 90
	// maxTextRunes caps the text considered for a line before it is cut to
	// the frame's width.
	maxTextRunes = 1024
	// timeLayout is the overlay's clock: UTC to the second.
	timeLayout = "2006-01-02T15:04:05Z"
)

// overlay draws the bar at the bottom of a w×h frame: line one holds the
// frame's UTC time and the step label, line two the URL.
type overlay struct {
	face   font.Face
	w, h   int
	barH   int // bar height in pixels
	pad    int // left and top padding
	lineH  int
	ascent int
	ellW   fixed.Int26_6 // width of "…"
	bar    *image.RGBA   // scratch: the bar region, w×barH
}

func newOverlay(f *opentype.Font, w, h int) (*overlay, error) {
	// About 64 columns across a 16:9 frame's width, within 10..32 px.
	px := min(w, h*16/9) / 64
	px = min(max(px, 10), 32)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("overlay face: %w", err)
	}
	m := face.Metrics()
	o := &overlay{
		face:   face,
		w:      w,
		h:      h,
		pad:    max(px/3, 2),
		lineH:  m.Height.Ceil(),
		ascent: m.Ascent.Ceil(),
		ellW:   font.MeasureString(face, "…"),
	}
	o.barH = min(2*o.lineH+2*o.pad, h)
	o.bar = image.NewRGBA(image.Rect(0, 0, w, o.barH))
	return o, nil
}

// top returns the first row of the bar.
func (o *overlay) top() int { return o.h - o.barH }

// render draws the bar over base's bottom rows into o.bar and returns it.
func (o *overlay) render(base *image.RGBA, clock, step, url string) *image.RGBA {
	y0 := o.top()
	for y := 0; y < o.barH; y++ {
		src := base.Pix[(y0+y)*base.Stride : (y0+y)*base.Stride+4*o.w]
		dst := o.bar.Pix[y*o.bar.Stride : y*o.bar.Stride+4*o.w]
		for i := 0; i < len(src); i += 4 {
			dst[i] = uint8(uint16(src[i]) * barDim >> 8)
			dst[i+1] = uint8(uint16(src[i+1]) * barDim >> 8)
			dst[i+2] = uint8(uint16(src[i+2]) * barDim >> 8)
			dst[i+3] = 0xff
		}
	}
	line1 := clock
	if step = clean(step); step != "" {
		line1 += "  " + step
	}
	o.text(line1, o.pad+o.ascent)
	o.text(clean(url), o.pad+o.lineH+o.ascent)
	return o.bar
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
		Dot:  fixed.P(o.pad, y),
	}
	d.DrawString(o.cut(s, fixed.I(o.w-2*o.pad)))
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
