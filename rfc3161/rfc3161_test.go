package rfc3161_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/rfc3161"
	"github.com/auditshot/auditshot/rfc3161/rfc3161test"
)

var digest = sha256.Sum256([]byte("a checkpoint"))

// stamp gets a token over digest from tsa through a Client.
func stamp(t *testing.T, tsa *rfc3161test.TSA) []byte {
	t.Helper()
	tok, err := (&rfc3161.Client{URL: tsa.URL()}).Timestamp(t.Context(), digest)
	if err != nil {
		t.Fatalf("Timestamp: %v", err)
	}
	return tok
}

func wantInvalid(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatal("Verify succeeded, want an error")
	}
	if !errors.Is(err, rfc3161.ErrInvalidToken) {
		t.Errorf("error %v does not wrap ErrInvalidToken", err)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not mention %q", err, substr)
	}
}

func TestClientAndVerify(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tsa := rfc3161test.New(t, rfc3161test.Options{Now: func() time.Time { return at }})
	now := at.Add(time.Hour)

	t.Run("OK", func(t *testing.T) {
		tok := stamp(t, tsa)
		got, err := rfc3161.Verify(tok, digest, tsa.Roots, now)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !got.Equal(at) {
			t.Errorf("gen time %v, want %v", got, at)
		}
		gt, err := rfc3161.GenTime(tok, digest)
		if err != nil || !gt.Equal(at) {
			t.Errorf("GenTime = %v, %v; want %v", gt, err, at)
		}
	})
	t.Run("ErrWrongDigest", func(t *testing.T) {
		_, err := rfc3161.Verify(stamp(t, tsa), sha256.Sum256([]byte("another")), tsa.Roots, now)
		wantInvalid(t, err, "message imprint")
	})
	t.Run("ErrNoEKU", func(t *testing.T) {
		bad := rfc3161test.New(t, rfc3161test.Options{EKU: rfc3161test.EKUNone})
		_, err := rfc3161.Verify(bad.Token(digest, at), digest, bad.Roots, now)
		wantInvalid(t, err, "no extended key usage")
	})
	t.Run("ErrNonCriticalEKU", func(t *testing.T) {
		bad := rfc3161test.New(t, rfc3161test.Options{EKU: rfc3161test.EKUNonCritical})
		_, err := rfc3161.Verify(bad.Token(digest, at), digest, bad.Roots, now)
		wantInvalid(t, err, "not critical")
	})
	t.Run("ErrUntrustedRoot", func(t *testing.T) {
		other := rfc3161test.New(t, rfc3161test.Options{})
		_, err := rfc3161.Verify(stamp(t, tsa), digest, other.Roots, now)
		wantInvalid(t, err, "does not chain to a trusted root")
	})
	t.Run("ErrNoRoots", func(t *testing.T) {
		_, err := rfc3161.Verify(stamp(t, tsa), digest, nil, now)
		wantInvalid(t, err, "no trusted TSA roots")
	})
	t.Run("ErrTamperedTime", func(t *testing.T) {
		tok := stamp(t, tsa)
		i := bytes.Index(tok, []byte("20261127120000Z"))
		if i < 0 {
			t.Fatal("no GeneralizedTime in the token")
		}
		tok[i+3] = '5' // 2025: back-dated by a year
		_, err := rfc3161.Verify(tok, digest, tsa.Roots, now)
		wantInvalid(t, err, "CMS signature does not verify")
	})
	t.Run("ErrTamperedSignature", func(t *testing.T) {
		tok := stamp(t, tsa)
		tok[len(tok)-1] ^= 0x01
		_, err := rfc3161.Verify(tok, digest, tsa.Roots, now)
		wantInvalid(t, err, "")
	})
	t.Run("ErrTruncated", func(t *testing.T) {
		tok := stamp(t, tsa)
		for _, n := range []int{0, 1, len(tok) / 2, len(tok) - 1} {
			if _, err := rfc3161.Verify(tok[:n], digest, tsa.Roots, now); !errors.Is(err, rfc3161.ErrInvalidToken) {
				t.Errorf("token cut to %d bytes: error %v", n, err)
			}
		}
	})
	t.Run("ErrFuture", func(t *testing.T) {
		_, err := rfc3161.Verify(stamp(t, tsa), digest, tsa.Roots, at.Add(-time.Hour))
		wantInvalid(t, err, "after the current time")
	})
	t.Run("ErrServerStatus", func(t *testing.T) {
		tsa.FailNext(1)
		_, err := (&rfc3161.Client{URL: tsa.URL()}).Timestamp(t.Context(), digest)
		if auditshot.ErrorCode(err) != auditshot.EUNAVAILABLE || !strings.Contains(auditshot.ErrorMessage(err), "HTTP 500") {
			t.Fatalf("Timestamp: %v, want EUNAVAILABLE naming HTTP 500", err)
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := (&rfc3161.Client{URL: tsa.URL()}).Timestamp(ctx, digest)
		if auditshot.ErrorCode(err) != auditshot.EUNAVAILABLE {
			t.Fatalf("Timestamp: %v, want EUNAVAILABLE", err)
		}
	})
}

func TestVerify_Chain(t *testing.T) {
	tsa := rfc3161test.New(t, rfc3161test.Options{})
	at := time.Now()
	tok, err := rfc3161.VerifyToken(tsa.Token(digest, at), digest, tsa.Roots, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Chain) != 2 || !tok.Chain[1].Equal(tsa.Root) || !tok.Signer.Equal(tsa.Cert) {
		t.Errorf("chain %v, want TSA cert then root", tok.Chain)
	}
	// A pool holding the TSA certificate itself but not its root does not
	// make it trusted for time stamping through another path.
	pool := x509.NewCertPool()
	pool.AddCert(rfc3161test.New(t, rfc3161test.Options{}).Root)
	if _, err := rfc3161.Verify(tsa.Token(digest, at), digest, pool, at); err == nil {
		t.Error("token verifies against another CA")
	}
}

func FuzzVerify(f *testing.F) {
	tsa := rfc3161test.New(f, rfc3161test.Options{})
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Add(tsa.Token(digest, at))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = rfc3161.GenTime(b, digest)
		if _, err := rfc3161.Verify(b, digest, tsa.Roots, at.Add(time.Hour)); err != nil && !errors.Is(err, rfc3161.ErrInvalidToken) {
			t.Fatalf("error %v does not wrap ErrInvalidToken", err)
		}
	})
}
