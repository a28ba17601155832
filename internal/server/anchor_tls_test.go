package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/rfc3161/rfc3161test"
)

// TestAnchorsOnSchedule: with a TSA configured, every log that grew is
// anchored on the interval, and the anchor is the log's last entry.
func TestAnchorsOnSchedule(t *testing.T) {
	tsa := rfc3161test.New(t, rfc3161test.Options{})
	s := startServer(t, func(c *server.Config) { c.TSA, c.AnchorInterval = tsa.URL(), 20*time.Millisecond })
	key := s.key(t, "default", auditshot.ScopeWrite)
	s.must(t, http.StatusCreated, "POST", "/v1/runs", key, map[string]any{"workflow": "anchored"})
	var anchors []auditshot.Anchor
	eventually(t, 30*time.Second, "an anchor of the default log", func() bool {
		var err error
		anchors, err = s.DB.Anchors(t.Context(), "default")
		if err != nil {
			t.Fatal(err)
		}
		return len(anchors) > 0
	})
	a := anchors[0]
	if a.CheckpointSize < 3 || a.TSA != strings.TrimPrefix(tsa.URL(), "http://") || a.GenTime.IsZero() {
		t.Errorf("anchor %+v", a)
	}
	// The anchor entry verifies with the rest of the log.
	if err := s.DB.Verify(t.Context(), "default"); err != nil {
		t.Error(err)
	}
}

// TestServesTLS: with a certificate and key the API is HTTPS only.
func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeSelfSigned(t, certFile, keyFile)
	s := startServer(t, func(c *server.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("healthz over TLS: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + strings.TrimPrefix(s.URL, "https://") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
	}
	// Over TLS the console's session cookie is Secure.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/ui/login",
		strings.NewReader(url.Values{"key": {s.key(t, "default", auditshot.ScopeAudit)}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(cookie, "auditshot_session=") || !strings.Contains(cookie, "; Secure") ||
		!strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Errorf("console sign-in over TLS: %d, cookie %q; want a Secure, HttpOnly, SameSite=Strict session", resp.StatusCode, cookie)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key, and
// returns a pool that trusts it.
func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditshot test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
