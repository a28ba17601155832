package chromium_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
)

func TestCapture_TLSFacts(t *testing.T) {
	srv := httptest.NewUnstartedServer(HTML(`<title>secure</title>`))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cert := srv.Certificate()
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)

	t.Run("Untrusted", func(t *testing.T) {
		// The test certificate is not trusted by default: the capture
		// fails instead of recording an unverified page.
		_, err := Shared(t).Capture(t.Context(), auditshot.CaptureOptions{URL: srv.URL, Timeout: 5000}, local)
		if err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
			t.Fatalf("untrusted certificate: %v", err)
		}
	})
	t.Run("Trusted", func(t *testing.T) {
		e := MustEngine(t, chromium.Config{Concurrency: 1, IgnoreCertSPKIs: []string{base64.StdEncoding.EncodeToString(spki[:])}})
		res := MustCapture(t, e, auditshot.CaptureOptions{URL: srv.URL})
		tls := res.Evidence.TLS
		if tls == nil {
			t.Fatal("no TLS facts")
		}
		if tls.Protocol != "TLS 1.3" || tls.Cipher == "" || tls.SubjectName != cert.Subject.CommonName || tls.Issuer != cert.Issuer.CommonName {
			t.Errorf("TLS facts %+v", tls)
		}
		if !slices.Contains(tls.SANs, "127.0.0.1") {
			t.Errorf("SANs %v", tls.SANs)
		}
		if !tls.ValidFrom.Equal(cert.NotBefore) || !tls.ValidTo.Equal(cert.NotAfter) {
			t.Errorf("validity %v..%v, want %v..%v", tls.ValidFrom, tls.ValidTo, cert.NotBefore, cert.NotAfter)
		}
		if res.Evidence.Status != 200 || res.Evidence.Network[0].RemoteIP != "127.0.0.1" {
			t.Errorf("status %d network %+v", res.Evidence.Status, res.Evidence.Network)
		}
	})
}
