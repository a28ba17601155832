package client_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/auditshot/auditshot/client"
)

// sign returns the signature header of body at t, computed here from the
// scheme's definition.
func sign(secret string, t time.Time, body []byte) string {
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + mac(secret, t, body)
}

// mac is the hex HMAC-SHA256 by secret of "<unix t>.<body>".
func mac(secret string, t time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t.Unix(), 10) + "." + string(body)))
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	const secret = "whsec_test"
	body := []byte(`{"type":"job.succeeded","job":{"id":"j1"}}`)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		ok     bool
	}{
		{name: "OK", header: sign(secret, now, body), body: body, ok: true},
		{name: "OKSecondSignature", header: sign("whsec_old", now, body) + ",v1=" + mac(secret, now, body), body: body, ok: true},
		{name: "OKWithinTolerance", header: sign(secret, now.Add(-4*time.Minute), body), body: body, ok: true},
		{name: "ErrTampered", header: sign(secret, now, body), body: []byte(`{"type":"job.succeeded","job":{"id":"j2"}}`)},
		{name: "ErrOld", header: sign(secret, now.Add(-10*time.Minute), body), body: body},
		{name: "ErrFuture", header: sign(secret, now.Add(10*time.Minute), body), body: body},
		{name: "ErrOtherSecret", header: sign("whsec_other", now, body), body: body},
		{name: "ErrNoSignature", header: "t=" + strconv.FormatInt(now.Unix(), 10), body: body},
		{name: "ErrNoTime", header: "v1=00", body: body},
		{name: "ErrEmpty", header: "", body: body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := client.VerifyWebhook(secret, tc.header, tc.body, client.DefaultWebhookTolerance)
			switch {
			case tc.ok && err != nil:
				t.Errorf("VerifyWebhook = %v, want nil", err)
			case !tc.ok && !errors.Is(err, client.ErrWebhookSignature):
				t.Errorf("VerifyWebhook = %v, want ErrWebhookSignature", err)
			}
		})
	}
}
