package visualdiff_test

import (
	"image"
	"testing"

	"github.com/auditshot/auditshot/visualdiff"
)

// fuzzImage builds an image of up to 16x16 pixels from data: a width and a
// height byte, then 4 bytes per pixel (repeating data when it runs out). odd
// selects NRGBA instead of RGBA.
func fuzzImage(data []byte, odd bool) (image.Image, []byte) {
	if len(data) < 2 {
		return image.NewRGBA(image.Rectangle{}), nil
	}
	w, h := int(data[0]%17), int(data[1]%17)
	data = data[2:]
	pix := make([]byte, 4*w*h)
	for i := range pix {
		if len(data) > 0 {
			pix[i] = data[i%len(data)]
		}
	}
	rest := data[min(len(data), len(pix)):]
	r := image.Rect(0, 0, w, h)
	if odd {
		return &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: r}, rest
	}
	return &image.RGBA{Pix: pix, Stride: 4 * w, Rect: r}, rest
}

func FuzzDiff(f *testing.F) {
	f.Add([]byte{4, 4, 0, 0, 0, 255, 4, 4, 255, 255, 255, 255}, uint8(25), int8(0), int8(0), uint8(0))
	f.Add([]byte{16, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, uint8(0), int8(-1), int8(-1), uint8(2))
	f.Add([]byte{0, 5, 3, 0, 9, 9, 9}, uint8(255), int8(3), int8(1), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, threshold uint8, minArea, merge int8, ignore uint8) {
		before, rest := fuzzImage(data, ignore&1 == 1)
		after, _ := fuzzImage(rest, ignore&2 == 2)
		opts := visualdiff.Options{
			Threshold:     float64(threshold) / 255,
			MinRegionArea: int(minArea),
			MergeDistance: int(merge),
		}
		if ignore&4 == 4 {
			opts.IgnoreRects = []visualdiff.Rect{{X: int(ignore>>4) - 4, Y: 2, Width: 5, Height: int(ignore >> 3)}}
		}
		res, err := visualdiff.Diff(before, after, opts)
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		if res.ChangedRatio < 0 || res.ChangedRatio > 1 {
			t.Errorf("ChangedRatio = %v, want in [0, 1]", res.ChangedRatio)
		}
		if res.ChangedPixels < 0 || res.ChangedPixels > res.TotalPixels {
			t.Errorf("ChangedPixels = %d of %d", res.ChangedPixels, res.TotalPixels)
		}
		canvas := image.Rect(0, 0, max(res.Before.Width, res.After.Width), max(res.Before.Height, res.After.Height))
		if res.TotalPixels != canvas.Dx()*canvas.Dy() {
			t.Errorf("TotalPixels = %d, want %d", res.TotalPixels, canvas.Dx()*canvas.Dy())
		}
		for i, r := range res.Regions {
			if rr := r.Rectangle(); rr.Empty() || !rr.In(canvas) {
				t.Errorf("region %v is empty or outside the canvas %v", r, canvas)
			}
			if i > 0 {
				if p := res.Regions[i-1]; p.Y > r.Y || p.Y == r.Y && p.X > r.X {
					t.Errorf("regions %v and %v are out of order", p, r)
				}
			}
		}
		if res.Identical != (res.ChangedPixels == 0 && res.Before == res.After) {
			t.Errorf("Identical = %v with %d changed pixels, sizes %v %v", res.Identical, res.ChangedPixels, res.Before, res.After)
		}
		if res.Image.Bounds() != after.Bounds() {
			t.Errorf("Image.Bounds() = %v, want %v", res.Image.Bounds(), after.Bounds())
		}
		visualdiff.PHash(before)
		visualdiff.DHash(after)
	})
}
