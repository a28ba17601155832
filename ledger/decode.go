package ledger

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The decoders below read members of an entry that Parse has already found
// to be canonical JSON. They check types and syntax; Parse then re-encodes
// the result and compares, so anything they let through that Marshal would
// write differently is still refused.

func decodeTime(b []byte) (time.Time, error) {
	s, err := decodeString(b)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil || t.Format(TimeLayout) != s {
		return time.Time{}, fmt.Errorf("time %q: want UTC RFC 3339 with nine fractional digits, like %q", s, TimeLayout)
	}
	if t.IsZero() {
		return time.Time{}, errors.New("the zero time is not a time: omit the member")
	}
	return t, nil
}

func decodeIDs(b []byte) (map[string]string, error) {
	if string(b) == "{}" {
		return nil, errors.New("an empty object must be omitted")
	}
	ids := map[string]string{}
	err := walkObject(b, func(key string, val []byte) error {
		if !validIDKey(key) {
			return fmt.Errorf("key %q: want 1 to 64 characters of [a-z0-9_] starting with a letter", key)
		}
		v, err := decodeString(val)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if v == "" {
			return fmt.Errorf("%s: empty id", key)
		}
		ids[key] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func decodeAgent(b []byte) (*Agent, error) {
	if string(b) == "{}" {
		return nil, errors.New("an empty object must be omitted")
	}
	a := &Agent{}
	err := walkObject(b, func(key string, val []byte) error {
		var f *string
		switch key {
		case "id":
			f = &a.ID
		case "name":
			f = &a.Name
		case "model":
			f = &a.Model
		case "version":
			f = &a.Version
		case "code_ref":
			f = &a.CodeRef
		default:
			return fmt.Errorf("unknown member %q", key)
		}
		s, err := decodeString(val)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if s == "" {
			return fmt.Errorf("%s: an empty string must be omitted", key)
		}
		*f = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// decodeArtifacts returns errors that begin "[i]: " for the i'th artifact,
// or ": " for the list, to follow the member name.
func decodeArtifacts(b []byte) ([]Artifact, error) {
	switch {
	case b[0] != '[':
		return nil, errors.New(": want a JSON array")
	case string(b) == "[]":
		return nil, errors.New(": an empty list must be omitted")
	}
	var arts []Artifact
	err := walkArray(b, func(i int, val []byte) error {
		a, err := decodeArtifact(val)
		if err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		arts = append(arts, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arts, nil
}

func decodeArtifact(b []byte) (Artifact, error) {
	var a Artifact
	seen := map[string]bool{}
	err := walkObject(b, func(key string, val []byte) error {
		seen[key] = true
		var err error
		switch key {
		case "sha256":
			a.SHA256, err = decodeString(val)
		case "size":
			a.Size, err = decodeInt(val)
		case "media_type":
			a.MediaType, err = decodeString(val)
		case "role":
			if a.Role, err = decodeString(val); err == nil && a.Role == "" {
				err = errors.New("an empty string must be omitted")
			}
		default:
			return fmt.Errorf("unknown member %q", key)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return Artifact{}, err
	}
	for _, k := range []string{"sha256", "size", "media_type"} {
		if !seen[k] {
			return Artifact{}, fmt.Errorf("missing member %q", k)
		}
	}
	return a, a.validate()
}

// walkObject calls fn for each member of the canonical JSON object b, in
// order, with the member's key and the canonical bytes of its value. b MUST
// have passed checkCanonical: walkObject does not check it again.
func walkObject(b []byte, fn func(key string, val []byte) error) error {
	r := &reader{data: b, strict: true}
	if len(b) < 2 || b[0] != '{' {
		return errors.New("want a JSON object")
	}
	r.pos = 1
	if b[1] == '}' {
		return nil
	}
	for {
		key, err := r.str()
		if err != nil {
			return err
		}
		r.pos++ // ':'
		start := r.pos
		r.pos = skipValue(b, r.pos)
		if err := fn(key, b[start:r.pos]); err != nil {
			return err
		}
		if r.pos >= len(b) {
			return r.fail("unexpected end of input")
		}
		r.pos++
		if b[r.pos-1] == '}' {
			return nil
		}
	}
}

// walkArray calls fn for each element of the canonical JSON array b, in
// order, with its index and canonical bytes. b MUST have passed
// checkCanonical.
func walkArray(b []byte, fn func(i int, val []byte) error) error {
	r := &reader{data: b, strict: true}
	if len(b) < 2 || b[0] != '[' {
		return errors.New("want a JSON array")
	}
	r.pos = 1
	if b[1] == ']' {
		return nil
	}
	for i := 0; ; i++ {
		start := r.pos
		r.pos = skipValue(b, r.pos)
		if err := fn(i, b[start:r.pos]); err != nil {
			return err
		}
		if r.pos >= len(b) {
			return r.fail("unexpected end of input")
		}
		r.pos++
		if b[r.pos-1] == ']' {
			return nil
		}
	}
}

// decodeString returns the value of the canonical JSON string b.
func decodeString(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '"' {
		return "", errors.New("want a string")
	}
	r := &reader{data: b, strict: true}
	return r.str()
}

// decodeInt returns the value of the canonical JSON number b.
func decodeInt(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, errors.New("want an integer")
	}
	return n, nil
}

// skipValue returns the offset just past the value starting at b[i], which
// MUST be part of a document that passed checkCanonical (so there is no
// whitespace and every bracket and string is closed).
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			i++
		case '{', '[':
			depth++
			i++
			continue
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i
			}
			i++
			continue
		default:
			i++
			continue
		}
		if depth == 0 {
			return i
		}
	}
	return i
}
