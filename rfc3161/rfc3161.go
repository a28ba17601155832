// Package rfc3161 requests and verifies RFC 3161 time-stamp tokens, the
// anchors that bind a ledger checkpoint to a time attested by a
// Time-Stamping Authority (TSA).
//
// It is a pure library, like ledger: Client implements
// auditshot.Timestamper over HTTP for the store, and Verify checks a token
// offline for the bundle verifier. Tokens are parsed with
// github.com/digitorus/timestamp; the checks that make a token trustworthy
// (the CMS signature, the certificate chain to the auditor's roots, the
// critical id-kp-timeStamping extended key usage of RFC 3161 §2.3, the
// message imprint) are made here, not left to that library.
package rfc3161

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// MaxTokenSize is the largest token or response this package reads or
// parses, in bytes.
const MaxTokenSize = 64 << 10

// DefaultFutureSkew is how far after the verifier's current time a token's
// time may lie before Verify rejects it (clocks differ a little).
const DefaultFutureSkew = 5 * time.Minute

// ErrInvalidToken is wrapped by every error Verify and GenTime return for a
// token that does not verify; the message says which check failed.
var ErrInvalidToken = errors.New("invalid RFC 3161 time-stamp token")

var (
	oidExtKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	errNoCertificate = errors.New("token carries no TSA certificate (request it with certReq)")
)

// Token is what Verify found in a valid token.
type Token struct {
	// GenTime is the time the TSA attests.
	GenTime time.Time
	// Accuracy is the TSA's stated accuracy of GenTime, zero if none.
	Accuracy time.Duration
	// Signer is the TSA's certificate.
	Signer *x509.Certificate
	// Chain is the verified chain from Signer to a trusted root.
	Chain []*x509.Certificate
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalidToken, fmt.Errorf(format, args...))
}

// parse parses token as a CMS SignedData holding a TSTInfo and checks its
// CMS signature with the embedded signer certificate. Parsers of the
// library are guarded against panics on hostile input.
func parse(token []byte) (p7 *pkcs7.PKCS7, ts *timestamp.Timestamp, err error) {
	defer func() {
		if p := recover(); p != nil {
			p7, ts, err = nil, nil, invalid("malformed token: %v", p)
		}
	}()
	if len(token) == 0 || len(token) > MaxTokenSize {
		return nil, nil, invalid("token is %d bytes, want 1 to %d", len(token), MaxTokenSize)
	}
	p7, err = pkcs7.Parse(token)
	if err != nil {
		return nil, nil, invalid("not a CMS SignedData: %w", err)
	}
	if len(p7.Signers) != 1 {
		return nil, nil, invalid("token has %d signers, want 1", len(p7.Signers))
	}
	if p7.GetOnlySigner() == nil {
		return nil, nil, invalid("%w", errNoCertificate)
	}
	if err := p7.Verify(); err != nil {
		return nil, nil, invalid("CMS signature does not verify: %w", err)
	}
	ts, err = timestamp.Parse(token)
	if err != nil {
		return nil, nil, invalid("not a time-stamp token: %w", err)
	}
	return p7, ts, nil
}

// GenTime returns the time a token over digest states, after checking its
// CMS signature against its own embedded certificate and its SHA-256
// message imprint: it does not establish trust in the TSA. The store uses it
// to record the time of the tokens its configured TSA returns; auditors use
// Verify. Errors wrap ErrInvalidToken.
func GenTime(token []byte, digest [32]byte) (time.Time, error) {
	_, ts, err := parse(token)
	if err != nil {
		return time.Time{}, err
	}
	if err := checkImprint(ts, digest); err != nil {
		return time.Time{}, err
	}
	return ts.Time.UTC(), nil
}

// checkImprint checks that the token's message imprint is digest, by
// SHA-256.
func checkImprint(ts *timestamp.Timestamp, digest [32]byte) error {
	if ts.HashAlgorithm != crypto.SHA256 {
		return invalid("message imprint uses %v, want SHA-256", ts.HashAlgorithm)
	}
	if !bytes.Equal(ts.HashedMessage, digest[:]) {
		return invalid("message imprint %x is not the digest %x", ts.HashedMessage, digest)
	}
	return nil
}

// Verify checks that token is an RFC 3161 time-stamp token over digest (a
// SHA-256 message imprint) issued by a TSA that roots trusts, and returns
// the time it attests. It checks, itself:
//
//   - the token is a CMS SignedData with one signer, whose certificate is
//     embedded, and the signature over the TSTInfo verifies;
//   - the signer's certificate has the extended key usage extension,
//     marked critical, with id-kp-timeStamping as its only purpose (RFC
//     3161 §2.3);
//   - the certificate chains, through the token's other certificates, to
//     one of roots, valid at the token's time, for time stamping;
//   - the message imprint is SHA-256 and equals digest;
//   - the token's time is not later than now plus DefaultFutureSkew.
//
// Every error wraps ErrInvalidToken and names the check that failed. roots
// MUST NOT be nil.
func Verify(token []byte, digest [32]byte, roots *x509.CertPool, now time.Time) (time.Time, error) {
	t, err := VerifyToken(token, digest, roots, now)
	if err != nil {
		return time.Time{}, err
	}
	return t.GenTime, nil
}

// VerifyToken is Verify, returning what it found.
func VerifyToken(token []byte, digest [32]byte, roots *x509.CertPool, now time.Time) (*Token, error) {
	if roots == nil {
		return nil, invalid("no trusted TSA roots given")
	}
	p7, ts, err := parse(token)
	if err != nil {
		return nil, err
	}
	signer := p7.GetOnlySigner()
	if err := checkEKU(signer); err != nil {
		return nil, err
	}
	genTime := ts.Time.UTC()
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		if c != signer {
			inter.AddCert(c)
		}
	}
	chains, err := signer.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   genTime,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, invalid("TSA certificate %q does not chain to a trusted root: %w", signer.Subject, err)
	}
	if err := checkImprint(ts, digest); err != nil {
		return nil, err
	}
	if genTime.After(now.Add(DefaultFutureSkew)) {
		return nil, invalid("token time %s is after the current time %s", genTime.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return &Token{GenTime: genTime, Accuracy: ts.Accuracy, Signer: signer, Chain: chains[0]}, nil
}

// checkEKU checks RFC 3161 §2.3: the TSA's certificate MUST carry one
// extended key usage extension, critical, with id-kp-timeStamping as its
// only purpose.
func checkEKU(c *x509.Certificate) error {
	var ext []pkix.Extension
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			ext = append(ext, e)
		}
	}
	switch {
	case len(ext) == 0:
		return invalid("TSA certificate %q has no extended key usage (id-kp-timeStamping is required)", c.Subject)
	case len(ext) > 1:
		return invalid("TSA certificate %q has %d extended key usage extensions, want 1", c.Subject, len(ext))
	case !ext[0].Critical:
		return invalid("TSA certificate %q: the extended key usage extension is not critical (RFC 3161 §2.3)", c.Subject)
	}
	var purposes []asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(ext[0].Value, &purposes); err != nil || len(rest) > 0 {
		return invalid("TSA certificate %q: malformed extended key usage", c.Subject)
	}
	if len(purposes) != 1 || !purposes[0].Equal(oidTimeStamping) {
		return invalid("TSA certificate %q: extended key usage %v, want only id-kp-timeStamping", c.Subject, purposes)
	}
	if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
		return invalid("TSA certificate %q is not for time stamping", c.Subject)
	}
	return nil
}
