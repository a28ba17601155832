package visualdiff

import (
	"fmt"
	"image"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/auditshot/auditshot"
)

// Hash is a 64-bit perceptual hash of an image, from PHash or DHash. Hashes
// of the same kind are compared with Distance.
type Hash uint64

// String returns h as 16 lower-case hex digits.
func (h Hash) String() string {
	return fmt.Sprintf("%016x", uint64(h))
}

// ParseHash parses the 16 hex digits String returns. It returns an EINVALID
// error for anything else.
func ParseHash(s string) (Hash, error) {
	if len(s) != 16 {
		return 0, auditshot.Errorf(auditshot.EINVALID, "visualdiff: hash %q is not 16 hex digits", s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, auditshot.Errorf(auditshot.EINVALID, "visualdiff: hash %q is not 16 hex digits", s)
	}
	return Hash(v), nil
}

// Distance returns the Hamming distance between a and b, the number of bits
// in which they differ, from 0 to 64. For PHash:
//
//   - 0: the same picture, or one re-encoded (PNG against JPEG);
//   - up to about 8: visually the same page (JPEG noise, a slight change of
//     brightness, a small edit such as a changed word or badge);
//   - 9 to about 16: similar pages, a changed layout of the same site;
//   - more than 16: different pages. Unrelated images are around 32.
//
// Hashes of different kinds (PHash against DHash) are not comparable.
func Distance(a, b Hash) int {
	return bits.OnesCount64(uint64(a ^ b))
}

// phashSize is the side of the greyscale thumbnail PHash transforms.
const phashSize = 32

// PHash returns the DCT perceptual hash of img: img is converted to
// greyscale, reduced to 32x32 by area averaging, and transformed with a 2-D
// DCT-II; bit i (from the most significant) is set when the i-th of the 64
// lowest-frequency coefficients (rows and columns 1 to 8, row-major, leaving
// out the DC row and column) is above their median. It is insensitive to
// scaling, re-encoding and small changes of brightness and contrast. An
// empty or nil image hashes to 0.
func PHash(img image.Image) Hash {
	g, ok := thumbnail(img, phashSize, phashSize)
	if !ok {
		return 0
	}
	const n = 9 // frequencies 0..8
	var cosines [n][phashSize]float64
	for u := range n {
		for x := range phashSize {
			cosines[u][x] = math.Cos(math.Pi * float64(u) * (2*float64(x) + 1) / (2 * phashSize))
		}
	}
	// Rows first: rows[y][u] is the DCT of row y at frequency u.
	var rows [phashSize][n]float64
	for y := range phashSize {
		for u := range n {
			var s float64
			for x := range phashSize {
				s += g[y*phashSize+x] * cosines[u][x]
			}
			rows[y][u] = s
		}
	}
	var coef [64]float64
	for v := 1; v < n; v++ {
		for u := 1; u < n; u++ {
			var s float64
			for y := range phashSize {
				s += rows[y][u] * cosines[v][y]
			}
			coef[(v-1)*8+(u-1)] = s
		}
	}
	sorted := coef
	slices.Sort(sorted[:])
	median := (sorted[31] + sorted[32]) / 2
	var h Hash
	for i, c := range coef {
		if c > median {
			h |= 1 << (63 - i)
		}
	}
	return h
}

// DHash returns the difference hash of img: img is converted to greyscale
// and reduced to 9x8 by area averaging; bit i (from the most significant) is
// set when, in row-major order, the i-th pixel is brighter than its right
// neighbour. It is cheaper than PHash and more sensitive to small shifts. An
// empty or nil image hashes to 0.
func DHash(img image.Image) Hash {
	g, ok := thumbnail(img, 9, 8)
	if !ok {
		return 0
	}
	var h Hash
	for y := range 8 {
		for x := range 8 {
			if g[y*9+x] > g[y*9+x+1] {
				h |= 1 << (63 - (y*8 + x))
			}
		}
	}
	return h
}

// span is the share of one output cell a source row or column covers.
type span struct {
	cell   int
	weight float64
}

// spans returns, for each of n source pixels, the output cells of m it
// covers when n pixels are averaged down (or spread up) to m.
func spans(n, m int) [][]span {
	out := make([][]span, n)
	scale := float64(m) / float64(n)
	for i := range n {
		a0, a1 := float64(i)*scale, float64(i+1)*scale
		for c := int(a0); c < m && float64(c) < a1; c++ {
			if w := min(a1, float64(c+1)) - max(a0, float64(c)); w > 0 {
				out[i] = append(out[i], span{c, w})
			}
		}
	}
	return out
}

// thumbnail returns img in greyscale (luminance 0 to 255) reduced to w x h
// by area averaging, row-major. It returns false for an empty or nil image.
func thumbnail(img image.Image, w, h int) ([]float64, bool) {
	if img == nil || img.Bounds().Empty() {
		return nil, false
	}
	p := pixelsOf(img)
	xs, ys := spans(p.w, w), spans(p.h, h)
	out := make([]float64, w*h)
	row := make([]float64, w)
	for y := range p.h {
		clear(row)
		o := y * p.stride
		for x := range p.w {
			l := float64(lum(&p, o+4*x))
			for _, s := range xs[x] {
				row[s.cell] += l * s.weight
			}
		}
		for _, s := range ys[y] {
			dst := out[s.cell*w : s.cell*w+w]
			for i, v := range row {
				dst[i] += v * s.weight
			}
		}
	}
	// Weights are areas in output cells, so each cell holds its average.
	return out, true
}
