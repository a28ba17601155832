package chromium

import (
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/auditshot/auditshot"
)

// snapshotDOM records the page's URL and title and returns its MHTML
// snapshot.
func (c *capture) snapshotDOM() ([]byte, error) {
	type facts struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	}
	f, err := eval[facts](c.ctx, `({url: location.href, title: document.title})`)
	if err != nil {
		return nil, fmt.Errorf("page facts: %w", err)
	}
	c.ev.FinalURL, c.ev.Title = f.URL, f.Title
	snap, err := chromedp.Call(c.ctx, page.CaptureSnapshot, page.CaptureSnapshotParams{Format: page.CaptureSnapshotFormatMhtml})
	if err != nil {
		return nil, fmt.Errorf("DOM snapshot: %w", err)
	}
	return []byte(snap.Data), nil
}

// collect fills the evidence from what the recorder and the egress proxy
// saw.
func (c *capture) collect() {
	reqs, console, dialogs, refusals, doc := c.rec.snapshot()
	if doc != nil {
		c.ev.Status = int(doc.Status)
		c.ev.TLS = tlsFacts(doc.SecurityDetails)
	}
	c.ev.Network = mergeEgress(reqs, c.s.egress.Records())
	c.ev.Console, c.ev.Dialogs, c.ev.Refused = console, dialogs, refusals
	if c.ev.Console == nil {
		c.ev.Console = []auditshot.ConsoleMessage{}
	}
	if c.ev.Redactions == nil {
		c.ev.Redactions = []auditshot.Redaction{}
	}
}

func tlsFacts(d *network.SecurityDetails) *auditshot.TLSFacts {
	if d == nil {
		return nil
	}
	return &auditshot.TLSFacts{
		Protocol:    d.Protocol,
		Cipher:      d.Cipher,
		KeyExchange: strings.TrimSpace(d.KeyExchange + " " + d.KeyExchangeGroup),
		SubjectName: d.SubjectName,
		SANs:        d.SanList,
		Issuer:      d.Issuer,
		ValidFrom:   epoch(float64(d.ValidFrom)),
		ValidTo:     epoch(float64(d.ValidTo)),
	}
}

func epoch(sec float64) time.Time {
	return time.Unix(0, int64(sec*1e9)).UTC()
}

// mergeEgress adds what the egress proxy saw to the browser's request log:
// the address it dialled and the rule that refused a request. A proxy record
// the browser never reported (a refused WebSocket, say) is listed too.
func mergeEgress(reqs []auditshot.NetworkRequest, recs []auditshot.EgressRecord) []auditshot.NetworkRequest {
	byURL := map[string]*auditshot.EgressRecord{}
	used := make([]bool, len(recs))
	for i := range recs {
		byURL[recs[i].URL] = &recs[i]
	}
	index := map[*auditshot.EgressRecord]int{}
	for i := range recs {
		index[&recs[i]] = i
	}
	out := make([]auditshot.NetworkRequest, 0, len(reqs))
	for _, q := range reqs {
		r := byURL[q.URL]
		if r == nil {
			r = byURL[hostPort(q.URL)]
		}
		if r != nil {
			used[index[r]] = true
			q.RemoteIP = r.RemoteIP
			if r.Blocked != "" {
				q.Blocked = r.Blocked
			}
		}
		out = append(out, q)
	}
	for i, r := range recs {
		if used[i] {
			continue
		}
		// A tunnel is reported under each request that used it; list the
		// ones no request claimed.
		url := r.URL
		if r.Method == "CONNECT" {
			url = "tunnel://" + r.URL
		}
		out = append(out, auditshot.NetworkRequest{URL: url, Method: r.Method, ResourceType: "Connection", Status: r.Status, Bytes: r.BytesIn, RemoteIP: r.RemoteIP, Blocked: r.Blocked, Failed: r.Error})
	}
	return out
}
