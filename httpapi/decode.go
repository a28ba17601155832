package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/auditshot/auditshot"
)

// readBody reads the whole request body, at most limit bytes. Returns
// ETOOLARGE beyond the limit.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, auditshot.Errorf(auditshot.ETOOLARGE, "request body of %d bytes is larger than the limit of %d bytes", r.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, auditshot.Errorf(auditshot.EINVALID, "read request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, auditshot.Errorf(auditshot.ETOOLARGE, "request body is larger than the limit of %d bytes", limit)
	}
	return b, nil
}

// decodeJSON decodes body into v, strictly: one JSON object, no unknown
// fields, nothing after it. Errors are EINVALID and name what was wrong.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return auditshot.Errorf(auditshot.EINVALID, "request body is empty: a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return auditshot.Errorf(auditshot.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a message that names the field.
func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &syntax):
		msg = fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ) && typ.Field != "":
		msg = fmt.Sprintf("field %q: expected %s, got JSON %s", typ.Field, typeName(typ.Type.String()), typ.Value)
	case errors.As(err, &typ):
		msg = fmt.Sprintf("expected %s, got JSON %s", typeName(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		msg = "malformed JSON: unexpected end of the body"
	case strings.HasPrefix(msg, "json: unknown field "):
		msg = "unknown field " + strings.TrimPrefix(msg, "json: unknown field ")
	default:
		msg = strings.TrimPrefix(msg, "json: ")
	}
	var ae *auditshot.Error
	if errors.As(err, &ae) {
		return ae
	}
	return auditshot.Errorf(auditshot.EINVALID, "%s", msg)
}

// typeName is a JSON-ish name of a Go type, for error messages.
func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string" || strings.HasSuffix(t, "Scope") || strings.HasSuffix(t, "Status") || strings.HasSuffix(t, "Type"):
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "an object"
	}
	return "an object"
}
