package rfc3161

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/digitorus/timestamp"
)

// DefaultTimeout bounds a request to the TSA when Client.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Media types of RFC 3161 over HTTP (§3.4).
const (
	QueryMediaType = "application/timestamp-query"
	ReplyMediaType = "application/timestamp-reply"
)

// Client requests time-stamp tokens from a TSA over HTTP (RFC 3161 §3.4).
// It implements auditshot.Timestamper.
type Client struct {
	// URL is the TSA's endpoint.
	URL string
	// HTTPClient sends the requests; if nil, a client with DefaultTimeout.
	HTTPClient *http.Client
}

var _ auditshot.Timestamper = (*Client)(nil)

// Timestamp asks the TSA to stamp digest (a SHA-256 message imprint) with a
// fresh nonce, requesting its certificate in the token, and returns the
// token once the response is granted and the token's imprint and nonce are
// those asked for (its CMS signature is checked against the embedded
// certificate; trust in the TSA is Verify's job). Returns EUNAVAILABLE if
// the TSA cannot be reached, answers an HTTP error or refuses, and
// EINTERNAL if it answers something else than the token asked for.
func (c *Client) Timestamp(ctx context.Context, digest [32]byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("time-stamp nonce: %w", err)
	}
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("time-stamp request: %w", err)
	}
	body, err := c.post(ctx, req)
	if err != nil {
		return nil, err
	}
	ts, err := parseResponse(body)
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "the time-stamping authority did not grant a token", Err: err}
	}
	if _, _, err := parse(ts.RawToken); err != nil {
		return nil, &auditshot.Error{Code: auditshot.EINTERNAL, Message: "the time-stamping authority answered an invalid token", Err: err}
	}
	switch {
	case ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, digest[:]):
		return nil, auditshot.Errorf(auditshot.EINTERNAL, "the time-stamping authority stamped another digest than the one asked for")
	case ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0:
		return nil, auditshot.Errorf(auditshot.EINTERNAL, "the time-stamping authority answered with another nonce than the one sent")
	}
	return ts.RawToken, nil
}

// parseResponse parses a TimeStampResp, guarding against parser panics.
func parseResponse(body []byte) (ts *timestamp.Timestamp, err error) {
	defer func() {
		if p := recover(); p != nil {
			ts, err = nil, fmt.Errorf("malformed time-stamp response: %v", p)
		}
	}()
	return timestamp.ParseResponse(body)
}

// post sends a time-stamp query and returns the body of a 200 response.
func (c *Client) post(ctx context.Context, query []byte) ([]byte, error) {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(query))
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EINVALID, Message: "invalid time-stamping authority URL", Err: err}
	}
	req.Header.Set("Content-Type", QueryMediaType)
	req.Header.Set("Accept", ReplyMediaType)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "the time-stamping authority cannot be reached", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenSize+1))
	if err != nil {
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE, Message: "reading the time-stamping authority's answer failed", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &auditshot.Error{Code: auditshot.EUNAVAILABLE,
			Message: fmt.Sprintf("the time-stamping authority answered HTTP %d", resp.StatusCode)}
	}
	if len(body) > MaxTokenSize {
		return nil, auditshot.Errorf(auditshot.EINTERNAL, "the time-stamping authority's answer is larger than %d bytes", MaxTokenSize)
	}
	return body, nil
}
