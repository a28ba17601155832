package ledger

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads and writes canonical JSON; the package documentation
// ("Canonical JSON") states the rules.
//
// The lenient reader (used by Marshal on Entry.Data) accepts any RFC 8259
// document that satisfies the number, UTF-8, duplicate-key and depth rules and
// rewrites it in canonical form. The strict reader (used by Parse) accepts
// canonical documents only, so Parse never has to re-serialise what it hashes.

// maxSafeInt is 2^53-1, the largest integer every JSON reader represents
// exactly.
const maxSafeInt = 1<<53 - 1

// maxDepth bounds the nesting of objects and arrays.
const maxDepth = 64

// syntaxError is a problem at a byte offset of a JSON document. canon says
// whether the document is valid JSON that is merely not canonical.
type syntaxError struct {
	off   int
	msg   string
	canon bool
}

func (e *syntaxError) Error() string {
	if e.off < 0 {
		return e.msg
	}
	return fmt.Sprintf("byte %d: %s", e.off, e.msg)
}

// reader reads one JSON document. In strict mode it checks that the input is
// canonical and writes nothing; otherwise it appends the canonical form of
// what it reads to out.
type reader struct {
	data   []byte
	pos    int
	strict bool
	depth  int
}

func (r *reader) fail(msg string, args ...any) error {
	return &syntaxError{off: r.pos, msg: fmt.Sprintf(msg, args...)}
}

func (r *reader) notCanonical(msg string, args ...any) error {
	return &syntaxError{off: r.pos, msg: fmt.Sprintf(msg, args...), canon: true}
}

// canonicalize returns the canonical form of the JSON document b.
func canonicalize(b []byte) ([]byte, error) {
	r := &reader{data: b}
	if err := r.space(); err != nil {
		return nil, err
	}
	out, err := r.value(make([]byte, 0, len(b)))
	if err != nil {
		return nil, err
	}
	if err := r.space(); err != nil {
		return nil, err
	}
	if r.pos != len(r.data) {
		return nil, r.fail("unexpected data after the JSON value")
	}
	return out, nil
}

// checkCanonical reports whether b is one canonical JSON document.
func checkCanonical(b []byte) error {
	r := &reader{data: b, strict: true}
	if _, err := r.value(nil); err != nil {
		return err
	}
	if r.pos != len(r.data) {
		if isSpace(r.data[r.pos]) {
			return r.notCanonical("whitespace after the JSON value")
		}
		return r.fail("unexpected data after the JSON value")
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// space skips whitespace; in strict mode any whitespace is an error.
func (r *reader) space() error {
	for r.pos < len(r.data) && isSpace(r.data[r.pos]) {
		if r.strict {
			return r.notCanonical("whitespace outside a string")
		}
		r.pos++
	}
	return nil
}

// value reads one value (with no leading whitespace) and appends its
// canonical form to out, unless strict.
func (r *reader) value(out []byte) ([]byte, error) {
	if r.pos >= len(r.data) {
		return nil, r.fail("unexpected end of input")
	}
	switch c := r.data[r.pos]; {
	case c == '{':
		return r.object(out)
	case c == '[':
		return r.array(out)
	case c == '"':
		s, err := r.strBytes()
		if err != nil {
			return nil, err
		}
		if r.strict {
			return out, nil
		}
		return appendString(out, string(s)), nil
	case c == '-' || c >= '0' && c <= '9':
		return r.number(out)
	case isSpace(c):
		if r.strict {
			return nil, r.notCanonical("whitespace outside a string")
		}
		return nil, r.fail("unexpected whitespace")
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(r.data[r.pos:], []byte(lit)) {
				r.pos += len(lit)
				if r.strict {
					return out, nil
				}
				return append(out, lit...), nil
			}
		}
		return nil, r.fail("invalid character %q looking for a value", c)
	}
}

// expect consumes byte c after optional whitespace.
func (r *reader) expect(c byte) error {
	if err := r.space(); err != nil {
		return err
	}
	if r.pos >= len(r.data) {
		return r.fail("unexpected end of input, want %q", c)
	}
	if r.data[r.pos] != c {
		return r.fail("invalid character %q, want %q", r.data[r.pos], c)
	}
	r.pos++
	return nil
}

// peek returns the next byte after optional whitespace, or 0 at the end.
func (r *reader) peek() (byte, error) {
	if err := r.space(); err != nil {
		return 0, err
	}
	if r.pos >= len(r.data) {
		return 0, r.fail("unexpected end of input")
	}
	return r.data[r.pos], nil
}

func (r *reader) enter() error {
	r.depth++
	if r.depth > maxDepth {
		return r.fail("nested deeper than %d levels", maxDepth)
	}
	return nil
}

type member struct {
	key string
	val []byte
}

// object reads an object. In strict mode it checks the key order as it
// goes; otherwise it collects the members and writes them sorted.
func (r *reader) object(out []byte) ([]byte, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.pos++ // '{'
	var members []member
	var prev []byte
	first := true
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '}' {
		r.pos++
		r.depth--
		if r.strict {
			return out, nil
		}
		return append(out, "{}"...), nil
	}
	for {
		if err := r.space(); err != nil {
			return nil, err
		}
		keyAt := r.pos
		if r.pos >= len(r.data) || r.data[r.pos] != '"' {
			return nil, r.fail("object key must be a string")
		}
		key, err := r.strBytes()
		if err != nil {
			return nil, err
		}
		if err := r.expect(':'); err != nil {
			return nil, err
		}
		if err := r.space(); err != nil {
			return nil, err
		}
		if r.strict {
			switch cmp := bytes.Compare(key, prev); {
			case !first && cmp == 0:
				return nil, &syntaxError{off: keyAt, msg: fmt.Sprintf("duplicate key %q", key)}
			case !first && cmp < 0:
				return nil, &syntaxError{off: keyAt, msg: fmt.Sprintf("key %q after %q: keys must be sorted", key, prev), canon: true}
			}
			if _, err := r.value(nil); err != nil {
				return nil, err
			}
		} else {
			val, err := r.value(nil)
			if err != nil {
				return nil, err
			}
			members = append(members, member{key: string(key), val: val})
		}
		prev, first = key, false
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		r.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			r.pos--
			return nil, r.fail("invalid character %q after object member, want ',' or '}'", c)
		}
	}
	r.depth--
	if r.strict {
		return out, nil
	}
	return appendMembers(out, members)
}

// appendMembers sorts members by key and writes them as an object.
func appendMembers(out []byte, members []member) ([]byte, error) {
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			if members[i-1].key == m.key {
				return nil, &syntaxError{off: -1, msg: fmt.Sprintf("duplicate key %q", m.key)}
			}
			out = append(out, ',')
		}
		out = appendString(out, m.key)
		out = append(out, ':')
		out = append(out, m.val...)
	}
	return append(out, '}'), nil
}

func (r *reader) array(out []byte) ([]byte, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.pos++ // '['
	if !r.strict {
		out = append(out, '[')
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == ']' {
		r.pos++
		r.depth--
		if r.strict {
			return out, nil
		}
		return append(out, ']'), nil
	}
	for i := 0; ; i++ {
		if err := r.space(); err != nil {
			return nil, err
		}
		if i > 0 && !r.strict {
			out = append(out, ',')
		}
		if out, err = r.value(out); err != nil {
			return nil, err
		}
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		r.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			r.pos--
			return nil, r.fail("invalid character %q after array element, want ',' or ']'", c)
		}
	}
	r.depth--
	if r.strict {
		return out, nil
	}
	return append(out, ']'), nil
}

// number reads an integer. Both modes reject fractions, exponents, "-0" and
// values outside the safe range; leading zeros are invalid JSON anyway.
func (r *reader) number(out []byte) ([]byte, error) {
	start := r.pos
	if r.data[r.pos] == '-' {
		r.pos++
	}
	digits := r.pos
	for r.pos < len(r.data) && r.data[r.pos] >= '0' && r.data[r.pos] <= '9' {
		r.pos++
	}
	if r.pos == digits {
		return nil, r.fail("invalid number: no digits")
	}
	if r.data[digits] == '0' && r.pos-digits > 1 {
		return nil, &syntaxError{off: start, msg: "invalid number: leading zero"}
	}
	if r.pos < len(r.data) {
		if c := r.data[r.pos]; c == '.' || c == 'e' || c == 'E' {
			return nil, &syntaxError{off: start, msg: "number is not an integer: encode fractional values as strings"}
		}
	}
	lit := string(r.data[start:r.pos])
	if lit == "-0" {
		return nil, &syntaxError{off: start, msg: "number -0 is not canonical: write 0", canon: true}
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil || n > maxSafeInt || n < -maxSafeInt {
		return nil, &syntaxError{off: start, msg: fmt.Sprintf("number %s is outside ±(2^53-1): encode it as a string", lit)}
	}
	if r.strict {
		return out, nil
	}
	return append(out, lit...), nil
}

// str reads a string and returns its value. In strict mode any escape that
// appendString would not write is an error.
func (r *reader) str() (string, error) {
	b, err := r.strBytes()
	return string(b), err
}

// strBytes is str returning bytes, which alias the input when the string
// has no escapes.
func (r *reader) strBytes() ([]byte, error) {
	r.pos++ // '"'
	start := r.pos
	// Fast path: no escapes.
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			r.pos++
			continue
		}
		if c == '"' {
			s := r.data[start:r.pos]
			r.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if err := r.plain(); err != nil {
			return nil, err
		}
	}
	buf := append([]byte(nil), r.data[start:r.pos]...)
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		switch c {
		case '"':
			r.pos++
			return buf, nil
		case '\\':
			var err error
			if buf, err = r.escape(buf); err != nil {
				return nil, err
			}
		default:
			at := r.pos
			if err := r.plain(); err != nil {
				return nil, err
			}
			buf = append(buf, r.data[at:r.pos]...)
		}
	}
	return nil, r.fail("unterminated string")
}

// plain consumes one unescaped character of a string.
func (r *reader) plain() error {
	c := r.data[r.pos]
	if c < 0x20 {
		return r.fail("control character %#02x in string must be escaped", c)
	}
	if c < utf8.RuneSelf {
		r.pos++
		return nil
	}
	ru, size := utf8.DecodeRune(r.data[r.pos:])
	if ru == utf8.RuneError && size == 1 {
		return r.fail("invalid UTF-8 in string")
	}
	r.pos += size
	return nil
}

// escape reads one escape sequence at r.pos and appends its value to buf.
func (r *reader) escape(buf []byte) ([]byte, error) {
	at := r.pos
	if r.pos+1 >= len(r.data) {
		return nil, r.fail("unterminated escape")
	}
	c := r.data[r.pos+1]
	r.pos += 2
	switch c {
	case '"', '\\':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case '/':
		if r.strict {
			return nil, &syntaxError{off: at, msg: `escape \/ is not canonical: write /`, canon: true}
		}
		return append(buf, '/'), nil
	case 'u':
	default:
		return nil, &syntaxError{off: at, msg: fmt.Sprintf("invalid escape \\%c", c)}
	}
	u, ok := r.hex4()
	if !ok {
		return nil, &syntaxError{off: at, msg: `invalid \u escape`}
	}
	if r.strict {
		// Canonical only where appendString writes this very escape: a
		// control character without a short form, in lowercase hex.
		lit := string(r.data[at:r.pos])
		if u >= 0x20 || string(appendString(nil, string(rune(u)))) != `"`+lit+`"` {
			return nil, &syntaxError{off: at, msg: fmt.Sprintf(`escape %s is not canonical: only control characters are escaped, as \b \f \n \r \t or lowercase \u00xx; write other characters as UTF-8`, lit), canon: true}
		}
		return append(buf, byte(u)), nil
	}
	ru := rune(u)
	if utf16.IsSurrogate(ru) {
		// A high surrogate must be followed by an escaped low surrogate.
		u2, ok := 0, false
		if r.pos+1 < len(r.data) && r.data[r.pos] == '\\' && r.data[r.pos+1] == 'u' {
			r.pos += 2
			u2, ok = r.hex4()
		}
		ru = utf16.DecodeRune(ru, rune(u2))
		if !ok || ru == utf8.RuneError {
			return nil, &syntaxError{off: at, msg: "invalid UTF-16 surrogate pair in string"}
		}
	}
	return utf8.AppendRune(buf, ru), nil
}

// hex4 reads four hex digits.
func (r *reader) hex4() (int, bool) {
	if r.pos+4 > len(r.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(r.data[r.pos:r.pos+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	r.pos += 4
	return int(n), true
}

// appendString writes s as a canonical JSON string. s MUST be valid UTF-8.
func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
