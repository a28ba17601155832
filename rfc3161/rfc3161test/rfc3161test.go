// Package rfc3161test runs a Time-Stamping Authority on the loopback
// interface for tests: a test CA made on the spot, a TSA certificate it
// issues, and an httptest server that answers RFC 3161 queries.
package rfc3161test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// EKU says how the TSA certificate declares its extended key usage.
type EKU int

const (
	// EKUCritical is RFC 3161 §2.3: id-kp-timeStamping only, critical.
	EKUCritical EKU = iota
	// EKUNonCritical is id-kp-timeStamping in a non-critical extension.
	EKUNonCritical
	// EKUNone leaves the extension out.
	EKUNone
)

// Options configures a TSA. The zero value is a valid TSA.
type Options struct {
	// EKU is the TSA certificate's extended key usage.
	EKU EKU
	// Now is the TSA's clock; time.Now if nil.
	Now func() time.Time
}

// TSA is a test Time-Stamping Authority.
type TSA struct {
	// Root is the test CA's certificate; Roots holds only it.
	Root  *x509.Certificate
	Roots *x509.CertPool
	// Cert and Key are the TSA's certificate (issued by Root) and key.
	Cert *x509.Certificate
	Key  crypto.Signer
	// Server answers RFC 3161 queries at its URL.
	Server *httptest.Server

	tb   testing.TB
	mu   sync.Mutex
	now  func() time.Time
	fail int
}

// New starts a TSA on 127.0.0.1, closed when the test ends.
func New(tb testing.TB, opts Options) *TSA {
	tb.Helper()
	a := &TSA{tb: tb, now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	rootKey := newKey(tb)
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditshot test TSA root"},
		NotBefore: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	a.Root = a.create(root, root, rootKey.Public(), rootKey)
	a.Roots = x509.NewCertPool()
	a.Roots.AddCert(a.Root)
	tsaKey := newKey(tb)
	a.Key = tsaKey
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "auditshot test TSA"},
		NotBefore: root.NotBefore, NotAfter: root.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	switch opts.EKU {
	case EKUCritical:
		v, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
		if err != nil {
			tb.Fatal(err)
		}
		leaf.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: v}}
	case EKUNonCritical:
		leaf.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	}
	a.Cert = a.create(leaf, a.Root, tsaKey.Public(), rootKey)
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	tb.Cleanup(a.Server.Close)
	return a
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func (a *TSA) create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	a.tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		a.tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		a.tb.Fatal(err)
	}
	return c
}

// URL is the TSA's endpoint.
func (a *TSA) URL() string { return a.Server.URL }

// RootPEM returns Root in PEM.
func (a *TSA) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Root.Raw})
}

// FailNext makes the next n queries answer HTTP 500.
func (a *TSA) FailNext(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = n
}

// SetNow replaces the TSA's clock.
func (a *TSA) SetNow(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = now
}

// Token returns a token over digest stamped at t, without a query.
func (a *TSA) Token(digest [32]byte, t time.Time) []byte {
	a.tb.Helper()
	resp, err := a.respond(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true}, t)
	if err != nil {
		a.tb.Fatal(err)
	}
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		a.tb.Fatal(err)
	}
	return ts.RawToken
}

// TokenOver returns a token over the SHA-256 of data stamped at t.
func (a *TSA) TokenOver(data []byte, t time.Time) []byte {
	a.tb.Helper()
	return a.Token(sha256.Sum256(data), t)
}

func (a *TSA) respond(req *timestamp.Request, t time.Time) ([]byte, error) {
	ts := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: t.UTC(),
		Nonce: req.Nonce, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
		AddTSACertificate: req.Certificates,
	}
	return ts.CreateResponseWithOpts(a.Cert, a.Key, crypto.SHA256)
}

func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	fail, now := a.fail > 0, a.now
	if fail {
		a.fail--
	}
	a.mu.Unlock()
	if fail {
		http.Error(w, "test TSA failure", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := a.respond(req, now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}
