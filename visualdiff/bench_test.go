package visualdiff_test

import (
	"image"
	"testing"

	"github.com/auditshot/auditshot/visualdiff"
)

func benchDiff(b *testing.B, before, after image.Image) {
	b.Helper()
	n := before.Bounds().Dx() * before.Bounds().Dy()
	b.SetBytes(int64(4 * n))
	for b.Loop() {
		if _, err := visualdiff.Diff(before, after, visualdiff.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiff1280x800(b *testing.B) {
	benchDiff(b, page(false), page(true))
}

// BenchmarkDiff1280x800JPEG diffs a JPEG copy: every pixel differs a little
// and goes through the colour distance.
func BenchmarkDiff1280x800JPEG(b *testing.B) {
	before := page(false)
	benchDiff(b, before, recompress(b, before, 85))
}

func BenchmarkDiff1280x4000(b *testing.B) {
	tall := grown(page(false), 3200)
	after := clone(tall)
	fill(after, badge, green)
	fill(after, image.Rect(80, 3000, 900, 3100), green)
	benchDiff(b, tall, after)
}

func BenchmarkPHash(b *testing.B) {
	m := page(false)
	for b.Loop() {
		visualdiff.PHash(m)
	}
}

func BenchmarkDHash(b *testing.B) {
	m := page(false)
	for b.Loop() {
		visualdiff.DHash(m)
	}
}
