package visualdiff

import (
	"cmp"
	"encoding/binary"
	"image"
	"image/draw"
	"math"
	"slices"

	"github.com/auditshot/auditshot"
)

// Defaults of Options. A zero field of Options takes its default.
const (
	// DefaultThreshold is the colour distance, as a fraction of the largest
	// one (black against white), at or below which a pixel counts as
	// unchanged. The distance is pixelmatch's YIQ distance, which weights
	// brightness over hue as the eye does. 0.1, pixelmatch's default,
	// ignores JPEG quality-85 noise and faint antialiasing yet catches
	// light-grey (#ccc) text on white.
	DefaultThreshold = 0.1
	// DefaultMinRegionArea is the number of changed pixels below which a
	// region is a speck and is ignored: a caret blink or a stray
	// antialiased pixel, but not a changed digit.
	DefaultMinRegionArea = 4
	// DefaultMergeDistance is the distance in pixels below which changed
	// pixels are put in the same region: about one line of body text, so a
	// changed sentence is one region rather than one per letter.
	DefaultMergeDistance = 10
)

// MaxPixels is the largest canvas (the larger width times the larger height
// of the two images) Diff accepts; it bounds the memory a diff uses.
const MaxPixels = 1 << 26

// Options tune Diff. The zero value uses the defaults.
type Options struct {
	// Threshold is the colour distance in [0, 1] at or below which a pixel
	// counts as unchanged (see DefaultThreshold). Zero means
	// DefaultThreshold; a negative value means any difference counts.
	Threshold float64
	// MinRegionArea is the number of changed pixels a region needs to be
	// reported; smaller regions are dropped and their pixels not counted.
	// Regions that hold rows or columns of a size change are always kept.
	// Zero means DefaultMinRegionArea; a negative value keeps every pixel.
	MinRegionArea int
	// MergeDistance merges changed pixels into one region: pixels less than
	// MergeDistance apart horizontally and vertically always share a
	// region, pixels 2*MergeDistance or more apart only through changed
	// pixels between them. Zero means DefaultMergeDistance; a negative
	// value merges only touching pixels (8-connected).
	MergeDistance int
	// IgnoreRects are areas, in image pixels from the top-left corner, not
	// compared: masked or redacted areas, clocks, animations. FromPage
	// converts a page rectangle such as a Redaction box.
	IgnoreRects []Rect
}

// Rect is a rectangle in image pixels, from the top-left corner of the
// image. (auditshot.Rect is in CSS pixels of the page; see FromPage.)
type Rect struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Rectangle returns r as an image.Rectangle.
func (r Rect) Rectangle() image.Rectangle {
	return image.Rect(r.X, r.Y, r.X+r.Width, r.Y+r.Height)
}

func rectOf(r image.Rectangle) Rect {
	return Rect{X: r.Min.X, Y: r.Min.Y, Width: r.Dx(), Height: r.Dy()}
}

// FromPage returns the image pixels covered by r, a rectangle in CSS pixels
// of the page (a Redaction box, a Clip), in a screenshot taken with the given
// device scale factor (values below or at 0 mean 1). It rounds outwards.
func FromPage(r auditshot.Rect, scale float64) Rect {
	if !(scale > 0) {
		scale = 1
	}
	x0, y0 := math.Floor(r.X*scale), math.Floor(r.Y*scale)
	x1, y1 := math.Ceil((r.X+r.Width)*scale), math.Ceil((r.Y+r.Height)*scale)
	return rectOf(image.Rect(clampInt(x0), clampInt(y0), clampInt(x1), clampInt(y1)))
}

// clampInt converts f to an int that cannot overflow pixel arithmetic.
func clampInt(f float64) int {
	const limit = 1 << 30
	switch {
	case math.IsNaN(f):
		return 0
	case f < -limit:
		return -limit
	case f > limit:
		return limit
	}
	return int(f)
}

// Size is the pixel size of an image.
type Size struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Result is the outcome of Diff. Coordinates are image pixels from the
// top-left corner of the images. The images are compared on a canvas as wide
// as the wider and as tall as the taller one: where their sizes differ, every
// canvas pixel outside the area both cover counts as changed.
type Result struct {
	// ChangedPixels is the number of changed pixels in Regions.
	ChangedPixels int `json:"changed_pixels"`
	// TotalPixels is the number of pixels of the canvas.
	TotalPixels int `json:"total_pixels"`
	// ChangedRatio is ChangedPixels/TotalPixels, in [0, 1].
	ChangedRatio float64 `json:"changed_ratio"`
	// Regions are the bounding boxes of the changed areas, after merging
	// nearby changes and dropping specks, sorted top to bottom, then left
	// to right. Boxes lie inside the canvas and may overlap.
	Regions []Rect `json:"regions"`
	// Identical is true when the sizes are equal and no pixel changed,
	// within Threshold and outside IgnoreRects.
	Identical bool `json:"identical"`
	// Before and After are the sizes of the two images.
	Before Size `json:"before"`
	After  Size `json:"after"`
	// Image is the diff artifact, as large as the after image: the after
	// image greyed to 30% contrast, changed pixels tinted magenta, each
	// region outlined with a 2 px red box, ignored areas hatched grey.
	Image *image.RGBA `json:"-"`
}

// Diff compares before with after. It returns an EINVALID error if an image
// is nil or an option is out of range, and ETOOLARGE if the canvas has more
// than MaxPixels pixels. Images of any size, including empty ones, are
// compared.
func Diff(before, after image.Image, opts Options) (*Result, error) {
	if before == nil || after == nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "visualdiff: nil image")
	}
	if math.IsNaN(opts.Threshold) || opts.Threshold > 1 {
		return nil, auditshot.Errorf(auditshot.EINVALID, "visualdiff: threshold %v is not in [0, 1]", opts.Threshold)
	}
	bs, as := before.Bounds().Size(), after.Bounds().Size()
	w, h := max(bs.X, as.X), max(bs.Y, as.Y)
	if int64(w)*int64(h) > MaxPixels {
		return nil, auditshot.Errorf(auditshot.ETOOLARGE, "visualdiff: %dx%d canvas is larger than %d pixels", w, h, MaxPixels)
	}
	d := newDiffer(pixelsOf(before), pixelsOf(after), opts)
	d.compare()
	comps := d.grid.components()
	res := d.result(comps)
	res.Before, res.After = Size{bs.X, bs.Y}, Size{as.X, as.Y}
	res.Identical = res.ChangedPixels == 0 && bs == as
	res.Image = d.render(comps, res.Regions)
	return res, nil
}

// pixels is an image's pixel buffer, addressed from its top-left corner.
type pixels struct {
	pix    []uint8
	stride int
	w, h   int
	// premul is true for alpha-premultiplied (RGBA) pixels, false for
	// non-premultiplied (NRGBA) ones.
	premul bool
}

// pixelsOf returns img's pixels, without copying for *image.RGBA and
// *image.NRGBA and converting any other image once.
func pixelsOf(img image.Image) pixels {
	b := img.Bounds()
	if b.Empty() {
		return pixels{w: b.Dx(), h: b.Dy()}
	}
	switch m := img.(type) {
	case *image.RGBA:
		return pixels{pix: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], stride: m.Stride, w: b.Dx(), h: b.Dy(), premul: true}
	case *image.NRGBA:
		return pixels{pix: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], stride: m.Stride, w: b.Dx(), h: b.Dy()}
	}
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
	return pixels{pix: m.Pix, stride: m.Stride, w: b.Dx(), h: b.Dy(), premul: true}
}

// rgb returns the colour of the pixel at byte offset i blended onto white.
func (p *pixels) rgb(i int) (r, g, b float32) {
	s := p.pix[i : i+4 : i+4]
	a := s[3]
	if a == 0xff {
		return float32(s[0]), float32(s[1]), float32(s[2])
	}
	if p.premul {
		k := float32(0xff - a)
		return float32(s[0]) + k, float32(s[1]) + k, float32(s[2]) + k
	}
	k := float32(a) / 0xff
	return 0xff - (0xff-float32(s[0]))*k, 0xff - (0xff-float32(s[1]))*k, 0xff - (0xff-float32(s[2]))*k
}

// maxYIQ is the YIQ distance between black and white.
const maxYIQ = 35215

// yiq returns pixelmatch's perceptual distance between two colours: the
// squared difference in YIQ space, weighted towards brightness.
func yiq(r1, g1, b1, r2, g2, b2 float32) float32 {
	dr, dg, db := r1-r2, g1-g2, b1-b2
	y := dr*0.29889531 + dg*0.58662247 + db*0.11448223
	i := dr*0.59597799 - dg*0.27417610 - db*0.32180189
	q := dr*0.21147017 - dg*0.52261711 + db*0.31114694
	return 0.5053*y*y + 0.299*i*i + 0.1957*q*q
}

// differ holds the state of one Diff.
type differ struct {
	before, after pixels
	w, h          int // canvas
	ow, oh        int // overlap
	limit         float32
	minArea       int
	ignore        []image.Rectangle
	grid          grid
}

func newDiffer(before, after pixels, opts Options) *differ {
	d := &differ{
		before: before, after: after,
		w: max(before.w, after.w), h: max(before.h, after.h),
		ow: min(before.w, after.w), oh: min(before.h, after.h),
		minArea: cmp.Or(opts.MinRegionArea, DefaultMinRegionArea),
	}
	t := cmp.Or(opts.Threshold, DefaultThreshold)
	d.limit = float32(maxYIQ * t * t)
	if t < 0 {
		d.limit = 0
	}
	canvas := image.Rect(0, 0, d.w, d.h)
	for _, r := range opts.IgnoreRects {
		if ir := r.Rectangle().Intersect(canvas); !ir.Empty() {
			d.ignore = append(d.ignore, ir)
		}
	}
	cell := cmp.Or(opts.MergeDistance, DefaultMergeDistance)
	d.grid = newGrid(d.w, d.h, max(cell, 1))
	return d
}

func (d *differ) ignored(x, y int) bool {
	for _, r := range d.ignore {
		if x >= r.Min.X && x < r.Max.X && y >= r.Min.Y && y < r.Max.Y {
			return true
		}
	}
	return false
}

// differs reports whether the pixels at byte offsets ib of before and ia of
// after are further apart than the threshold.
func (d *differ) differs(ib, ia int) bool {
	r1, g1, b1 := d.before.rgb(ib)
	r2, g2, b2 := d.after.rgb(ia)
	return yiq(r1, g1, b1, r2, g2, b2) > d.limit
}

// changed reports whether the canvas pixel (x, y) counts as changed.
func (d *differ) changed(x, y int) bool {
	if d.ignored(x, y) {
		return false
	}
	if x >= d.ow || y >= d.oh {
		return true
	}
	ib, ia := y*d.before.stride+4*x, y*d.after.stride+4*x
	if binary.LittleEndian.Uint32(d.before.pix[ib:]) == binary.LittleEndian.Uint32(d.after.pix[ia:]) {
		return false
	}
	return d.differs(ib, ia)
}

// compare finds the changed pixels and adds them to the grid.
func (d *differ) compare() {
	n := 4 * d.ow
	for y := range d.oh {
		ob, oa := y*d.before.stride, y*d.after.stride
		rb, ra := d.before.pix[ob:ob+n:ob+n], d.after.pix[oa:oa+n:oa+n]
		row := d.grid.row(y)
		for i := 0; i < n; i += 4 {
			if binary.LittleEndian.Uint32(rb[i:]) == binary.LittleEndian.Uint32(ra[i:]) {
				continue
			}
			if !d.differs(ob+i, oa+i) {
				continue
			}
			if x := i / 4; !d.ignored(x, y) {
				d.grid.add(row, x, y, false)
			}
		}
	}
	// Everything outside the overlap: columns right of it, rows below it.
	for y := range d.h {
		row := d.grid.row(y)
		x0 := d.ow
		if y >= d.oh {
			x0 = 0
		}
		for x := x0; x < d.w; x++ {
			if !d.ignored(x, y) {
				d.grid.add(row, x, y, true)
			}
		}
	}
}

// result turns the components into regions.
func (d *differ) result(comps []component) *Result {
	res := &Result{TotalPixels: d.w * d.h, Regions: []Rect{}}
	var boxes []image.Rectangle
	for i := range comps {
		c := &comps[i]
		c.kept = c.size || c.n >= d.minArea
		if c.kept {
			res.ChangedPixels += c.n
			boxes = append(boxes, c.box)
		}
	}
	boxes = mergeOverlapping(boxes)
	slices.SortFunc(boxes, func(a, b image.Rectangle) int {
		return cmp.Or(cmp.Compare(a.Min.Y, b.Min.Y), cmp.Compare(a.Min.X, b.Min.X))
	})
	for _, b := range boxes {
		res.Regions = append(res.Regions, rectOf(b))
	}
	if res.TotalPixels > 0 {
		res.ChangedRatio = float64(res.ChangedPixels) / float64(res.TotalPixels)
	}
	return res
}

// maxMerge bounds the boxes mergeOverlapping compares pairwise.
const maxMerge = 512

// mergeOverlapping replaces overlapping boxes by their union until none
// overlap. It leaves more than maxMerge boxes as they are.
func mergeOverlapping(boxes []image.Rectangle) []image.Rectangle {
	if len(boxes) > maxMerge {
		return boxes
	}
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(boxes); i++ {
			for j := i + 1; j < len(boxes); j++ {
				if boxes[i].Overlaps(boxes[j]) {
					boxes[i] = boxes[i].Union(boxes[j])
					boxes = slices.Delete(boxes, j, j+1)
					merged = true
					j--
				}
			}
		}
	}
	return boxes
}
