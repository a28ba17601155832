// Package auditshot holds the domain of auditshot: the types that describe
// agent runs, captures, artifacts and ledger entries, the service interfaces
// that adapters implement, and the one application error type.
//
// It imports the standard library only. Adapters (chromium, egress, sqlite,
// httpapi, ...) depend on it; it depends on none of them.
package auditshot

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. Each maps to one HTTP status in httpapi, and
// nowhere else.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EQUOTA        = "quota_exceeded"
	EUNAVAILABLE  = "unavailable"
	ETIMEOUT      = "timeout"
	// ERATELIMIT means the caller sent too many requests in a short time;
	// the error's RetryAfter says when to try again.
	ERATELIMIT = "rate_limited"
	// ETOOLARGE means the request body is larger than the limit.
	ETOOLARGE = "too_large"
	// EUPSTREAM means the page to capture could not be loaded (refused
	// connection, DNS failure, TLS error): the target's fault, not
	// auditshot's, so retrying soon is unlikely to help.
	EUPSTREAM = "upstream_failed"
)

// Error is the application error. Message is safe to show to a caller; Err
// holds internal detail for logs and errors.Is/As and is never shown.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set, tells the caller when to try again (backpressure).
	RetryAfter time.Duration
	// Err is the wrapped cause, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("auditshot error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("auditshot error: code=%s message=%s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or "internal error" for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrPushback is wrapped by the error a service returns when it is at
// capacity and the caller should retry later (HTTP 429/503 with Retry-After).
var ErrPushback = errors.New("pushback: at capacity, retry later")
