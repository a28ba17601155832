package chromium

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	_ "golang.org/x/image/webp" // decode webp for size and blank checks

	"github.com/auditshot/auditshot"
)

// Chromium cannot paint one capture taller than its maximum texture size;
// full-page captures beyond it are taken in tiles and stitched.
const (
	maxTextureSide = 16384
	tileHeight     = 4096
	// maxPixels bounds a stitched image's size in memory (~1 GiB RGBA).
	maxPixels = 256 << 20
)

// preparePixels prepares the page (lazy content, CSS, hidden and masked
// elements, script, background) for the pixels.
func (c *capture) preparePixels() error {
	o := c.o
	if o.FullPage {
		if err := c.scrollLazy(); err != nil {
			return fmt.Errorf("scroll for lazy content: %w", err)
		}
	}
	if err := c.prepare(); err != nil {
		return err
	}
	if o.OmitBackground {
		// Set last: a navigation resets it. cdproto omits a zero alpha,
		// which the browser reads as opaque; 1e-6 rounds to 0 of 255.
		transparent := &cdp.RGBA{A: 1e-6}
		if _, err := chromedp.Call(c.ctx, emulation.SetDefaultBackgroundColorOverride, emulation.SetDefaultBackgroundColorOverrideParams{Color: transparent}); err != nil {
			return fmt.Errorf("transparent background: %w", err)
		}
	}
	return nil
}

// take takes the image or PDF.
func (c *capture) take() ([]byte, string, error) {
	if c.o.Format == auditshot.FormatPDF {
		data, err := c.pdf()
		return data, "application/pdf", err
	}
	data, err := c.screenshot()
	return data, "image/" + c.o.Format, err
}

// blank reports whether an image is a single colour, and its size.
func blank(data []byte) (uniformColour bool, width, height int) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return false, 0, 0
	}
	// A single-colour frame compresses to under a byte per 150 pixels in
	// png, jpeg and webp (measured: 1/240, 1/160 and 1/480); only frames
	// within 2.5 times of that are decoded.
	if len(data) > cfg.Width*cfg.Height/64+1024 {
		return false, cfg.Width, cfg.Height
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return false, cfg.Width, cfg.Height
	}
	return uniform(img), cfg.Width, cfg.Height
}

// settle waits two animation frames and a little more, for a page that
// had not painted yet.
func (c *capture) settle() {
	_, _ = eval[bool](c.ctx, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => r(true), 100))))`)
}

// prepare applies css, hide_selectors, js and masks, in that order, so a
// mask covers what scripts drew.
func (c *capture) prepare() error {
	o := c.o
	style := o.CSS
	for _, s := range o.HideSelectors {
		style += fmt.Sprintf("\n%s { visibility: hidden !important; }", s)
	}
	if style != "" {
		if _, err := eval[bool](c.ctx, fmt.Sprintf(`(() => { const s = new CSSStyleSheet(); s.replaceSync(%s); document.adoptedStyleSheets = [...document.adoptedStyleSheets, s]; return true; })()`, jsString(style))); err != nil {
			return auditshot.Errorf(auditshot.EINVALID, "css: %v", err)
		}
		for _, s := range o.HideSelectors {
			c.ev.Redactions = append(c.ev.Redactions, auditshot.Redaction{Kind: "hide", Selector: s})
		}
	}
	if o.JS != "" {
		if _, err := eval[json.RawMessage](c.ctx, "(async () => {\n"+o.JS+"\n})()"); err != nil {
			return auditshot.Errorf(auditshot.EINVALID, "js: the script failed: %v", err)
		}
	}
	if len(o.MaskSelectors) > 0 {
		boxes, err := eval[[][]maskBox](c.ctx, maskJS(o.MaskSelectors))
		if err != nil {
			return auditshot.Errorf(auditshot.EINVALID, "mask_selectors: %v", err)
		}
		for i, sel := range o.MaskSelectors {
			if i >= len(boxes) || len(boxes[i]) == 0 {
				c.ev.Redactions = append(c.ev.Redactions, auditshot.Redaction{Kind: "mask", Selector: sel})
				continue
			}
			for _, b := range boxes[i] {
				r := auditshot.Rect{X: b.X, Y: b.Y, Width: b.W, Height: b.H}
				c.ev.Redactions = append(c.ev.Redactions, auditshot.Redaction{Kind: "mask", Selector: sel, Box: &r})
			}
		}
	}
	return nil
}

type maskBox struct {
	X, Y, W, H float64
}

// maskJS draws an opaque box over every element matching each selector and
// returns the boxes in page coordinates. Elements that are fixed to the
// viewport get a fixed box, so the box stays on them in full-page captures.
func maskJS(selectors []string) string {
	sels, _ := json.Marshal(selectors)
	return fmt.Sprintf(`(() => {
  const fixed = el => { for (; el && el !== document.documentElement; el = el.parentElement) { const p = getComputedStyle(el).position; if (p === 'fixed' || p === 'sticky') return true; } return false; };
  const layer = document.createElement('div');
  layer.setAttribute('data-auditshot', 'masks');
  layer.style.cssText = 'position:absolute;left:0;top:0;width:0;height:0;overflow:visible;z-index:2147483647;pointer-events:none;';
  const out = [];
  for (const sel of %s) {
    const boxes = [];
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const fx = fixed(el);
      const x = r.left + (fx ? 0 : scrollX), y = r.top + (fx ? 0 : scrollY);
      const m = document.createElement('div');
      m.style.cssText = 'position:' + (fx ? 'fixed' : 'absolute') + ';left:' + x + 'px;top:' + y + 'px;width:' + r.width + 'px;height:' + r.height + 'px;background:#000;opacity:1;z-index:2147483647;pointer-events:none;margin:0;padding:0;border:0;transform:none;filter:none;';
      (fx ? document.documentElement : layer).appendChild(m);
      boxes.push({X: r.left + scrollX, Y: r.top + scrollY, W: r.width, H: r.height});
    }
    out.push(boxes);
  }
  document.documentElement.appendChild(layer);
  return new Promise(res => requestAnimationFrame(() => requestAnimationFrame(() => res(out))));
})()`, sels)
}

// redactDOM empties every element a mask covers, after the pixels are
// taken: its children and text are replaced by "[redacted]" and its
// attributes other than id, class and style removed (an input's value, a
// link's href, an image's src), so the DOM snapshot keeps the page's
// structure but not what the masks hide.
func (c *capture) redactDOM() error {
	sels, _ := json.Marshal(c.o.MaskSelectors)
	_, err := eval[bool](c.ctx, fmt.Sprintf(`(() => {
  for (const sel of %s) {
    for (const el of document.querySelectorAll(sel)) {
      for (const a of [...el.attributes]) if (!['id', 'class', 'style'].includes(a.name)) el.removeAttribute(a.name);
      if ('value' in el) el.value = '';
      el.replaceChildren(document.createTextNode('[redacted]'));
    }
  }
  return true;
})()`, sels))
	if err != nil {
		return fmt.Errorf("redact the DOM snapshot: %w", err)
	}
	return nil
}

// scrollLazy scrolls down the page a viewport at a time so lazy content
// loads, up to max_height, then back to the top.
func (c *capture) scrollLazy() error {
	js := fmt.Sprintf(`(async () => {
  const step = Math.max(innerHeight, 200), limit = %d, until = Date.now() + %d;
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)));
  for (let y = 0; y < Math.min(document.documentElement.scrollHeight, limit) && Date.now() < until; y += step) {
    scrollTo(0, y); await frame();
  }
  scrollTo(0, 0); await frame();
  return true;
})()`, c.o.MaxHeight, max(time.Until(c.waitDeadline).Milliseconds(), 2000))
	_, err := eval[bool](c.ctx, js)
	return err
}

// screenshot takes the image for the viewport, full page, element or clip.
func (c *capture) screenshot() ([]byte, error) {
	o := c.o
	p := page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormat(o.Format)}
	if o.Format != auditshot.FormatPNG {
		p.Quality = new(int64(o.Quality))
	}
	switch {
	case o.Clip != nil:
		p.Clip = &page.Viewport{X: o.Clip.X, Y: o.Clip.Y, Width: o.Clip.Width, Height: o.Clip.Height, Scale: 1}
		p.CaptureBeyondViewport = new(true)
	case o.Selector != "":
		box, err := eval[*maskBox](c.ctx, elementBoxJS(o.Selector))
		if err != nil {
			return nil, auditshot.Errorf(auditshot.EINVALID, "selector: %v", err)
		}
		if box == nil {
			return nil, auditshot.Errorf(auditshot.EINVALID, "selector: %q matched no visible element", o.Selector)
		}
		p.Clip = &page.Viewport{X: box.X, Y: box.Y, Width: box.W, Height: box.H, Scale: 1}
		p.CaptureBeyondViewport = new(true)
	case o.FullPage:
		return c.fullPage(p)
	}
	res, err := chromedp.Call(c.ctx, page.CaptureScreenshot, p)
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	return res.Data, nil
}

func elementBoxJS(sel string) string {
	return fmt.Sprintf(`(() => {
  const el = document.querySelector(%s);
  if (!el) return null;
  el.scrollIntoView({block: 'nearest', inline: 'nearest'});
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return null;
  return {X: r.left + scrollX, Y: r.top + scrollY, W: r.width, H: r.height};
})()`, jsString(sel))
}

// fullPage captures the whole document up to max_height, in tiles when it
// is taller than the browser can paint at once.
func (c *capture) fullPage(p page.CaptureScreenshotParams) ([]byte, error) {
	o := c.o
	m, err := chromedp.Call(c.ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("layout metrics: %w", err)
	}
	// The viewport's width (no horizontal overflow), the document's height.
	width, height := float64(o.Width), float64(o.Height)
	if m.CSSContentSize != nil {
		height = math.Max(height, math.Ceil(m.CSSContentSize.Height))
	}
	c.ev.ContentHeight = int(height)
	if height > float64(o.MaxHeight) {
		height = float64(o.MaxHeight)
		c.ev.Truncated = true
	}
	dpr := o.DeviceScaleFactor
	if limit := math.Floor(maxPixels / (width * dpr * dpr)); height > limit {
		height = limit
		c.ev.Truncated = true
	}
	p.CaptureBeyondViewport = new(true)
	if height*dpr <= maxTextureSide {
		p.Clip = &page.Viewport{Width: width, Height: height, Scale: 1}
		res, err := chromedp.Call(c.ctx, page.CaptureScreenshot, p)
		if err != nil {
			return nil, fmt.Errorf("screenshot: %w", err)
		}
		return res.Data, nil
	}
	if o.Format == auditshot.FormatWebP {
		return nil, auditshot.Errorf(auditshot.EINVALID, "format: webp full-page captures are limited to %d device pixels of height; use png or jpeg, or lower max_height", maxTextureSide)
	}
	return c.tiles(width, height, dpr)
}

// tiles captures [0,height) in bands and stitches them.
func (c *capture) tiles(width, height, dpr float64) ([]byte, error) {
	dst := image.NewRGBA(image.Rect(0, 0, int(math.Round(width*dpr)), int(math.Round(height*dpr))))
	for y := 0.0; y < height; y += tileHeight {
		h := math.Min(tileHeight, height-y)
		res, err := chromedp.Call(c.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{X: 0, Y: y, Width: width, Height: h, Scale: 1},
			CaptureBeyondViewport: new(true),
		})
		if err != nil {
			return nil, fmt.Errorf("screenshot tile at %v: %w", y, err)
		}
		tile, err := png.Decode(bytes.NewReader(res.Data))
		if err != nil {
			return nil, fmt.Errorf("decode tile at %v: %w", y, err)
		}
		top := int(math.Round(y * dpr))
		draw.Draw(dst, image.Rect(0, top, dst.Bounds().Dx(), top+tile.Bounds().Dy()), tile, tile.Bounds().Min, draw.Src)
	}
	var buf bytes.Buffer
	var err error
	if c.o.Format == auditshot.FormatJPEG {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: c.o.Quality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, dst)
	}
	return buf.Bytes(), err
}

func (c *capture) pdf() ([]byte, error) {
	p := c.o.PDF
	size := auditshot.PaperSizes[p.Paper]
	params := page.PrintToPDFParams{
		Landscape:       new(p.Landscape),
		PrintBackground: new(p.PrintBackground),
		Scale:           p.Scale,
		PaperWidth:      size[0],
		PaperHeight:     size[1],
		PageRanges:      p.PageRanges,
	}
	if p.Margin != nil {
		params.MarginTop, params.MarginBottom, params.MarginLeft, params.MarginRight = p.Margin, p.Margin, p.Margin, p.Margin
	}
	res, err := chromedp.Call(c.ctx, page.PrintToPDF, params)
	if err != nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "pdf: the browser could not print the page: %v", err)
	}
	return res.Data, nil
}

// uniform reports whether every pixel of img has the same colour.
func uniform(img image.Image) bool {
	b := img.Bounds()
	if b.Empty() {
		return true
	}
	r0, g0, b0, a0 := img.At(b.Min.X, b.Min.Y).RGBA()
	var pix []byte
	var stride int
	switch m := img.(type) {
	case *image.RGBA:
		pix, stride = m.Pix, m.Stride
	case *image.NRGBA:
		pix, stride = m.Pix, m.Stride
	}
	if pix != nil {
		first := [4]uint8(pix[0:4])
		for y := 0; y < b.Dy(); y++ {
			row := pix[y*stride : y*stride+b.Dx()*4]
			for x := 0; x < len(row); x += 4 {
				if [4]uint8(row[x:x+4]) != first {
					return false
				}
			}
		}
		return true
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 || a != a0 {
				return false
			}
		}
	}
	return true
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
