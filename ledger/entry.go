package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Version is the entry format version, the value of the "v" member of every
// entry this package writes or accepts.
const Version = 1

// MaxEntrySize is the largest encoded entry, in bytes. Marshal MUST NOT
// produce, and Parse MUST NOT accept, a longer one.
const MaxEntrySize = 64 << 10

// TimeLayout is the canonical time format of entries: RFC 3339 in UTC with
// exactly nine fractional digits, so that equal instants have equal bytes
// and the text sorts as the time does.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Errors returned by Marshal and Parse. Every error they return wraps
// ErrInvalidEntry; ErrNotCanonical and ErrEntryTooLarge wrap it too and say
// more.
var (
	ErrInvalidEntry  = errors.New("invalid ledger entry")
	ErrNotCanonical  = fmt.Errorf("%w: not in canonical form", ErrInvalidEntry)
	ErrEntryTooLarge = fmt.Errorf("%w: larger than %d bytes", ErrInvalidEntry, MaxEntrySize)
)

// Type is the kind of event an entry records.
type Type string

// The entry types (DESIGN.md, "Ledger"). Adding a type is a format change:
// Parse rejects types it does not know, so every verifier MUST be updated
// before a log writes a new one.
const (
	TypeRunStarted       Type = "run.started"       // a run began
	TypeRunEvent         Type = "run.event"         // an event inside a run
	TypeCaptureCompleted Type = "capture.completed" // a capture finished, with its artifacts
	TypeRunFinished      Type = "run.finished"      // a run ended
	TypeKeyCreated       Type = "key.created"       // an API key was created
	TypeKeyRevoked       Type = "key.revoked"       // an API key was revoked
	TypePolicyChanged    Type = "policy.changed"    // a tenant policy changed
	TypeExportCreated    Type = "export.created"    // an evidence bundle was exported
	TypeEvidenceViewed   Type = "evidence.viewed"   // an auditor viewed evidence
	TypeAnchor           Type = "anchor"            // an RFC 3161 timestamp over a checkpoint
	TypeTombstone        Type = "tombstone"         // a blob was deleted under retention
	TypeLogKey           Type = "log.key"           // the log's signing key was created or rotated
)

// Types returns every entry type, in the order of DESIGN.md.
func Types() []Type {
	return []Type{
		TypeRunStarted, TypeRunEvent, TypeCaptureCompleted, TypeRunFinished,
		TypeKeyCreated, TypeKeyRevoked, TypePolicyChanged, TypeExportCreated,
		TypeEvidenceViewed, TypeAnchor, TypeTombstone, TypeLogKey,
	}
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// Well-known keys of Entry.IDs. Other keys are allowed if they match the key
// syntax described at Entry.IDs.
const (
	IDRun     = "run_id"
	IDEvent   = "event_id"
	IDCapture = "capture_id"
	IDKey     = "key_id"
	IDExport  = "export_id"
)

// Entry is one record of a tenant's log. Its encoded form (Marshal) is what
// the log stores and hashes; an entry MUST be hashed exactly as stored and
// never re-serialised.
//
// The encoded form is a canonical JSON object (see "Canonical JSON" in the
// package documentation) with these members; optional members are omitted
// when empty, and an empty object or list is never written:
//
//	"v"            Version (required)
//	"type"         Type (required, one of Types)
//	"tenant"       Tenant (required)
//	"ids"          IDs (optional)
//	"time"         Time in TimeLayout (required)
//	"client_time"  ClientTime in TimeLayout (optional)
//	"actor"        Actor (optional)
//	"agent"        Agent: {"code_ref","id","model","name","version"} (optional)
//	"artifacts"    Artifacts: [{"media_type","role","sha256","size"}] (optional)
//	"data"         Data (optional JSON object)
type Entry struct {
	// V is the format version and MUST be Version.
	V int
	// Type says what happened.
	Type Type
	// Tenant is the id of the tenant whose log holds the entry. Required.
	Tenant string
	// IDs names the objects the entry is about, such as IDRun and IDEvent.
	// Keys are 1 to 64 characters of [a-z0-9_] starting with a letter;
	// values are non-empty strings.
	IDs map[string]string
	// Time is the server's time when the entry was made. Required; written
	// in UTC with nanosecond precision, so any time zone or monotonic reading
	// is dropped. Years 1 to 9999 only.
	Time time.Time
	// ClientTime is the time the client claimed, if any; the zero Time means
	// none. Written like Time.
	ClientTime time.Time
	// Actor is the id of the API key that made the request, or empty for
	// entries the service makes on its own (anchors, tombstones, log keys).
	Actor string
	// Agent identifies the code that acted, if known. An Agent whose fields
	// are all empty is the same as nil.
	Agent *Agent
	// Artifacts lists every blob the entry refers to, in a meaningful order.
	// The blobs live outside the log; their hashes bind them to it.
	Artifacts []Artifact
	// Data is the type-specific payload: a JSON object, or empty for none.
	// Marshal accepts any valid JSON object that obeys the canonical number
	// rules (integers within ±(2^53-1); fractions as strings) and has no
	// duplicate keys, of at most 1 MiB before it is rewritten canonically;
	// an empty object is the same as none. Parse returns the canonical bytes.
	Data json.RawMessage
}

// Agent identifies the AI agent, or the code around it, that acted.
type Agent struct {
	ID      string // "id": the agent's stable id
	Name    string // "name": a human-readable name
	Model   string // "model": the model it ran, e.g. "claude-sonnet-4"
	Version string // "version": the agent's version
	CodeRef string // "code_ref": the code that acted, e.g. a commit or image digest
}

func (a *Agent) empty() bool { return a == nil || *a == Agent{} }

// Artifact is the reference an entry holds to one blob.
type Artifact struct {
	// SHA256 is the blob's SHA-256, 64 lowercase hex digits. Required.
	SHA256 string
	// Size is the blob's length in bytes, 0 to 2^53-1.
	Size int64
	// MediaType is the blob's media type, e.g. "image/png". Required.
	MediaType string
	// Role is what the blob is for the entry, e.g. "before", "after", "step",
	// "video", "dom", "network" or "diff". Optional.
	Role string
}

// Marshal returns the canonical encoding of e, the bytes the log stores and
// hashes. It returns an error wrapping ErrInvalidEntry if e is not valid (see
// Entry), and ErrEntryTooLarge if the encoding exceeds MaxEntrySize.
// Parse(Marshal(e)) succeeds and Marshal of its result gives the same bytes.
func Marshal(e Entry) ([]byte, error) {
	data, err := canonicalData(e.Data)
	if err != nil {
		return nil, err
	}
	return marshal(&e, data)
}

// marshal encodes e with data as its canonical payload (nil for none).
func marshal(e *Entry, data []byte) ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, 256+len(data))
	// Members in sorted key order: actor, agent, artifacts, client_time,
	// data, ids, tenant, time, type, v.
	out = append(out, '{')
	if e.Actor != "" {
		out = appendKey(out, "actor")
		out = appendString(out, e.Actor)
	}
	if !e.Agent.empty() {
		out = appendKey(out, "agent")
		out = appendAgent(out, e.Agent)
	}
	if len(e.Artifacts) > 0 {
		out = appendKey(out, "artifacts")
		out = appendArtifacts(out, e.Artifacts)
	}
	if !e.ClientTime.IsZero() {
		out = appendKey(out, "client_time")
		out = appendString(out, e.ClientTime.UTC().Format(TimeLayout))
	}
	if data != nil {
		out = appendKey(out, "data")
		out = append(out, data...)
	}
	if len(e.IDs) > 0 {
		out = appendKey(out, "ids")
		out = appendIDs(out, e.IDs)
	}
	out = appendKey(out, "tenant")
	out = appendString(out, e.Tenant)
	out = appendKey(out, "time")
	out = appendString(out, e.Time.UTC().Format(TimeLayout))
	out = appendKey(out, "type")
	out = appendString(out, string(e.Type))
	out = appendKey(out, "v")
	out = strconv.AppendInt(out, int64(e.V), 10)
	out = append(out, '}')
	if len(out) > MaxEntrySize {
		return nil, fmt.Errorf("%w: encoding is %d bytes", ErrEntryTooLarge, len(out))
	}
	return out, nil
}

// appendKey writes a member key, preceded by a comma unless it is the first.
func appendKey(out []byte, key string) []byte {
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	out = appendString(out, key)
	return append(out, ':')
}

func appendAgent(out []byte, a *Agent) []byte {
	out = append(out, '{')
	for _, f := range []struct{ k, v string }{
		{"code_ref", a.CodeRef}, {"id", a.ID}, {"model", a.Model}, {"name", a.Name}, {"version", a.Version},
	} {
		if f.v != "" {
			out = appendKey(out, f.k)
			out = appendString(out, f.v)
		}
	}
	return append(out, '}')
}

func appendArtifacts(out []byte, arts []Artifact) []byte {
	out = append(out, '[')
	for i, a := range arts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '{')
		out = appendKey(out, "media_type")
		out = appendString(out, a.MediaType)
		if a.Role != "" {
			out = appendKey(out, "role")
			out = appendString(out, a.Role)
		}
		out = appendKey(out, "sha256")
		out = appendString(out, a.SHA256)
		out = appendKey(out, "size")
		out = strconv.AppendInt(out, a.Size, 10)
		out = append(out, '}')
	}
	return append(out, ']')
}

func appendIDs(out []byte, ids map[string]string) []byte {
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out = append(out, '{')
	for _, k := range keys {
		out = appendKey(out, k)
		out = appendString(out, ids[k])
	}
	return append(out, '}')
}

// maxDataInput bounds the Data that Marshal reads. Canonicalising never
// lengthens JSON, but whitespace may make a payload that fits an entry
// longer than MaxEntrySize before it is rewritten.
const maxDataInput = 16 * MaxEntrySize

// canonicalData returns the canonical form of a Data payload, or nil for
// none. Already-canonical input is returned as is.
func canonicalData(data json.RawMessage) ([]byte, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if len(data) > maxDataInput {
		return nil, fmt.Errorf("%w: data: %d bytes before canonicalisation, more than %d", ErrEntryTooLarge, len(data), maxDataInput)
	}
	out := []byte(data)
	if checkCanonical(out) != nil {
		var err error
		if out, err = canonicalize(data); err != nil {
			return nil, fmt.Errorf("%w: data: %w", ErrInvalidEntry, err)
		}
	}
	if out[0] != '{' {
		return nil, fmt.Errorf("%w: data: must be a JSON object", ErrInvalidEntry)
	}
	if string(out) == "{}" {
		return nil, nil
	}
	return out, nil
}

// validate checks the fields Marshal writes, except Data.
func (e *Entry) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidEntry, field, fmt.Sprintf(format, args...))
	}
	if e.V != Version {
		return bad("v", "unsupported version %d, want %d", e.V, Version)
	}
	if !e.Type.Valid() {
		return bad("type", "unknown entry type %q", e.Type)
	}
	if err := checkText(e.Tenant, true); err != nil {
		return bad("tenant", "%v", err)
	}
	if err := checkText(e.Actor, false); err != nil {
		return bad("actor", "%v", err)
	}
	if e.Time.IsZero() {
		return bad("time", "required")
	}
	if err := checkTime(e.Time); err != nil {
		return bad("time", "%v", err)
	}
	if err := checkTime(e.ClientTime); err != nil && !e.ClientTime.IsZero() {
		return bad("client_time", "%v", err)
	}
	for k, v := range e.IDs {
		if !validIDKey(k) {
			return bad("ids", "key %q: want 1 to 64 characters of [a-z0-9_] starting with a letter", k)
		}
		if err := checkText(v, true); err != nil {
			return bad("ids."+k, "%v", err)
		}
	}
	if a := e.Agent; a != nil {
		for _, f := range []struct{ k, v string }{
			{"code_ref", a.CodeRef}, {"id", a.ID}, {"model", a.Model}, {"name", a.Name}, {"version", a.Version},
		} {
			if err := checkText(f.v, false); err != nil {
				return bad("agent."+f.k, "%v", err)
			}
		}
	}
	for i, a := range e.Artifacts {
		if err := a.validate(); err != nil {
			return bad(fmt.Sprintf("artifacts[%d]", i), "%v", err)
		}
	}
	return nil
}

func (a Artifact) validate() error {
	if !validSHA256(a.SHA256) {
		return fmt.Errorf("sha256 %q: want 64 lowercase hex digits", a.SHA256)
	}
	if a.Size < 0 || a.Size > maxSafeInt {
		return fmt.Errorf("size %d: want 0 to 2^53-1", a.Size)
	}
	if err := checkText(a.MediaType, true); err != nil {
		return fmt.Errorf("media_type: %w", err)
	}
	if err := checkText(a.Role, false); err != nil {
		return fmt.Errorf("role: %w", err)
	}
	return nil
}

// checkText checks a string member: valid UTF-8, and non-empty if required.
func checkText(s string, required bool) error {
	if required && s == "" {
		return errors.New("required")
	}
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	return nil
}

func checkTime(t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("year %d outside 1 to 9999", y)
	}
	return nil
}

func validIDKey(k string) bool {
	if len(k) == 0 || len(k) > 64 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Parse decodes an encoded entry. It accepts only the canonical encoding,
// exactly as Marshal writes it: the input MUST be at most MaxEntrySize bytes
// of canonical JSON (ErrEntryTooLarge, ErrNotCanonical), MUST have no
// duplicate or unknown members, MUST have version Version and a known type,
// and MUST omit empty optional members. Errors wrap ErrInvalidEntry and name
// the member or byte offset that was wrong.
//
// Parse does not modify b, and the returned Entry does not alias it.
func Parse(b []byte) (Entry, error) {
	if len(b) > MaxEntrySize {
		return Entry{}, fmt.Errorf("%w: entry is %d bytes", ErrEntryTooLarge, len(b))
	}
	if err := checkCanonical(b); err != nil {
		return Entry{}, wrapSyntax(err)
	}
	if len(b) == 0 || b[0] != '{' {
		return Entry{}, fmt.Errorf("%w: not a JSON object", ErrInvalidEntry)
	}
	var e Entry
	seen := map[string]bool{}
	err := walkObject(b, func(key string, val []byte) error {
		seen[key] = true
		return e.decodeMember(key, val)
	})
	if err != nil {
		return Entry{}, err
	}
	for _, k := range []string{"v", "type", "tenant", "time"} {
		if !seen[k] {
			return Entry{}, fmt.Errorf("%w: missing member %q", ErrInvalidEntry, k)
		}
	}
	// Data was checked canonical with the rest of b.
	want, err := marshal(&e, e.Data)
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(want, b) {
		i := 0
		for i < len(b) && i < len(want) && b[i] == want[i] {
			i++
		}
		return Entry{}, fmt.Errorf("%w: byte %d differs from the canonical encoding", ErrNotCanonical, i)
	}
	return e, nil
}

// wrapSyntax turns an error of the canonical reader into an entry error.
func wrapSyntax(err error) error {
	var se *syntaxError
	if errors.As(err, &se) && se.canon {
		return fmt.Errorf("%w: %w", ErrNotCanonical, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidEntry, err)
}

// decodeMember sets the field of e that the top-level member key holds; val
// is the member's canonical JSON.
func (e *Entry) decodeMember(key string, val []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidEntry, key, fmt.Sprintf(format, args...))
	}
	var err error
	switch key {
	case "v":
		n, perr := strconv.Atoi(string(val))
		if perr != nil {
			return bad("want the number %d", Version)
		}
		e.V = n
		if n != Version {
			return bad("unsupported version %d, want %d", n, Version)
		}
	case "type":
		var s string
		if s, err = decodeString(val); err == nil {
			e.Type = Type(s)
			if !e.Type.Valid() {
				return bad("unknown entry type %q", s)
			}
		}
	case "tenant":
		e.Tenant, err = decodeString(val)
	case "actor":
		e.Actor, err = decodeString(val)
	case "time":
		e.Time, err = decodeTime(val)
	case "client_time":
		e.ClientTime, err = decodeTime(val)
	case "ids":
		e.IDs, err = decodeIDs(val)
	case "agent":
		e.Agent, err = decodeAgent(val)
	case "artifacts":
		if e.Artifacts, err = decodeArtifacts(val); err != nil {
			// "artifacts[2]: ..." or "artifacts: ..."
			return fmt.Errorf("%w: artifacts%w", ErrInvalidEntry, err)
		}
	case "data":
		switch {
		case val[0] != '{':
			return bad("must be a JSON object")
		case string(val) == "{}":
			return bad("an empty object must be omitted")
		}
		e.Data = json.RawMessage(bytes.Clone(val))
	default:
		return fmt.Errorf("%w: unknown member %q", ErrInvalidEntry, key)
	}
	if err != nil {
		return bad("%v", err)
	}
	return nil
}
