package visualdiff_test

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/visualdiff"
)

// brighter returns m with every channel raised by d.
func brighter(m *image.RGBA, d uint8) *image.RGBA {
	c := clone(m)
	for i, v := range c.Pix {
		if i%4 != 3 {
			c.Pix[i] = uint8(min(int(v)+int(d), 255))
		}
	}
	return c
}

// scaled returns m shrunk to half its size by dropping every other pixel.
func scaled(m *image.RGBA) *image.RGBA {
	b := m.Bounds()
	s := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := range s.Rect.Dy() {
		for x := range s.Rect.Dx() {
			s.SetRGBA(x, y, m.RGBAAt(2*x, 2*y))
		}
	}
	return s
}

func TestHashDistance(t *testing.T) {
	before := page(false)
	gray := image.NewGray(before.Bounds())
	draw.Draw(gray, gray.Bounds(), before, image.Point{}, draw.Src)
	tests := []struct {
		name     string
		a, b     image.Image
		min, max int // for PHash
		dmax     int // DHash at most, -1 to skip
		dmin     int // DHash at least
	}{
		{name: "Identical", a: before, b: clone(before), max: 0, dmax: 0},
		{name: "Greyscale", a: before, b: gray, max: 4, dmax: 4},
		{name: "JPEG85", a: before, b: recompress(t, before, 85), max: 4, dmax: 4},
		{name: "JPEG50", a: before, b: recompress(t, before, 50), max: 6, dmax: 6},
		{name: "Brighter", a: before, b: brighter(before, 12), max: 6, dmax: 6},
		{name: "HalfSize", a: before, b: scaled(before), max: 6, dmax: 6},
		{name: "BadgeChanged", a: before, b: page(true), max: 8, dmax: 8},
		{name: "OtherLayout", a: before, b: layout(), min: 17, max: 64, dmax: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ha, hb := visualdiff.PHash(tt.a), visualdiff.PHash(tt.b)
			d := visualdiff.Distance(ha, hb)
			t.Logf("PHash %v %v distance %d", ha, hb, d)
			if d < tt.min || d > tt.max {
				t.Errorf("PHash distance = %d, want in [%d, %d]", d, tt.min, tt.max)
			}
			if tt.dmax >= 0 {
				da, db := visualdiff.DHash(tt.a), visualdiff.DHash(tt.b)
				if d := visualdiff.Distance(da, db); d > tt.dmax {
					t.Errorf("DHash distance = %d, want at most %d", d, tt.dmax)
				}
			}
		})
	}
	t.Run("OtherLayoutDHash", func(t *testing.T) {
		if d := visualdiff.Distance(visualdiff.DHash(before), visualdiff.DHash(layout())); d <= 16 {
			t.Errorf("DHash distance between layouts = %d, want > 16", d)
		}
	})
}

func TestHashEmpty(t *testing.T) {
	for _, m := range []image.Image{nil, image.NewRGBA(image.Rectangle{})} {
		if h := visualdiff.PHash(m); h != 0 {
			t.Errorf("PHash(%v) = %v, want 0", m, h)
		}
		if h := visualdiff.DHash(m); h != 0 {
			t.Errorf("DHash(%v) = %v, want 0", m, h)
		}
	}
	// Images smaller than the thumbnail are spread out, not refused.
	small := image.NewRGBA(image.Rect(0, 0, 3, 2))
	small.Set(0, 0, color.Black)
	if visualdiff.PHash(small) == 0 {
		t.Errorf("PHash of a 3x2 image with a black corner is 0")
	}
}

func TestParseHash(t *testing.T) {
	for _, h := range []visualdiff.Hash{0, 1, 0xdeadbeefcafef00d, ^visualdiff.Hash(0), visualdiff.PHash(page(false))} {
		s := h.String()
		if len(s) != 16 {
			t.Errorf("String() = %q, want 16 hex digits", s)
		}
		got, err := visualdiff.ParseHash(s)
		if err != nil || got != h {
			t.Errorf("ParseHash(%q) = %v, %v; want %v", s, got, err, h)
		}
	}
	for _, s := range []string{"", "0", "deadbeefcafef00", "deadbeefcafef00d0", "deadbeefcafef00g", "+eadbeefcafef00d", "0x00000000000000"} {
		if _, err := visualdiff.ParseHash(s); auditshot.ErrorCode(err) != auditshot.EINVALID {
			t.Errorf("ParseHash(%q) error = %v, want EINVALID", s, err)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b visualdiff.Hash
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0, ^visualdiff.Hash(0), 64},
		{0xf0, 0x0f, 8},
	}
	for _, tt := range tests {
		if got := visualdiff.Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
