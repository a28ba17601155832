package auditshot_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
)

func TestCaptureOptions_NormalizeDefaults(t *testing.T) {
	got, err := auditshot.CaptureOptions{URL: "https://example.com/x"}.Normalize(auditshot.CapturePolicy{})
	if err != nil {
		t.Fatal(err)
	}
	want := auditshot.CaptureOptions{URL: "https://example.com/x", Width: 1280, Height: 800, DeviceScaleFactor: 1,
		MaxHeight: auditshot.DefaultMaxHeight, Format: "png", WaitUntil: "load", Timeout: 30000}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	dev, err := auditshot.CaptureOptions{URL: "https://example.com", Device: "iphone-15", Format: "jpeg", PDF: nil}.Normalize(auditshot.CapturePolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if dev.Width != 393 || dev.Height != 852 || dev.DeviceScaleFactor != 3 || dev.Quality != 90 || !strings.Contains(dev.UserAgent, "iPhone") {
		t.Errorf("device defaults %+v", dev)
	}
	pdf, err := auditshot.CaptureOptions{HTML: "<p>x", Format: "pdf"}.Normalize(auditshot.CapturePolicy{})
	if err != nil || pdf.PDF == nil || pdf.PDF.Paper != "a4" || pdf.PDF.Scale != 1 {
		t.Errorf("pdf defaults %+v %v", pdf.PDF, err)
	}
}

func TestCaptureOptions_NormalizeErrors(t *testing.T) {
	u := "https://example.com/"
	margin := -1.0
	for _, tc := range []struct {
		o     auditshot.CaptureOptions
		field string
	}{
		{auditshot.CaptureOptions{}, "url"},
		{auditshot.CaptureOptions{URL: u, HTML: "x"}, "url"},
		{auditshot.CaptureOptions{URL: "file:///etc/passwd"}, "url"},
		{auditshot.CaptureOptions{URL: "view-source:https://example.com"}, "url"},
		{auditshot.CaptureOptions{URL: "http://"}, "url"},
		{auditshot.CaptureOptions{URL: u, Width: 9000}, "width"},
		{auditshot.CaptureOptions{URL: u, Height: -1}, "height"},
		{auditshot.CaptureOptions{URL: u, Device: "nokia-3310"}, "device"},
		{auditshot.CaptureOptions{URL: u, DeviceScaleFactor: 3.5}, "device_scale_factor"},
		{auditshot.CaptureOptions{URL: u, FullPage: true, MaxHeight: 1 << 20}, "max_height"},
		{auditshot.CaptureOptions{URL: u, Clip: &auditshot.Rect{Width: 0, Height: 10}}, "clip"},
		{auditshot.CaptureOptions{URL: u, Clip: &auditshot.Rect{Width: 5, Height: 10}, Selector: "#x"}, "clip"},
		{auditshot.CaptureOptions{URL: u, Format: "gif"}, "format"},
		{auditshot.CaptureOptions{URL: u, Quality: 50}, "quality"},
		{auditshot.CaptureOptions{URL: u, Format: "jpeg", Quality: 101}, "quality"},
		{auditshot.CaptureOptions{URL: u, Format: "jpeg", OmitBackground: true}, "omit_background"},
		{auditshot.CaptureOptions{URL: u, Format: "pdf", FullPage: true}, "format"},
		{auditshot.CaptureOptions{URL: u, PDF: &auditshot.PDFOptions{}}, "pdf"},
		{auditshot.CaptureOptions{URL: u, Format: "pdf", PDF: &auditshot.PDFOptions{Paper: "napkin"}}, "pdf.paper"},
		{auditshot.CaptureOptions{URL: u, Format: "pdf", PDF: &auditshot.PDFOptions{Margin: &margin}}, "pdf.margin"},
		{auditshot.CaptureOptions{URL: u, MediaType: "tv"}, "media_type"},
		{auditshot.CaptureOptions{URL: u, Timezone: "Mars/Olympus_Mons"}, "timezone"},
		{auditshot.CaptureOptions{URL: u, Timezone: "../../etc/passwd"}, "timezone"},
		{auditshot.CaptureOptions{URL: u, Locale: "en_US!"}, "locale"},
		{auditshot.CaptureOptions{URL: u, Headers: map[string]string{"Bad Name": "x"}}, "headers"},
		{auditshot.CaptureOptions{URL: u, Headers: map[string]string{"X-A": "a\r\nInjected: 1"}}, "headers"},
		{auditshot.CaptureOptions{URL: u, Headers: map[string]string{"Host": "evil"}}, "headers"},
		{auditshot.CaptureOptions{URL: u, Cookies: []auditshot.Cookie{{Value: "x"}}}, "cookies"},
		{auditshot.CaptureOptions{HTML: "x", Cookies: []auditshot.Cookie{{Name: "a"}}}, "cookies"},
		{auditshot.CaptureOptions{URL: u, BasicAuth: &auditshot.BasicAuth{Password: "p"}}, "basic_auth"},
		{auditshot.CaptureOptions{URL: u, WaitUntil: "forever"}, "wait_until"},
		{auditshot.CaptureOptions{URL: u, Timeout: 10}, "timeout"},
		{auditshot.CaptureOptions{URL: u, Timeout: 600000}, "timeout"},
		{auditshot.CaptureOptions{URL: u, Delay: -5}, "delay"},
		{auditshot.CaptureOptions{URL: u, CSS: strings.Repeat("x", auditshot.MaxCSSBytes+1)}, "css"},
		{auditshot.CaptureOptions{URL: u, MaskSelectors: make([]string, auditshot.MaxSelectors+1)}, "mask_selectors"},
	} {
		_, err := tc.o.Normalize(auditshot.CapturePolicy{AllowScripts: true})
		var ae *auditshot.Error
		if !errors.As(err, &ae) || ae.Code != auditshot.EINVALID || !strings.HasPrefix(ae.Message, tc.field+":") {
			t.Errorf("%+v: got %v, want EINVALID naming %q", tc.o, err, tc.field)
		}
	}
}

func TestCaptureOptions_ScriptsNeedPolicy(t *testing.T) {
	o := auditshot.CaptureOptions{URL: "https://example.com", JS: "1"}
	if _, err := o.Normalize(auditshot.CapturePolicy{}); auditshot.ErrorCode(err) != auditshot.EFORBIDDEN {
		t.Errorf("js without policy: %v", err)
	}
	if _, err := o.Normalize(auditshot.CapturePolicy{AllowScripts: true}); err != nil {
		t.Errorf("js with policy: %v", err)
	}
}

func TestCaptureOptions_Redacted(t *testing.T) {
	o := auditshot.CaptureOptions{
		URL:       "https://example.com",
		Headers:   map[string]string{"Authorization": "Bearer tok"},
		Cookies:   []auditshot.Cookie{{Name: "sid", Value: "cookie-secret"}},
		BasicAuth: &auditshot.BasicAuth{Username: "ada", Password: "pw-secret"},
	}
	r := o.Redacted()
	s := fmt.Sprintf("%+v %+v %+v", r, r.Cookies, *r.BasicAuth)
	for _, secret := range []string{"Bearer tok", "cookie-secret", "pw-secret"} {
		if strings.Contains(s, secret) {
			t.Errorf("redacted options contain %q", secret)
		}
	}
	if r.BasicAuth.Username != "ada" || r.Cookies[0].Name != "sid" || r.Headers["Authorization"] == "" {
		t.Errorf("redaction removed what is not secret: %s", s)
	}
	if o.Cookies[0].Value != "cookie-secret" || o.BasicAuth.Password != "pw-secret" {
		t.Errorf("Redacted changed the original")
	}
}

func TestError(t *testing.T) {
	inner := errors.New("disk on fire")
	err := fmt.Errorf("save: %w", &auditshot.Error{Code: auditshot.ENOTFOUND, Message: "run not found", Err: inner})
	if auditshot.ErrorCode(err) != auditshot.ENOTFOUND || auditshot.ErrorMessage(err) != "run not found" || !errors.Is(err, inner) {
		t.Errorf("code %q message %q", auditshot.ErrorCode(err), auditshot.ErrorMessage(err))
	}
	if auditshot.ErrorCode(inner) != auditshot.EINTERNAL || auditshot.ErrorMessage(inner) != "internal error" {
		t.Errorf("plain errors must be internal and hide their text")
	}
	if auditshot.ErrorCode(nil) != "" {
		t.Errorf("nil error has a code")
	}
}
