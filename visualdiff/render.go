package visualdiff

import (
	"bytes"
	"image"
	"image/png"
)

const (
	// boxR, boxG, boxB is the colour of region outlines.
	boxR, boxG, boxB = 230, 0, 0
	// fade is the contrast, out of 256, the after image keeps.
	fade = 77
	// boxWidth is the width of a region's outline.
	boxWidth = 2
)

// render draws the diff image: the after image greyed, changed pixels of
// kept components tinted magenta, ignored areas hatched, regions boxed.
func (d *differ) render(comps []component, regions []Rect) *image.RGBA {
	a := &d.after
	out := image.NewRGBA(image.Rect(0, 0, a.w, a.h))
	for y := range a.h {
		o := y * a.stride
		dst := out.Pix[y*out.Stride : y*out.Stride+4*a.w]
		for i := 0; i < len(dst); i += 4 {
			v := uint8(255 - (255-lum(a, o+i))*fade/256)
			dst[i], dst[i+1], dst[i+2], dst[i+3] = v, v, v, 255
		}
	}
	for _, r := range d.ignore {
		r = r.Intersect(out.Rect)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				v := uint8(235)
				if (x+y)%8 < 2 {
					v = 170
				}
				i := out.PixOffset(x, y)
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = v, v, v
			}
		}
	}
	for i, c := range d.grid.cells {
		if !comps[d.grid.comp[i]].kept {
			continue
		}
		for y := int(c.y0); y < min(int(c.y1), a.h); y++ {
			for x := int(c.x0); x < min(int(c.x1), a.w); x++ {
				if d.changed(x, y) {
					l := lum(a, y*a.stride+4*x)
					j := out.PixOffset(x, y)
					out.Pix[j] = uint8(150 + l*105/255)
					out.Pix[j+1] = uint8(l * 110 / 255)
					out.Pix[j+2] = uint8(150 + l*105/255)
				}
			}
		}
	}
	for _, r := range regions {
		outline(out, r.Rectangle().Inset(-boxWidth).Intersect(out.Rect))
	}
	return out
}

// lum returns the luminance, 0 to 255, of the pixel at byte offset i of p.
func lum(p *pixels, i int) int {
	s := p.pix[i : i+4 : i+4]
	if s[3] == 0xff {
		return (77*int(s[0]) + 150*int(s[1]) + 29*int(s[2])) >> 8
	}
	r, g, b := p.rgb(i)
	// Malformed premultiplied pixels (colour above alpha) overflow 255.
	return min((77*int(r)+150*int(g)+29*int(b))>>8, 255)
}

// outline draws a boxWidth outline along the inside of r.
func outline(m *image.RGBA, r image.Rectangle) {
	if r.Empty() {
		return
	}
	fill := func(f image.Rectangle) {
		f = f.Intersect(r)
		for y := f.Min.Y; y < f.Max.Y; y++ {
			for x := f.Min.X; x < f.Max.X; x++ {
				i := m.PixOffset(x, y)
				m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = boxR, boxG, boxB, 255
			}
		}
	}
	fill(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+boxWidth))
	fill(image.Rect(r.Min.X, r.Max.Y-boxWidth, r.Max.X, r.Max.Y))
	fill(image.Rect(r.Min.X, r.Min.Y, r.Min.X+boxWidth, r.Max.Y))
	fill(image.Rect(r.Max.X-boxWidth, r.Min.Y, r.Max.X, r.Max.Y))
}

// EncodePNG encodes img as PNG, for storing a diff image as an artifact.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	// Fast compression: a diff image is mostly flat grey and compresses
	// well anyway, and it is made while a caller waits.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
