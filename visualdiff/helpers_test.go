package visualdiff_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"testing"
)

// The synthetic pages of the tests: a 1280x800 web page, white, with a
// header, grey "text" bars with antialiased edges, a blue button and a
// status badge that the "after" page turns from a red "Pending" box into a
// green "Approved" one.
const (
	pageW, pageH = 1280, 800
)

var (
	white      = color.RGBA{255, 255, 255, 255}
	headerBlue = color.RGBA{32, 45, 70, 255}
	textGrey   = color.RGBA{90, 90, 90, 255}
	lightGrey  = color.RGBA{200, 200, 200, 255}
	buttonBlue = color.RGBA{37, 99, 235, 255}
	red        = color.RGBA{220, 53, 69, 255}
	green      = color.RGBA{25, 135, 84, 255}
	darkGreen  = color.RGBA{10, 60, 30, 255}
)

// badge is where the status badge is drawn.
var badge = image.Rect(980, 180, 1100, 212)

// fill paints r with c.
func fill(m draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(m, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// bar paints r with c and a one-pixel antialiased edge around it (c at half
// opacity over what is there), as a browser renders text and rounded boxes.
func bar(m draw.Image, r image.Rectangle, c color.RGBA) {
	half := color.RGBA{c.R / 2, c.G / 2, c.B / 2, 128}
	edge := image.NewUniform(half)
	o := r.Inset(-1)
	for _, e := range []image.Rectangle{
		image.Rect(o.Min.X, o.Min.Y, o.Max.X, r.Min.Y),
		image.Rect(o.Min.X, r.Max.Y, o.Max.X, o.Max.Y),
		image.Rect(o.Min.X, r.Min.Y, r.Min.X, r.Max.Y),
		image.Rect(r.Max.X, r.Min.Y, o.Max.X, r.Max.Y),
	} {
		draw.Draw(m, e, edge, image.Point{}, draw.Over)
	}
	fill(m, r, c)
}

// text draws a paragraph of lines grey bars, words of varied length, from
// (x, y) no wider than w.
func text(m draw.Image, x, y, w, lines int, seed int) {
	for l := range lines {
		cx := x
		for i := 0; ; i++ {
			ww := 20 + (seed*7+i*13+l*29)%50
			if cx+ww > x+w {
				break
			}
			bar(m, image.Rect(cx, y+l*20, cx+ww, y+l*20+9), textGrey)
			cx += ww + 6
		}
	}
}

// page draws the page; approved selects the after version of the badge.
func page(approved bool) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, pageW, pageH))
	fill(m, m.Bounds(), white)
	fill(m, image.Rect(0, 0, pageW, 64), headerBlue)
	for i := range 5 {
		bar(m, image.Rect(40+i*110, 26, 120+i*110, 38), lightGrey)
	}
	bar(m, image.Rect(80, 120, 600, 140), textGrey) // title
	text(m, 80, 180, 840, 8, 1)
	text(m, 80, 380, 840, 10, 2)
	bar(m, image.Rect(80, 620, 260, 664), buttonBlue)
	bar(m, image.Rect(110, 637, 230, 647), white)
	bar(m, image.Rect(960, 120, 1200, 140), textGrey) // "Status"
	if approved {
		fill(m, badge, green)
		for i := range 3 {
			bar(m, image.Rect(badge.Min.X+12+i*34, badge.Min.Y+11, badge.Min.X+40+i*34, badge.Min.Y+21), darkGreen)
		}
	} else {
		fill(m, badge, red)
		bar(m, image.Rect(badge.Min.X+16, badge.Min.Y+11, badge.Min.X+96, badge.Min.Y+21), white)
	}
	text(m, 960, 260, 240, 12, 3)
	fill(m, image.Rect(0, 760, pageW, pageH), lightGrey) // footer
	return m
}

// layout draws a page laid out differently from page: a dark sidebar, a grid
// of image cards and a wide banner.
func layout() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, pageW, pageH))
	fill(m, m.Bounds(), white)
	fill(m, image.Rect(0, 0, 260, pageH), headerBlue)
	for i := range 12 {
		bar(m, image.Rect(30, 60+i*50, 200, 72+i*50), lightGrey)
	}
	fill(m, image.Rect(300, 40, 1240, 260), buttonBlue)
	for r := range 2 {
		for c := range 3 {
			x, y := 300+c*320, 300+r*240
			fill(m, image.Rect(x, y, x+290, y+140), textGrey)
			text(m, x, y+160, 290, 3, r*3+c)
		}
	}
	return m
}

// clone returns a copy of m.
func clone(m *image.RGBA) *image.RGBA {
	c := image.NewRGBA(m.Bounds())
	copy(c.Pix, m.Pix)
	return c
}

// recompress returns m encoded as JPEG at the given quality and decoded.
func recompress(tb testing.TB, m image.Image, quality int) image.Image {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// grown returns m with extra rows of white page and text below it.
func grown(m *image.RGBA, extra int) *image.RGBA {
	b := m.Bounds()
	g := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()+extra))
	fill(g, g.Bounds(), white)
	draw.Draw(g, b, m, b.Min, draw.Src)
	text(g, 80, b.Dy()+20, 840, extra/20-1, 9)
	return g
}
