package httpapi

import (
	"testing"

	"github.com/auditshot/auditshot"
)

// FuzzDecodeRequest feeds arbitrary bodies to the decoder of every
// request type: it never panics, and every refusal is EINVALID with a
// message for the caller.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://example.com","full_page":true,"mask_selectors":[".x"],"clip":{"x":1,"y":2,"width":3,"height":4}}`,
		`{"workflow":"w","agent":{"name":"a","model":"m"},"labels":{"k":"v"}}`,
		`{"type":"action","name":"n","data":{"amount":500},"artifacts":[{"sha256":"ab","role":"before"}]}`,
		`{"runs":["a"],"async":true}`, `{"range":{"start":0,"end":10}}`,
		`{"id":"t","name":"n","plan":"free"}`, `{"plan":{"captures_per_month":1}}`,
		`{"name":"k","scopes":["read"]}`, `{"status":"failed"}`, `[]`, `{"a":`, `null`, `{"width":1e400}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{&captureRequest{}, &runRequest{}, &eventRequest{}, &finishRequest{}, &exportRequest{},
			&tenantRequest{}, &tenantUpdateRequest{}, &keyRequest{}}
		for _, v := range targets {
			err := decodeJSON(body, v)
			if err == nil {
				continue
			}
			if code := auditshot.ErrorCode(err); code != auditshot.EINVALID || auditshot.ErrorMessage(err) == "" {
				t.Fatalf("decode %q into %T: code %q message %q (%v)", body, v, code, auditshot.ErrorMessage(err), err)
			}
		}
		// Options that decoded are validated without panicking either.
		var req captureRequest
		if decodeJSON(body, &req) == nil {
			req.CaptureOptions.Normalize(auditshot.CapturePolicy{})
		}
	})
}
