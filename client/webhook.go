package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
)

// Webhook request headers.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex>": v1 is the
	// HMAC-SHA256, keyed with the tenant's webhook secret, of "<t>.<body>".
	SignatureHeader = "Auditshot-Signature"
	// EventHeader is the event type, "job.succeeded" or "job.failed".
	EventHeader = "Auditshot-Event"
	// DeliveryHeader identifies the attempt: "<job id>.<attempt>".
	DeliveryHeader = "Auditshot-Delivery"
)

// DefaultWebhookTolerance is a reasonable tolerance for VerifyWebhook.
const DefaultWebhookTolerance = 5 * time.Minute

// WebhookEvent is the body of a webhook request.
type WebhookEvent struct {
	// Type is "job.succeeded" or "job.failed".
	Type string         `json:"type"`
	Job  *auditshot.Job `json:"job"`
}

// ErrWebhookSignature is wrapped by every error of VerifyWebhook.
var ErrWebhookSignature = errors.New("webhook signature not valid")

// VerifyWebhook checks the SignatureHeader value header of a webhook
// request against its body, exactly as received: it returns nil if a v1
// signature is the HMAC-SHA256 by secret (the tenant's webhook_secret)
// of "<t>.<body>" and t is within tolerance of now. Check it before
// decoding the body, and refuse the request if it fails.
func VerifyWebhook(secret, header string, body []byte, tolerance time.Duration) error {
	return verifyWebhook(secret, header, body, tolerance, time.Now())
}

func verifyWebhook(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var (
		ts     int64
		tsText string
		sigs   []string
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("%w: bad timestamp %q", ErrWebhookSignature, v)
			}
			ts, tsText = n, v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == 0 || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=...,v1=..., got %q", ErrWebhookSignature, header)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp is %s from now, more than the tolerance of %s", ErrWebhookSignature, d.Round(time.Second), tolerance)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(tsText + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrWebhookSignature)
}
