package chromium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// masksKey is the page global holding a sequence's live masks.
const masksKey = "__auditshotMasks"

// installMasks installs the live masks in the current document and every
// later one: opaque boxes over the mask selectors and over every field a
// secret was typed into, kept on their elements at every animation frame,
// so every screenshot and every video frame shows them.
func (q *sequence) installMasks() error {
	js := liveMasksJS(q.o.MaskSelectors)
	if _, err := chromedp.Call(q.c.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		return fmt.Errorf("install masks: %w", err)
	}
	if _, err := eval[bool](q.c.ctx, js); err != nil {
		return fmt.Errorf("install masks: %w", err)
	}
	for _, s := range q.o.MaskSelectors {
		q.c.ev.Redactions = append(q.c.ev.Redactions, auditshot.Redaction{Kind: "mask", Selector: s})
	}
	return nil
}

// liveMasksJS defines window[masksKey] with secret(el), which masks an
// element from now on, and keeps every mask's box on its element.
func liveMasksJS(selectors []string) string {
	sels, _ := json.Marshal(selectors)
	if selectors == nil {
		sels = []byte("[]")
	}
	return fmt.Sprintf(`(() => {
  const key = %s;
  if (window[key]) return true;
  const sels = %s, secrets = new Set(), boxes = [], last = new WeakMap();
  const base = 'position:fixed;background:#000;opacity:1;z-index:2147483647;pointer-events:none;margin:0;padding:0;border:0;transform:none;filter:none;display:block;visibility:visible;';
  let layer = null, running = false;
  const update = () => {
    const root = document.documentElement;
    if (!root) return;
    if (!layer) {
      layer = document.createElement('div');
      layer.setAttribute('data-auditshot', 'masks');
      layer.style.cssText = 'position:fixed;left:0;top:0;width:0;height:0;overflow:visible;z-index:2147483647;pointer-events:none;display:block;visibility:visible;';
    }
    if (root.lastElementChild !== layer) root.appendChild(layer);
    const els = [];
    for (const s of sels) { try { els.push(...document.querySelectorAll(s)); } catch (e) {} }
    for (const el of secrets) { if (el.isConnected) els.push(el); else secrets.delete(el); }
    let n = 0;
    for (const el of els) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      let m = boxes[n];
      if (!m) { m = document.createElement('div'); boxes.push(m); }
      if (m.parentNode !== layer) layer.appendChild(m);
      const css = base + 'left:' + r.left + 'px;top:' + r.top + 'px;width:' + r.width + 'px;height:' + r.height + 'px;';
      if (last.get(m) !== css) { m.style.cssText = css; last.set(m, css); }
      n++;
    }
    while (boxes.length > n) boxes.pop().remove();
  };
  const loop = () => { try { update(); } catch (e) {} requestAnimationFrame(loop); };
  const start = () => { if (!running) { running = true; requestAnimationFrame(loop); } };
  Object.defineProperty(window, key, {value: Object.freeze({
    secret(el) {
      el.style.setProperty('-webkit-text-security', 'disc', 'important');
      secrets.add(el);
      update();
      start();
    },
    secrets,
  })});
  if (sels.length) { try { update(); } catch (e) {} start(); }
  return true;
})()`, jsString(masksKey), sels)
}

// redactSecretsJS removes the secret values from the document before its
// snapshot: from form fields, attributes, text and the title.
func redactSecretsJS(secrets []string) string {
	s, _ := json.Marshal(secrets)
	return fmt.Sprintf(`(() => {
  const secrets = %s, hidden = %s;
  const has = v => typeof v === 'string' && secrets.some(x => v.includes(x));
  const scrub = v => { for (const x of secrets) v = v.split(x).join(hidden); return v; };
  const masks = window[%s];
  if (masks) for (const el of masks.secrets) { if ('value' in el) el.value = ''; el.removeAttribute('value'); }
  for (const el of document.querySelectorAll('input, textarea, select')) if (has(el.value)) el.value = '';
  for (const el of document.querySelectorAll('*')) for (const a of [...el.attributes]) if (has(a.value)) el.setAttribute(a.name, scrub(a.value));
  const w = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_COMMENT);
  for (let n = w.nextNode(); n; n = w.nextNode()) if (has(n.nodeValue)) n.nodeValue = scrub(n.nodeValue);
  if (has(document.title)) document.title = scrub(document.title);
  return true;
})()`, s, jsString(auditshot.Redacted), jsString(masksKey))
}

// scrubber replaces the secrets, and their URL-, HTML- and JSON-escaped
// forms, in everything a sequence returns.
type scrubber struct {
	r *strings.Replacer
}

func newScrubber(secrets []string) *scrubber {
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		j, _ := json.Marshal(s)
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s), html.EscapeString(s), strings.Trim(string(j), `"`)} {
			if v != "" && !seen[v] {
				seen[v] = true
				pairs = append(pairs, v, auditshot.Redacted)
			}
		}
	}
	if len(pairs) == 0 {
		return &scrubber{}
	}
	return &scrubber{r: strings.NewReplacer(pairs...)}
}

func (s *scrubber) str(v string) string {
	if s.r == nil || v == "" {
		return v
	}
	return s.r.Replace(v)
}

func (s *scrubber) bytes(b []byte) []byte {
	if s.r == nil {
		return b
	}
	var buf bytes.Buffer
	_, _ = s.r.WriteString(&buf, string(b))
	return buf.Bytes()
}

// err returns err with secrets removed from its message.
func (s *scrubber) err(err error) error {
	if s.r == nil || err == nil {
		return err
	}
	var ae *auditshot.Error
	if errors.As(err, &ae) {
		return &auditshot.Error{Code: ae.Code, Message: s.str(ae.Message), RetryAfter: ae.RetryAfter, Err: errors.New(s.str(err.Error()))}
	}
	return errors.New(s.str(err.Error()))
}

// result removes secrets from every string of res.
func (s *scrubber) result(res *auditshot.SequenceResult) {
	if s.r == nil {
		return
	}
	for i := range res.Steps {
		st := &res.Steps[i]
		st.Label, st.URL, st.Error, st.Result = s.str(st.Label), s.str(st.URL), s.str(st.Error), s.str(st.Result)
	}
	for i := range res.Chapters {
		res.Chapters[i].Label = s.str(res.Chapters[i].Label)
	}
	ev := &res.Evidence
	ev.RequestedURL, ev.FinalURL, ev.Title = s.str(ev.RequestedURL), s.str(ev.FinalURL), s.str(ev.Title)
	for i := range ev.Console {
		ev.Console[i].Text, ev.Console[i].URL = s.str(ev.Console[i].Text), s.str(ev.Console[i].URL)
	}
	for i := range ev.Network {
		ev.Network[i].URL, ev.Network[i].Failed = s.str(ev.Network[i].URL), s.str(ev.Network[i].Failed)
	}
	for i := range ev.Dialogs {
		ev.Dialogs[i].Message = s.str(ev.Dialogs[i].Message)
	}
	for i := range ev.Refused {
		ev.Refused[i].URL = s.str(ev.Refused[i].URL)
	}
	for i := range ev.Redactions {
		ev.Redactions[i].Selector = s.str(ev.Redactions[i].Selector)
	}
	res.Options.URL = s.str(res.Options.URL)
	for i := range res.Options.Steps {
		st := &res.Options.Steps[i]
		st.Label, st.URL, st.Text, st.Selector, st.Value = s.str(st.Label), s.str(st.URL), s.str(st.Text), s.str(st.Selector), s.str(st.Value)
	}
	ev.Options.URL = s.str(ev.Options.URL)
}
