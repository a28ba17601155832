package chromium

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/auditshot/auditshot"
)

// pollInterval is how often a waiting step re-checks the page.
const pollInterval = 50 * time.Millisecond

// step runs one step under ctx, which carries its deadline.
func (q *sequence) step(ctx context.Context, st auditshot.Step, r *auditshot.StepResult) error {
	switch st.Action {
	case auditshot.ActionNavigate:
		return q.navigate(ctx, st)
	case auditshot.ActionClick, auditshot.ActionDblClick:
		el, err := q.locate(ctx, st.Selector, false)
		if err != nil {
			return err
		}
		count := 1
		if st.Action == auditshot.ActionDblClick {
			count = 2
		}
		before := q.c.rec.navigation()
		if err := q.click(ctx, el, count); err != nil {
			return err
		}
		return q.settle(ctx, st, before)
	case auditshot.ActionHover:
		el, err := q.locate(ctx, st.Selector, false)
		if err != nil {
			return err
		}
		return q.mouse(ctx, input.DispatchMouseEventTypeMouseMoved, el, 0)
	case auditshot.ActionFill:
		return q.fill(ctx, st)
	case auditshot.ActionSelect:
		if _, err := q.locate(ctx, st.Selector, false); err != nil {
			return err
		}
		return q.script(ctx, selectJS(st.Selector, st.Value))
	case auditshot.ActionCheck:
		return q.check(ctx, st)
	case auditshot.ActionPress:
		before := q.c.rec.navigation()
		if err := q.press(ctx, st.Key); err != nil {
			return err
		}
		return q.settle(ctx, st, before)
	case auditshot.ActionScroll:
		if st.Selector != "" {
			_, err := q.locate(ctx, st.Selector, false)
			return err
		}
		_, err := eval[bool](ctx, fmt.Sprintf(`(scrollBy(%d, %d), %s)`, st.X, st.Y, paintedJS))
		return err
	case auditshot.ActionWait:
		t := time.NewTimer(time.Duration(st.MS) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case auditshot.ActionWaitFor:
		cond, what := q.condition(st)
		if err := q.poll(ctx, cond); err != nil {
			return timedOut(ctx, err, "%s: %s did not appear within %d ms", st.Label, what, st.Timeout)
		}
		return nil
	case auditshot.ActionAssertText:
		if err := q.poll(ctx, textJS(st.Selector, st.Text)); err != nil {
			where := "the page"
			if st.Selector != "" {
				where = st.Selector
			}
			return timedOut(ctx, err, "assert_text: %q not found in %s within %d ms", st.Text, where, st.Timeout)
		}
		return nil
	case auditshot.ActionAssertURL:
		if err := q.poll(ctx, urlJS(st.URL)); err != nil {
			return timedOut(ctx, err, "assert_url: the page's URL %q does not contain %q (waited %d ms)", q.c.rec.currentURL(), st.URL, st.Timeout)
		}
		return nil
	case auditshot.ActionAssertVisible:
		if err := q.poll(ctx, visibleJS(st.Selector)); err != nil {
			return timedOut(ctx, err, "assert_visible: %s is not visible (waited %d ms)", st.Selector, st.Timeout)
		}
		return nil
	case auditshot.ActionScreenshot:
		shot, err := q.screenshot(st.Name)
		r.Screenshot = shot
		return err
	case auditshot.ActionPDF:
		res, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: new(true)})
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		r.Screenshot = &auditshot.ScreenshotData{Data: res.Data, Name: st.Name, MediaType: "application/pdf"}
		return nil
	case auditshot.ActionEvaluate:
		v, err := eval[json.RawMessage](ctx, "(async () => {\n"+st.Script+"\n})()")
		if err != nil {
			var se *scriptError
			if errors.As(err, &se) {
				return failf("evaluate: %v", err)
			}
			return err
		}
		r.Result = truncate(string(v), auditshot.MaxStepResultBytes)
		return nil
	}
	return failf("%s: unknown action", st.Action)
}

// settle waits for a navigation the step started (a link, a submitted form)
// to finish: the new document reaches the flow's wait_until state, or the
// load stops without a new document (a download, a 204, a cancelled or
// same-document navigation). A step that started none returns at once.
func (q *sequence) settle(ctx context.Context, st auditshot.Step, before navState) error {
	// One round trip through the page's task queue: a navigation the input
	// scheduled (form submission runs in a task) has been requested by then.
	// It fails when the page navigated away meanwhile, which the counters
	// below see too.
	_, _ = eval[bool](ctx, `new Promise(r => setTimeout(() => r(true), 0))`)
	rec := q.c.rec
	if rec.navigation().requested == before.requested {
		return nil
	}
	for {
		changed := rec.wait()
		now := rec.navigation()
		if now.loader != before.loader {
			break // a new document: wait for its load state below
		}
		if now.stopped > before.stopped {
			return nil // loading ended without a new document
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return failf("%s: the navigation it started did not commit within %d ms", st.Label, st.Timeout)
		}
	}
	if !q.c.waitLifecycle(ctx) {
		return failf("%s: the page it led to did not reach %s within %d ms", st.Label, q.o.WaitUntil, st.Timeout)
	}
	return nil
}

// timedOut returns the step failure msg when ctx ended, else err.
func timedOut(ctx context.Context, err error, format string, args ...any) error {
	var se *stepError
	if ctx.Err() != nil || errors.As(err, &se) {
		return failf(format, args...)
	}
	return err
}

// navigate loads a URL the egress policy allows and waits for its load
// state.
func (q *sequence) navigate(ctx context.Context, st auditshot.Step) error {
	c := q.c
	if err := c.s.egress.Check(ctx, st.URL); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := c.navigateTo(st.URL, deadline); err != nil {
		var ae *auditshot.Error
		if errors.As(err, &ae) && ae.Code == auditshot.ETIMEOUT {
			return failf("navigate: %s did not commit within %d ms", st.URL, st.Timeout)
		}
		return err
	}
	if !c.waitLifecycle(ctx) {
		return failf("navigate: %s did not reach %s within %d ms", st.URL, q.o.WaitUntil, st.Timeout)
	}
	return c.refusedDocument()
}

// element is the centre of an element in the viewport and its box in the
// page.
type element struct {
	X, Y             float64 // centre, viewport coordinates
	Left, Top, W, H  float64 // box, page coordinates
	Missing, Invalid bool
	Error            string
}

// locate waits until sel matches a visible element, scrolls it into view
// and returns where it is. With secret, the element is masked (and its
// text drawn as discs) and the mask painted before locate returns.
func (q *sequence) locate(ctx context.Context, sel string, secret bool) (*element, error) {
	deadline, _ := ctx.Deadline()
	var last *element
	err := q.retry(ctx, func() (bool, error) {
		el, err := eval[*element](ctx, locateJS(sel, time.Until(deadline), secret))
		if err != nil {
			return false, err
		}
		last = el
		return el != nil && !el.Missing && !el.Invalid && el.Error == "", nil
	})
	switch {
	case last != nil && last.Error != "":
		return nil, failf("%s: %s", sel, last.Error)
	case err == nil:
		return last, nil
	case last != nil && last.Missing:
		return nil, failf("%s: no element matches", sel)
	case last != nil && last.Invalid:
		return nil, failf("%s: the element is not visible", sel)
	}
	return nil, err
}

// retry runs try until it reports done, ctx ends or it fails with a script
// error. Errors of a page that navigated away meanwhile ("execution
// context was destroyed") are retried once the page changes.
func (q *sequence) retry(ctx context.Context, try func() (bool, error)) error {
	for {
		changed := q.c.rec.wait()
		done, err := try()
		if done && err == nil {
			return nil
		}
		var se *scriptError
		if errors.As(err, &se) {
			return failf("%v", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			if err != nil {
				return err
			}
			return ctx.Err()
		}
	}
}

// poll waits until the JavaScript condition cond (an expression) is true.
func (q *sequence) poll(ctx context.Context, cond string) error {
	deadline, _ := ctx.Deadline()
	return q.retry(ctx, func() (bool, error) {
		return eval[bool](ctx, pollJS(cond, time.Until(deadline)))
	})
}

func (q *sequence) condition(st auditshot.Step) (cond, what string) {
	switch {
	case st.Selector != "":
		return fmt.Sprintf(`!!document.querySelector(%s)`, jsString(st.Selector)), st.Selector
	case st.Text != "":
		return textJS("", st.Text), fmt.Sprintf("text %q", st.Text)
	}
	return urlJS(st.URL), fmt.Sprintf("a URL containing %q", st.URL)
}

func textJS(sel, text string) string {
	root := "document.body"
	if sel != "" {
		root = "document.querySelector(" + jsString(sel) + ")"
	}
	return fmt.Sprintf(`(() => { const el = %s; return !!el && (el.innerText || el.textContent || '').includes(%s); })()`, root, jsString(text))
}

func urlJS(u string) string {
	return fmt.Sprintf(`location.href.includes(%s)`, jsString(u))
}

func visibleJS(sel string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; const r = el.getBoundingClientRect(), s = getComputedStyle(el); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0; })()`, jsString(sel))
}

// pollJS resolves true as soon as cond holds, false after d.
func pollJS(cond string, d time.Duration) string {
	return fmt.Sprintf(`new Promise((resolve, reject) => {
  const until = Date.now() + %d;
  const tick = () => {
    let ok;
    try { ok = %s; } catch (e) { return reject(e); }
    if (ok) return resolve(true);
    if (Date.now() >= until) return resolve(false);
    setTimeout(tick, %d);
  };
  tick();
})`, max(d.Milliseconds(), 1), cond, pollInterval.Milliseconds())
}

// locateJS resolves with the element's position once sel matches a
// visible element, or with what was wrong after d.
func locateJS(sel string, d time.Duration, secret bool) string {
	return fmt.Sprintf(`new Promise(resolve => {
  const sel = %s, until = Date.now() + %d, secret = %t;
  const tick = () => {
    let el;
    try { el = document.querySelector(sel); } catch (e) { return resolve({Error: 'invalid selector: ' + e.message}); }
    let invalid = false;
    if (el) {
      el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});
      const r = el.getBoundingClientRect(), s = getComputedStyle(el);
      if (r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none') {
        const out = {X: r.left + r.width / 2, Y: r.top + r.height / 2, Left: r.left + scrollX, Top: r.top + scrollY, W: r.width, H: r.height};
        if (!secret) return resolve(out);
        window[%s].secret(el);
        return requestAnimationFrame(() => requestAnimationFrame(() => resolve(out)));
      }
      invalid = true;
    }
    if (Date.now() >= until) return resolve({Missing: !el, Invalid: invalid});
    setTimeout(tick, %d);
  };
  tick();
})`, jsString(sel), max(d.Milliseconds(), 1), secret, jsString(masksKey), pollInterval.Milliseconds())
}

func (q *sequence) mouse(ctx context.Context, typ input.DispatchMouseEventType, el *element, count int64) error {
	p := input.DispatchMouseEventParams{Type: typ, X: el.X, Y: el.Y}
	if typ != input.DispatchMouseEventTypeMouseMoved {
		p.Button, p.ClickCount = input.MouseButtonLeft, count
		if typ == input.DispatchMouseEventTypeMousePressed {
			p.Buttons = 1
		}
	}
	_, err := chromedp.Call(ctx, input.DispatchMouseEvent, p)
	return err
}

func (q *sequence) click(ctx context.Context, el *element, count int) error {
	if err := q.mouse(ctx, input.DispatchMouseEventTypeMouseMoved, el, 0); err != nil {
		return err
	}
	for n := int64(1); n <= int64(count); n++ {
		if err := q.mouse(ctx, input.DispatchMouseEventTypeMousePressed, el, n); err != nil {
			return err
		}
		if err := q.mouse(ctx, input.DispatchMouseEventTypeMouseReleased, el, n); err != nil {
			return err
		}
	}
	return nil
}

// fill focuses the field, selects its content and types the value over it.
// A secret field is masked before the first character is typed.
func (q *sequence) fill(ctx context.Context, st auditshot.Step) error {
	el, err := q.locate(ctx, st.Selector, st.Secret)
	if err != nil {
		return err
	}
	if st.Secret {
		box := auditshot.Rect{X: el.Left, Y: el.Top, Width: el.W, Height: el.H}
		q.secret = append(q.secret, auditshot.Redaction{Kind: "secret", Selector: st.Selector, Box: &box})
	}
	if err := q.script(ctx, focusJS(st.Selector)); err != nil {
		return err
	}
	if st.Value == "" {
		return q.press(ctx, "Delete")
	}
	_, err = chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: st.Value})
	return err
}

func focusJS(sel string) string {
	return fmt.Sprintf(`(() => {
  const el = document.querySelector(%s);
  if (!el) return 'no element matches';
  el.focus();
  if (typeof el.select === 'function') el.select();
  else { const r = document.createRange(); r.selectNodeContents(el); const s = getSelection(); s.removeAllRanges(); s.addRange(r); }
  return document.activeElement === el || el.contains(document.activeElement) ? '' : 'the element cannot take input';
})()`, jsString(sel))
}

func selectJS(sel, value string) string {
	return fmt.Sprintf(`(() => {
  const el = document.querySelector(%s), v = %s;
  if (!el) return 'no element matches';
  if (el.tagName !== 'SELECT') return 'not a select element';
  const opt = [...el.options].find(o => o.value === v) || [...el.options].find(o => o.text.trim() === v);
  if (!opt) return 'no option with value or text ' + JSON.stringify(v);
  el.value = opt.value;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return '';
})()`, jsString(sel), jsString(value))
}

// script runs a JavaScript expression that returns "" on success or what
// went wrong.
func (q *sequence) script(ctx context.Context, js string) error {
	msg, err := eval[string](ctx, js)
	if err != nil {
		return err
	}
	if msg != "" {
		return failf("%s", msg)
	}
	return nil
}

// check clicks a checkbox or radio button unless it is checked already.
func (q *sequence) check(ctx context.Context, st auditshot.Step) error {
	el, err := q.locate(ctx, st.Selector, false)
	if err != nil {
		return err
	}
	checked := fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && !!el.checked; })()`, jsString(st.Selector))
	if ok, err := eval[bool](ctx, checked); err != nil || ok {
		return err
	}
	if err := q.click(ctx, el, 1); err != nil {
		return err
	}
	if ok, err := eval[bool](ctx, checked); err != nil || !ok {
		if err != nil {
			return err
		}
		return failf("check: %s is not checked after a click", st.Selector)
	}
	return nil
}

// press presses and releases a key on the focused element.
func (q *sequence) press(ctx context.Context, key string) error {
	r, ok := keyRune(key)
	if !ok {
		return failf("press: unknown key %q", key)
	}
	for _, k := range kb.Encode(r) {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, *k); err != nil {
			return err
		}
	}
	return nil
}

// keyRune maps a key name or character to kb's rune for it.
func keyRune(key string) (rune, bool) {
	if rs := []rune(key); len(rs) == 1 {
		return rs[0], true
	}
	switch key {
	case "Space":
		return ' ', true
	case "Enter":
		return '\r', true
	case "Tab":
		return '\t', true
	}
	for r, k := range kb.Keys {
		if k.Key == key && !k.Shift && !k.Print {
			return r, true
		}
	}
	return 0, false
}
