package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
)

// Webhook headers. The signature is "t=<unix seconds>,v1=<hex>", where
// v1 is HMAC-SHA256 with the tenant's webhook secret over
// "<t>.<body>"; receivers MUST check it and SHOULD refuse a t more than a
// few minutes old.
const (
	SignatureHeader = "Auditshot-Signature"
	EventHeader     = "Auditshot-Event"
	DeliveryHeader  = "Auditshot-Delivery"
)

// WebhookSecret returns the tenant's webhook signing secret, derived from
// key so that it is never stored.
func WebhookSecret(key []byte, tenantID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("auditshot webhook secret v1\n" + tenantID))
	return "whsec_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignWebhook returns the signature header value for body at t.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a signature header against body: a v1 signature by
// secret, made no more than tolerance before now (or after it).
func VerifyWebhook(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var (
		ts   int64
		sigs []string
		err  error
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts, err = strconv.ParseInt(v, 10, 64); err != nil {
				return fmt.Errorf("webhook signature: bad timestamp %q", v)
			}
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == 0 || len(sigs) == 0 {
		return fmt.Errorf("webhook signature: want t=...,v1=..., got %q", header)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook signature: timestamp is %s away from now, more than the tolerance of %s", d.Round(time.Second), tolerance)
	}
	want := SignWebhook(secret, time.Unix(ts, 0), body)
	_, wantSig, _ := strings.Cut(want, ",v1=")
	for _, sig := range sigs {
		if hmac.Equal([]byte(sig), []byte(wantSig)) {
			return nil
		}
	}
	return fmt.Errorf("webhook signature: no v1 signature matches")
}

// checkWebhookURL checks a webhook URL's form; where it may connect is
// the tenant's egress policy's business, at delivery.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: not a URL: %v", err)
	case u.Scheme != "https" && u.Scheme != "http":
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: scheme must be http or https, got %q", u.Scheme)
	case u.Host == "":
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: has no host")
	case u.User != nil:
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: must not carry credentials")
	case len(raw) > 2048:
		return auditshot.Errorf(auditshot.EINVALID, "webhook_url: longer than 2048 bytes")
	}
	return nil
}

// deliver sends the job's webhook in the background, retrying with
// exponential backoff until the receiver answers 2xx or the retries are
// spent. Every attempt is recorded in the job.
func (s *Server) deliver(j *auditshot.Job) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.deliverLoop(j)
	}()
}

// deliverLater resumes a delivery a previous run of the server left.
func (s *Server) deliverLater(j *auditshot.Job) { s.deliver(j) }

func (s *Server) deliverLoop(j *auditshot.Job) {
	for {
		wh := j.Webhook
		if wh == nil || wh.DeliveredAt != nil || wh.NextAttempt == nil {
			return
		}
		if wait := wh.NextAttempt.Sub(s.cfg.Now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.closing:
				t.Stop()
				return // NextAttempt is stored: the next start resumes
			}
		}
		err := s.attempt(j)
		wh.Attempts++
		now := s.cfg.Now().UTC()
		if err == nil {
			wh.DeliveredAt, wh.NextAttempt, wh.LastError = &now, nil, ""
			s.metrics.webhook("delivered")
		} else {
			wh.LastError = err.Error()
			if wh.Attempts >= s.cfg.WebhookRetries {
				wh.NextAttempt = nil
				s.metrics.webhook("failed")
				s.log.Warn("webhook given up", "job", j.ID, "attempts", wh.Attempts, "err", err)
			} else {
				next := now.Add(s.cfg.WebhookBackoff << (wh.Attempts - 1))
				wh.NextAttempt = &next
				s.metrics.webhook("retry")
			}
		}
		if err := s.cfg.Jobs.UpdateJob(context.WithoutCancel(s.ctx), j); err != nil {
			s.log.Error("record webhook attempt", "job", j.ID, "err", err)
			return
		}
	}
}

// webhookEvent is the body of a webhook request.
type webhookEvent struct {
	Type string         `json:"type"` // job.succeeded, job.failed
	Job  *auditshot.Job `json:"job"`
}

// attempt makes one delivery of j's webhook.
func (s *Server) attempt(j *auditshot.Job) error {
	t, err := s.cfg.Tenants.FindTenant(s.ctx, j.TenantID)
	if err != nil {
		return err
	}
	ev := webhookEvent{Type: "job." + string(j.Status), Job: j}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "auditshot-webhook/"+s.cfg.Version)
	req.Header.Set(EventHeader, ev.Type)
	req.Header.Set(DeliveryHeader, j.ID+"."+strconv.Itoa(j.Webhook.Attempts+1))
	req.Header.Set(SignatureHeader, SignWebhook(WebhookSecret(s.cfg.WebhookKey, j.TenantID), s.cfg.Now(), body))
	client := s.cfg.WebhookClient(t.Egress)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ae *auditshot.Error
		if errors.As(err, &ae) {
			return errors.New(ae.Message)
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
