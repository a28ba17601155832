package visualdiff_test

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/visualdiff"
	"github.com/google/go-cmp/cmp"
)

// MustDiff calls Diff and fails the test on error.
func MustDiff(tb testing.TB, before, after image.Image, opts visualdiff.Options) *visualdiff.Result {
	tb.Helper()
	res, err := visualdiff.Diff(before, after, opts)
	if err != nil {
		tb.Fatalf("Diff: %v", err)
	}
	return res
}

// rect converts an image.Rectangle to a visualdiff.Rect.
func rect(r image.Rectangle) visualdiff.Rect {
	return visualdiff.Rect{X: r.Min.X, Y: r.Min.Y, Width: r.Dx(), Height: r.Dy()}
}

// slack is how much larger than the changed rectangle a region may be: the
// antialiased edge of what was drawn.
const slack = 2

// near reports whether got contains want and is at most slack pixels larger
// on every side.
func near(got, want image.Rectangle) bool {
	return want.In(got) && got.In(want.Inset(-slack))
}

func TestDiff(t *testing.T) {
	before, after := page(false), page(true)
	area := badge.Dx() * badge.Dy()
	perimeter := 2 * (badge.Dx() + badge.Dy() + 4)

	// A second change far from the badge: a footer word.
	footer := image.Rect(100, 772, 160, 784)
	farAfter := clone(after)
	fill(farAfter, footer, textGrey)

	// A second change 6 px right of the badge, closer than the merge
	// distance.
	close := image.Rect(badge.Max.X+6, badge.Min.Y, badge.Max.X+16, badge.Max.Y)
	closeAfter := clone(after)
	fill(closeAfter, close, textGrey)

	// A single changed pixel and a faint change.
	speck := clone(before)
	speck.Set(700, 700, color.RGBA{0, 0, 0, 255})
	faint := clone(before)
	fill(faint, image.Rect(700, 700, 800, 720), color.RGBA{248, 248, 248, 255})

	shorter := before.SubImage(image.Rect(0, 0, pageW, 700))

	nrgba := image.NewNRGBA(before.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), before, image.Point{}, draw.Src)

	// Sub-images whose origin is not (0, 0): coordinates are from their
	// top-left corner.
	sub := image.Rect(600, 100, 1200, 500)

	tests := []struct {
		name          string
		before, after image.Image
		opts          visualdiff.Options
		// regions are the changed rectangles, each of which must be
		// covered by one region at most slack px larger.
		regions []image.Rectangle
		// changed is the expected number of changed pixels, give or take
		// margin.
		changed, margin int
		identical       bool
	}{
		{name: "Identical", before: before, after: clone(before), identical: true},
		{name: "Badge", before: before, after: after, regions: []image.Rectangle{badge}, changed: area, margin: perimeter},
		{name: "TwoApart", before: before, after: farAfter,
			regions: []image.Rectangle{badge, footer}, changed: area + footer.Dx()*footer.Dy(), margin: perimeter},
		{name: "TwoClose", before: before, after: closeAfter,
			regions: []image.Rectangle{badge.Union(close)}, changed: area + close.Dx()*close.Dy(), margin: perimeter},
		{name: "TwoCloseNoMerge", before: before, after: closeAfter, opts: visualdiff.Options{MergeDistance: 4},
			regions: []image.Rectangle{badge, close}, changed: area + close.Dx()*close.Dy(), margin: perimeter},
		{name: "Ignored", before: before, after: after,
			opts: visualdiff.Options{IgnoreRects: []visualdiff.Rect{rect(badge.Inset(-1))}}, identical: true},
		{name: "PartlyIgnored", before: before, after: after,
			opts:    visualdiff.Options{IgnoreRects: []visualdiff.Rect{rect(image.Rect(0, 0, badge.Min.X+60, pageH))}},
			regions: []image.Rectangle{image.Rect(badge.Min.X+60, badge.Min.Y, badge.Max.X, badge.Max.Y)}, changed: area / 2, margin: perimeter},
		{name: "Speck", before: before, after: speck, identical: true},
		{name: "SpeckKept", before: before, after: speck, opts: visualdiff.Options{MinRegionArea: -1},
			regions: []image.Rectangle{image.Rect(700, 700, 701, 701)}, changed: 1},
		{name: "Faint", before: before, after: faint, identical: true},
		{name: "FaintExact", before: before, after: faint, opts: visualdiff.Options{Threshold: -1},
			regions: []image.Rectangle{image.Rect(700, 700, 800, 720)}, changed: 2000},
		{name: "AfterTaller", before: before, after: grown(before, 100),
			regions: []image.Rectangle{image.Rect(0, pageH, pageW, pageH+100)}, changed: pageW * 100},
		{name: "AfterShorter", before: before, after: shorter,
			regions: []image.Rectangle{image.Rect(0, 700, pageW, pageH)}, changed: pageW * 100},
		{name: "NRGBA", before: nrgba, after: before, identical: true},
		{name: "SubImage", before: before.SubImage(sub), after: after.SubImage(sub),
			regions: []image.Rectangle{badge.Sub(sub.Min)}, changed: area, margin: perimeter},
		{name: "Empty", before: image.NewRGBA(image.Rectangle{}), after: image.NewGray(image.Rectangle{}), identical: true},
		{name: "FromEmpty", before: image.NewRGBA(image.Rectangle{}), after: image.NewGray(image.Rect(0, 0, 3, 2)),
			regions: []image.Rectangle{image.Rect(0, 0, 3, 2)}, changed: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := MustDiff(t, tt.before, tt.after, tt.opts)
			if res.Identical != tt.identical {
				t.Errorf("Identical = %v, want %v", res.Identical, tt.identical)
			}
			if d := res.ChangedPixels - tt.changed; d < -tt.margin || d > tt.margin {
				t.Errorf("ChangedPixels = %d, want %d ± %d", res.ChangedPixels, tt.changed, tt.margin)
			}
			if want := float64(res.ChangedPixels) / float64(max(res.TotalPixels, 1)); res.ChangedRatio != want {
				t.Errorf("ChangedRatio = %v, want %v", res.ChangedRatio, want)
			}
			if len(res.Regions) != len(tt.regions) {
				t.Fatalf("Regions = %v, want %d regions near %v", res.Regions, len(tt.regions), tt.regions)
			}
			for i, want := range tt.regions {
				if got := res.Regions[i].Rectangle(); !near(got, want) {
					t.Errorf("Regions[%d] = %v, want %v or at most %d px larger", i, got, want, slack)
				}
			}
			bs, as := tt.before.Bounds().Size(), tt.after.Bounds().Size()
			wantSizes := []visualdiff.Size{{Width: bs.X, Height: bs.Y}, {Width: as.X, Height: as.Y}}
			if diff := cmp.Diff([]visualdiff.Size{res.Before, res.After}, wantSizes); diff != "" {
				t.Errorf("sizes (-got +want):\n%s", diff)
			}
			if got := res.Image.Bounds(); got != image.Rect(0, 0, as.X, as.Y) {
				t.Errorf("Image.Bounds() = %v, want the after size %v", got, as)
			}
		})
	}
}

func TestDiffJPEG(t *testing.T) {
	before := page(false)
	res := MustDiff(t, before, recompress(t, before, 85), visualdiff.Options{})
	if !res.Identical && res.ChangedRatio >= 0.001 {
		t.Errorf("JPEG q85 copy: ChangedRatio = %v, regions %v; want Identical or < 0.001", res.ChangedRatio, res.Regions)
	}
	t.Logf("JPEG q85 copy: identical %v, %d changed pixels", res.Identical, res.ChangedPixels)
}

func TestDiffErrors(t *testing.T) {
	m := page(false)
	tests := []struct {
		name          string
		before, after image.Image
		opts          visualdiff.Options
		code          string
	}{
		{"NilBefore", nil, m, visualdiff.Options{}, auditshot.EINVALID},
		{"NilAfter", m, nil, visualdiff.Options{}, auditshot.EINVALID},
		{"Threshold", m, m, visualdiff.Options{Threshold: 1.5}, auditshot.EINVALID},
		{"TooLarge", m, huge{}, visualdiff.Options{}, auditshot.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := visualdiff.Diff(tt.before, tt.after, tt.opts)
			if got := auditshot.ErrorCode(err); got != tt.code {
				t.Errorf("Diff error = %v, want code %q", err, tt.code)
			}
			var e *auditshot.Error
			if !errors.As(err, &e) {
				t.Errorf("error %v is not an *auditshot.Error", err)
			}
		})
	}
}

// huge is an image too large to diff; it has no pixels.
type huge struct{}

func (huge) ColorModel() color.Model { return color.RGBAModel }
func (huge) Bounds() image.Rectangle { return image.Rect(0, 0, 10000, 10000) }
func (huge) At(x, y int) color.Color { return color.RGBA{} }

// outputDir is where tests write images for people to look at.
func outputDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("AUDITSHOT_TEST_OUTPUT"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// grey reports whether c is a shade of grey: the faded, unchanged page.
func grey(c color.RGBA) bool { return c.R == c.G && c.G == c.B }

var boxColour = color.RGBA{230, 0, 0, 255}

func TestDiffImage(t *testing.T) {
	before, after := page(false), page(true)
	fill(after, image.Rect(100, 772, 160, 784), textGrey) // a second region
	res := MustDiff(t, before, after, visualdiff.Options{})

	dir := outputDir(t)
	for name, m := range map[string]image.Image{"before": before, "after": after, "diff": res.Image} {
		b, err := visualdiff.EncodePNG(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote before.png, after.png, diff.png to %s", dir)

	img := res.Image
	if img.Bounds() != after.Bounds() {
		t.Fatalf("diff image bounds %v, want %v", img.Bounds(), after.Bounds())
	}
	if len(res.Regions) != 2 {
		t.Fatalf("Regions = %v, want 2", res.Regions)
	}
	inRegion := func(p image.Point, grow int) bool {
		for _, r := range res.Regions {
			if p.In(r.Rectangle().Inset(-grow)) {
				return true
			}
		}
		return false
	}
	highlighted := make([]int, len(res.Regions))
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			c, p := img.RGBAAt(x, y), image.Pt(x, y)
			switch {
			case !inRegion(p, 2):
				if !grey(c) {
					t.Fatalf("pixel %v outside the regions is %v, want grey", p, c)
				}
			case !inRegion(p, 0):
				// The outline ring.
				if c != boxColour {
					t.Fatalf("pixel %v on a region's outline is %v, want %v", p, c, boxColour)
				}
			default:
				if !grey(c) && c != boxColour {
					for i, r := range res.Regions {
						if p.In(r.Rectangle()) {
							highlighted[i]++
						}
					}
				}
			}
		}
	}
	for i, n := range highlighted {
		if area := res.Regions[i].Width * res.Regions[i].Height; n < area/2 {
			t.Errorf("region %v has %d highlighted pixels, want most of its %d", res.Regions[i], n, area)
		}
	}
}

func TestFromPage(t *testing.T) {
	tests := []struct {
		name  string
		r     auditshot.Rect
		scale float64
		want  visualdiff.Rect
	}{
		{"One", auditshot.Rect{X: 10, Y: 20, Width: 30, Height: 40}, 1, visualdiff.Rect{X: 10, Y: 20, Width: 30, Height: 40}},
		{"ZeroScale", auditshot.Rect{X: 10, Y: 20, Width: 30, Height: 40}, 0, visualdiff.Rect{X: 10, Y: 20, Width: 30, Height: 40}},
		{"Two", auditshot.Rect{X: 10, Y: 20, Width: 30, Height: 40}, 2, visualdiff.Rect{X: 20, Y: 40, Width: 60, Height: 80}},
		{"Outwards", auditshot.Rect{X: 10.5, Y: 20.2, Width: 1, Height: 1}, 2.625, visualdiff.Rect{X: 27, Y: 53, Width: 4, Height: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(visualdiff.FromPage(tt.r, tt.scale), tt.want); diff != "" {
				t.Errorf("FromPage (-got +want):\n%s", diff)
			}
		})
	}
}
