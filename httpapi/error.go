package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/auditshot/auditshot"
)

// errorStatus is the one place an error code becomes an HTTP status.
func errorStatus(err error) int {
	if errors.Is(err, auditshot.ErrPushback) {
		return http.StatusTooManyRequests
	}
	switch auditshot.ErrorCode(err) {
	case auditshot.EINVALID:
		return http.StatusBadRequest
	case auditshot.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case auditshot.EFORBIDDEN:
		return http.StatusForbidden
	case auditshot.ENOTFOUND:
		return http.StatusNotFound
	case auditshot.ECONFLICT:
		return http.StatusConflict
	case auditshot.EQUOTA:
		return http.StatusPaymentRequired
	case auditshot.ERATELIMIT:
		return http.StatusTooManyRequests
	case auditshot.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case auditshot.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case auditshot.ETIMEOUT:
		return http.StatusGatewayTimeout
	case auditshot.EUPSTREAM:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// writeError renders err. Internal errors are logged with their detail and
// shown to the caller only as "internal error" with the request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := auditshot.ErrorCode(err), auditshot.ErrorMessage(err)
	status := errorStatus(err)
	if errors.Is(err, auditshot.ErrPushback) {
		code = auditshot.ERATELIMIT
	}
	rid := requestID(r.Context())
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", rid),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("err", err))
	}
	var ae *auditshot.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
	} else if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: msg, RequestID: rid}})
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
