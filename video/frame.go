package video

import (
	"bytes"
	"image"
	"image/color"
	_ "image/jpeg" // screencast frames
	_ "image/png"  // screencast frames

	"github.com/auditshot/auditshot"
	"golang.org/x/image/draw"
)

// decodeFrame decodes a JPEG or PNG image, refusing images larger than
// MaxDimension on a side before decoding their pixels.
func decodeFrame(b []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: frame image is not a JPEG or PNG: %v", err)
	}
	if format != "jpeg" && format != "png" {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: frame image is %s, want JPEG or PNG", format)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxDimension || cfg.Height > MaxDimension {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: frame image is %dx%d, want 1..%d on each side", cfg.Width, cfg.Height, MaxDimension)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "video: decode frame image: %v", err)
	}
	return img, nil
}

// outputSize returns the video size for a first frame of size first and the
// configured width and height (0 for unset), as even numbers.
func outputSize(first image.Point, width, height int) (int, int, error) {
	switch {
	case width == 0 && height == 0:
		width, height = first.X, first.Y
	case width == 0:
		width = int(int64(height) * int64(first.X) / int64(first.Y))
	case height == 0:
		height = int(int64(width) * int64(first.Y) / int64(first.X))
	}
	width, height = width&^1, height&^1
	if width < 2 || height < 2 || width > MaxDimension || height > MaxDimension {
		return 0, 0, auditshot.Errorf(auditshot.EINVALID, "video: output size %dx%d out of range 2..%d", width, height, MaxDimension)
	}
	return width, height, nil
}

// fit draws img onto a new opaque w×h canvas: at its own size (cropping the
// odd last row or column) when it is at most one pixel larger, else scaled to
// fit, keeping its aspect ratio, centred on black.
func fit(img image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.Black), image.Point{}, draw.Src)
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if (sw == w || sw == w+1) && (sh == h || sh == h+1) {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
		return dst
	}
	// Scale by min(w/sw, h/sh).
	tw, th := w, sh*w/sw
	if th > h {
		tw, th = sw*h/sh, h
	}
	tw, th = max(tw, 1), max(th, 1)
	x0, y0 := (w-tw)/2, (h-th)/2
	draw.CatmullRom.Scale(dst, image.Rect(x0, y0, x0+tw, y0+th), img, b, draw.Over, nil)
	return dst
}

// packRGB24 writes img's pixels as packed RGB into dst, a whole frame of
// img's width at 3 bytes per pixel, starting at row y0. Alpha is dropped:
// img is opaque.
func packRGB24(dst []byte, img *image.RGBA, y0 int) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	for y := 0; y < h; y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+4*w]
		out := dst[(y0+y)*3*w : (y0+y+1)*3*w]
		for x, o := 0, 0; x < len(src); x, o = x+4, o+3 {
			out[o], out[o+1], out[o+2] = src[x], src[x+1], src[x+2]
		}
	}
}
