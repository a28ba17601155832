package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
)

// Defaults for Config.
const (
	// DefaultRetries is how many times a call is retried after its first
	// attempt.
	DefaultRetries = 3
	// DefaultRetryBackoff is the wait before the first retry of an answer
	// without Retry-After (or of a connection error); it doubles with each
	// retry, with jitter.
	DefaultRetryBackoff = 250 * time.Millisecond
	// DefaultMaxRetryWait is the longest wait before a retry.
	DefaultMaxRetryWait = 30 * time.Second
	// DefaultPollInterval is how often WaitJob asks about a job.
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultUserAgent is the User-Agent header of every request.
	DefaultUserAgent = "auditshot-go-client/1"
)

// Config is how a Client reaches the API. BaseURL and APIKey are required;
// zero values of the other fields take the Default* constants.
type Config struct {
	// BaseURL is where the API is served, such as "http://127.0.0.1:8080".
	BaseURL string
	// APIKey ("ask_<id>_<secret>") is sent as "Authorization: Bearer".
	APIKey string
	// HTTPClient sends the requests; http.DefaultClient if nil. Calls are
	// bounded by their context, so it needs no timeout of its own.
	HTTPClient *http.Client
	// Retries is how many times a call is retried; DefaultRetries if 0,
	// none if negative. See Client for what is retried.
	Retries int
	// RetryBackoff is the first wait between retries when the server gives
	// no Retry-After; DefaultRetryBackoff if 0.
	RetryBackoff time.Duration
	// MaxRetryWait caps the wait before a retry; DefaultMaxRetryWait if 0.
	// An answer whose Retry-After is longer is returned, not waited out.
	MaxRetryWait time.Duration
	// PollInterval is how often WaitJob polls; DefaultPollInterval if 0.
	PollInterval time.Duration
	// UserAgent is sent with every request; DefaultUserAgent if empty.
	UserAgent string
	// TrustedKeys are the verifier keys (note format, "<name>+<hash>+<key>")
	// that VerifyRun accepts as signers of the log's checkpoints. Pin the
	// key the operator gave you out of band: without trusted keys VerifyRun
	// trusts the keys the server names, which proves the proof consistent
	// but not that the log is the operator's.
	TrustedKeys []string
	// Origin is the log origin ("<base>/<tenant>") VerifyRun expects the
	// checkpoint to be of. Empty accepts the checkpoint's own origin.
	Origin string
}

// Client calls the auditshot API. It is safe for concurrent use.
//
// A call is retried, up to Config.Retries times, when the answer is 429
// or 503 (after the Retry-After the server gives, or an exponential
// backoff when it gives none) or when the request fails to reach the
// server; never after another 4xx or 5xx answer, and never after its
// context is done. Every POST carries an Idempotency-Key (random, or the
// one WithIdempotencyKey set) that all its retries reuse, so the server
// does the write once. A PATCH is not retried after a connection error,
// since it may have been applied.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// New returns a client for cfg. It returns an error if BaseURL is not an
// http or https URL or APIKey is empty.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: BaseURL %q: want an http or https URL", cfg.BaseURL)
	}
	if cfg.APIKey == "" {
		return nil, errors.New("client: APIKey is required")
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{cfg: cfg, base: u, http: hc}, nil
}

// Error is an error answer of the API. It wraps the *auditshot.Error made
// from the answer's code and message, so auditshot.ErrorCode(err) and
// auditshot.ErrorMessage(err) work on it and on any error wrapping it.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// RequestID is the server's id of the request, for its logs.
	RequestID string
	// RetryAfter is the wait the server asked for (429, 503), or 0.
	RetryAfter time.Duration
	// Err holds the code and the message; Err.RetryAfter equals RetryAfter.
	Err *auditshot.Error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("auditshot API: %d %s: %s", e.Status, e.Err.Code, e.Err.Message)
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Unwrap returns the *auditshot.Error.
func (e *Error) Unwrap() error { return e.Err }

type ctxKey struct{}

// WithIdempotencyKey returns a context whose POST calls send key as their
// Idempotency-Key instead of a random one: a caller that retries a call
// itself, even from another process, with the same key and the same
// request gets the first answer back instead of a second write. Use a key
// for one call only; the server refuses a key reused for another request.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, ctxKey{}, key)
}

func idempotencyKey(ctx context.Context) string {
	if k, _ := ctx.Value(ctxKey{}).(string); k != "" {
		return k
	}
	var b [16]byte
	rand.Read(b[:])
	return "idk_" + hex.EncodeToString(b[:])
}

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // marshalled as JSON unless nil
	accept string
}

// send makes the call, with retries, and returns the response of a 2xx
// answer; the caller closes its body. Other answers are returned as *Error.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("encode %s %s request: %w", r.method, r.path, err)
		}
	}
	u := c.base.String() + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var idem string
	if r.method == http.MethodPost {
		idem = idempotencyKey(ctx)
	}
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
		req.Header.Set("User-Agent", c.cfg.UserAgent)
		req.Header.Set("Accept", "application/json")
		if r.accept != "" {
			req.Header.Set("Accept", r.accept)
		}
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		resp, err := c.http.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			err = fmt.Errorf("%s %s: %w", r.method, r.path, err)
			if r.method == http.MethodPatch {
				return nil, err
			}
			wait = c.backoff(attempt)
		case resp.StatusCode/100 == 2:
			return resp, nil
		default:
			apiErr := readError(resp)
			err = apiErr
			if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
				return nil, err
			}
			wait = apiErr.RetryAfter
			if wait == 0 {
				wait = c.backoff(attempt)
			}
		}
		if attempt >= c.cfg.Retries || wait > c.cfg.MaxRetryWait {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// backoff is the wait before retry attempt+1 when the server named none.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryBackoff << min(attempt, 16)
	d += time.Duration(mrand.Int64N(int64(d)/2 + 1))
	return min(d, c.cfg.MaxRetryWait)
}

// do makes the call and decodes a JSON answer into out, unless out is nil.
func (c *Client) do(ctx context.Context, r request, out any) (http.Header, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return resp.Header, nil
	}
	if err := decode(resp, out); err != nil {
		return nil, err
	}
	return resp.Header, nil
}

// decode decodes a JSON answer into out.
func decode(resp *http.Response, out any) error {
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// readError turns a non-2xx answer into an *Error and closes its body.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		e.Err = &auditshot.Error{Code: body.Error.Code, Message: body.Error.Message}
		if e.RequestID == "" {
			e.RequestID = body.Error.RequestID
		}
	} else {
		msg := http.StatusText(resp.StatusCode)
		if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
			msg += ": " + s
		}
		e.Err = &auditshot.Error{Code: statusCode(resp.StatusCode), Message: msg}
	}
	e.Err.RetryAfter = e.RetryAfter
	return e
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < math.MaxInt32 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// statusCode is the error code of an answer without an error body: the
// inverse of the server's code-to-status map.
func statusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return auditshot.EINVALID
	case http.StatusUnauthorized:
		return auditshot.EUNAUTHORIZED
	case http.StatusForbidden:
		return auditshot.EFORBIDDEN
	case http.StatusNotFound:
		return auditshot.ENOTFOUND
	case http.StatusConflict:
		return auditshot.ECONFLICT
	case http.StatusPaymentRequired:
		return auditshot.EQUOTA
	case http.StatusTooManyRequests:
		return auditshot.ERATELIMIT
	case http.StatusRequestEntityTooLarge:
		return auditshot.ETOOLARGE
	case http.StatusServiceUnavailable:
		return auditshot.EUNAVAILABLE
	case http.StatusGatewayTimeout:
		return auditshot.ETIMEOUT
	}
	return auditshot.EINTERNAL
}

// escape escapes a path segment.
func escape(s string) string { return url.PathEscape(s) }
