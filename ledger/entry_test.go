package ledger_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditshot/auditshot/ledger"
)

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// tm is the canonical spelling of testTime.
const tm = `"time":"2026-03-14T15:09:26.535897932Z"`

// tail is the canonical end of minimalEntry.
const tail = `"tenant":"t1",` + tm + `,"type":"run.started","v":1}`

func TestMarshal(t *testing.T) {
	plus2 := time.FixedZone("+02", 2*3600)
	tests := []struct {
		name string
		edit func(*ledger.Entry)
		want string
	}{
		{"Minimal", func(*ledger.Entry) {}, `{` + tail},
		{"AllMembers", func(e *ledger.Entry) {
			e.Type = ledger.TypeRunEvent
			e.IDs = map[string]string{ledger.IDRun: "run_1", ledger.IDEvent: "ev_2"}
			e.ClientTime = time.Date(2026, 3, 14, 17, 9, 26, 0, plus2)
			e.Actor = "key_7"
			e.Agent = &ledger.Agent{ID: "ag1", Name: "refunder", Model: "m-1", Version: "1.2.3", CodeRef: "git:abc"}
			e.Artifacts = []ledger.Artifact{
				{SHA256: sha, Size: 10, MediaType: "image/png", Role: "before"},
				{SHA256: sha, Size: 0, MediaType: "text/html"},
			}
			e.Data = json.RawMessage(`{"amount":"500.00","customer":42}`)
		}, `{"actor":"key_7",` +
			`"agent":{"code_ref":"git:abc","id":"ag1","model":"m-1","name":"refunder","version":"1.2.3"},` +
			`"artifacts":[{"media_type":"image/png","role":"before","sha256":"` + sha + `","size":10},` +
			`{"media_type":"text/html","sha256":"` + sha + `","size":0}],` +
			`"client_time":"2026-03-14T15:09:26.000000000Z",` +
			`"data":{"amount":"500.00","customer":42},` +
			`"ids":{"event_id":"ev_2","run_id":"run_1"},` +
			`"tenant":"t1",` + tm + `,"type":"run.event","v":1}`},
		{"DataRewritten", func(e *ledger.Entry) {
			e.Data = json.RawMessage(" {\"b\" : [1, -2, {\"d\":null, \"c\":true}],\n \"a\": \"x\\/y\\u0041<>&\\u2028\\u00e9\\ud83d\\ude00\\u001F\\n\" } \n")
		}, `{"data":{"a":"x/yA<>&` + "\u2028é😀" + `\u001f\n","b":[1,-2,{"c":true,"d":null}]},` + tail},
		{"DataKeysByCodePoint", func(e *ledger.Entry) {
			e.Data = json.RawMessage(`{"é":1,"z":2,"Z":3,"":4,"😀":5,"\uffff":6}`)
		}, `{"data":{"":4,"Z":3,"z":2,"é":1,"` + "\uffff" + `":6,"😀":5},` + tail},
		{"EmptyOptionalsOmitted", func(e *ledger.Entry) {
			e.IDs = map[string]string{}
			e.Agent = &ledger.Agent{}
			e.Artifacts = []ledger.Artifact{}
			e.Data = json.RawMessage(" { } ")
		}, `{` + tail},
		{"TimeInZoneAndWholeSecond", func(e *ledger.Entry) {
			e.Time = time.Date(2026, 1, 2, 1, 0, 0, 0, plus2)
		}, `{"tenant":"t1","time":"2026-01-01T23:00:00.000000000Z","type":"run.started","v":1}`},
		{"StringEscapes", func(e *ledger.Entry) {
			e.Tenant = "a\"b\\c\x00\x1f\x7f\b\f\r\t</script>"
		}, `{"tenant":"a\"b\\c\u0000\u001f` + "\x7f" + `\b\f\r\t</script>",` + tm + `,"type":"run.started","v":1}`},
		{"SafeIntegerBounds", func(e *ledger.Entry) {
			e.Data = json.RawMessage(`{"max":9007199254740991,"min":-9007199254740991,"zero":0}`)
		}, `{"data":{"max":9007199254740991,"min":-9007199254740991,"zero":0},` + tail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := minimalEntry()
			tt.edit(&e)
			got, err := ledger.Marshal(e)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if diff := cmp.Diff(string(got), tt.want); diff != "" {
				t.Fatalf("Marshal (-got +want):\n%s", diff)
			}
			// The canonical bytes parse, and parse to an entry that
			// marshals to the same bytes.
			p, err := ledger.Parse(got)
			if err != nil {
				t.Fatalf("Parse(Marshal): %v", err)
			}
			again := MustMarshal(t, p)
			if string(again) != string(got) {
				t.Fatalf("Marshal(Parse(b)) = %s, want %s", again, got)
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	e := minimalEntry()
	e.IDs = map[string]string{ledger.IDCapture: "cap_1"}
	e.ClientTime = testTime.Add(-time.Second)
	e.Actor = "key_1"
	e.Agent = &ledger.Agent{Name: "n"}
	e.Artifacts = []ledger.Artifact{{SHA256: sha, Size: 1, MediaType: "image/png", Role: "after"}}
	e.Data = json.RawMessage(`{"a":[{}],"b":{"c":[]}}`)
	got, err := ledger.Parse(MustMarshal(t, e))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, e); diff != "" {
		t.Fatalf("Parse(Marshal(e)) (-got +want):\n%s", diff)
	}
}

func TestMarshal_Invalid(t *testing.T) {
	deep := strings.Repeat("[", 64) + strings.Repeat("]", 64)
	tests := []struct {
		name string
		edit func(*ledger.Entry)
		want error
		text string
	}{
		{"VersionZero", func(e *ledger.Entry) { e.V = 0 }, ledger.ErrInvalidEntry, "unsupported version 0"},
		{"VersionTwo", func(e *ledger.Entry) { e.V = 2 }, ledger.ErrInvalidEntry, "unsupported version 2"},
		{"UnknownType", func(e *ledger.Entry) { e.Type = "run.paused" }, ledger.ErrInvalidEntry, `unknown entry type "run.paused"`},
		{"NoTenant", func(e *ledger.Entry) { e.Tenant = "" }, ledger.ErrInvalidEntry, "tenant: required"},
		{"BadUTF8", func(e *ledger.Entry) { e.Actor = "a\xffb" }, ledger.ErrInvalidEntry, "actor: invalid UTF-8"},
		{"NoTime", func(e *ledger.Entry) { e.Time = time.Time{} }, ledger.ErrInvalidEntry, "time: required"},
		{"Year10000", func(e *ledger.Entry) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, ledger.ErrInvalidEntry, "year 10000"},
		{"IDKey", func(e *ledger.Entry) { e.IDs = map[string]string{"Run": "x"} }, ledger.ErrInvalidEntry, `key "Run"`},
		{"IDValue", func(e *ledger.Entry) { e.IDs = map[string]string{"run_id": ""} }, ledger.ErrInvalidEntry, "ids.run_id: required"},
		{"ArtifactHash", func(e *ledger.Entry) {
			e.Artifacts = []ledger.Artifact{{SHA256: strings.ToUpper(sha), MediaType: "a/b"}}
		}, ledger.ErrInvalidEntry, "artifacts[0]: sha256"},
		{"ArtifactSize", func(e *ledger.Entry) {
			e.Artifacts = []ledger.Artifact{{SHA256: sha, Size: -1, MediaType: "a/b"}}
		}, ledger.ErrInvalidEntry, "size -1"},
		{"ArtifactMediaType", func(e *ledger.Entry) { e.Artifacts = []ledger.Artifact{{SHA256: sha}} }, ledger.ErrInvalidEntry, "media_type: required"},
		{"DataArray", func(e *ledger.Entry) { e.Data = json.RawMessage(`[1]`) }, ledger.ErrInvalidEntry, "must be a JSON object"},
		{"DataNull", func(e *ledger.Entry) { e.Data = json.RawMessage(`null`) }, ledger.ErrInvalidEntry, "must be a JSON object"},
		{"DataFraction", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":1.5}`) }, ledger.ErrInvalidEntry, "not an integer"},
		{"DataIntegralFloat", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":1.0}`) }, ledger.ErrInvalidEntry, "not an integer"},
		{"DataExponent", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":1e3}`) }, ledger.ErrInvalidEntry, "not an integer"},
		{"DataNegativeZero", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":-0}`) }, ledger.ErrInvalidEntry, "-0"},
		{"DataTooBig", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":9007199254740992}`) }, ledger.ErrInvalidEntry, "outside"},
		{"DataLeadingZero", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":01}`) }, ledger.ErrInvalidEntry, "leading zero"},
		{"DataNaN", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":NaN}`) }, ledger.ErrInvalidEntry, "looking for a value"},
		{"DataDuplicateKey", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":1,"b":2,"a":3}`) }, ledger.ErrInvalidEntry, `duplicate key "a"`},
		{"DataSyntax", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":1,}`) }, ledger.ErrInvalidEntry, "object key must be a string"},
		{"DataTrailing", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":1}{}`) }, ledger.ErrInvalidEntry, "after the JSON value"},
		{"DataBadUTF8", func(e *ledger.Entry) { e.Data = json.RawMessage("{\"a\":\"\xc3\"}") }, ledger.ErrInvalidEntry, "invalid UTF-8"},
		{"DataLoneSurrogate", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":"\ud800"}`) }, ledger.ErrInvalidEntry, "surrogate"},
		{"DataControlChar", func(e *ledger.Entry) { e.Data = json.RawMessage("{\"a\":\"\n\"}") }, ledger.ErrInvalidEntry, "control character"},
		{"DataTooDeep", func(e *ledger.Entry) { e.Data = json.RawMessage(`{"a":` + deep + `}`) }, ledger.ErrInvalidEntry, "nested deeper"},
		{"TooLarge", func(e *ledger.Entry) {
			e.Data = json.RawMessage(`{"a":"` + strings.Repeat("x", ledger.MaxEntrySize) + `"}`)
		}, ledger.ErrEntryTooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := minimalEntry()
			tt.edit(&e)
			_, err := ledger.Marshal(e)
			if !errors.Is(err, tt.want) || !strings.Contains(fmtErr(err), tt.text) {
				t.Fatalf("Marshal: error %v, want %v containing %q", err, tt.want, tt.text)
			}
			if !errors.Is(err, ledger.ErrInvalidEntry) {
				t.Fatalf("error %v does not wrap ErrInvalidEntry", err)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestParse_Rejects(t *testing.T) {
	big := `{"data":{"a":"` + strings.Repeat("x", ledger.MaxEntrySize) + `"},` + tail
	tests := []struct {
		name string
		in   string
		want error
		text string
	}{
		{"Empty", ``, ledger.ErrInvalidEntry, "unexpected end of input"},
		{"NotObject", `["v",1]`, ledger.ErrInvalidEntry, "not a JSON object"},
		{"String", `"x"`, ledger.ErrInvalidEntry, "not a JSON object"},
		{"SpaceAfterColon", `{"tenant": "t1",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, "byte 10: whitespace"},
		{"SpaceAfterComma", `{"tenant":"t1", ` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, "whitespace"},
		{"LeadingSpace", ` {` + tail, ledger.ErrNotCanonical, "whitespace"},
		{"TrailingNewline", `{` + tail + "\n", ledger.ErrNotCanonical, "whitespace after the JSON value"},
		{"Indented", "{\n  \"tenant\":\"t1\"}", ledger.ErrNotCanonical, "whitespace"},
		{"UnsortedKeys", `{"type":"run.started","tenant":"t1",` + tm + `,"v":1}`, ledger.ErrNotCanonical, `key "tenant" after "type": keys must be sorted`},
		{"UnsortedInData", `{"data":{"b":1,"a":2},` + tail, ledger.ErrNotCanonical, "keys must be sorted"},
		{"DuplicateKey", `{"tenant":"t1","tenant":"t2",` + tm + `,"type":"run.started","v":1}`, ledger.ErrInvalidEntry, `duplicate key "tenant"`},
		{"DuplicateInData", `{"data":{"a":1,"a":1},` + tail, ledger.ErrInvalidEntry, `duplicate key "a"`},
		{"UnknownMember", `{"tenant":"t1",` + tm + `,"type":"run.started","v":1,"zz":1}`, ledger.ErrInvalidEntry, `unknown member "zz"`},
		{"CaseVariant", `{"Tenant":"t1",` + tm + `,"type":"run.started","v":1}`, ledger.ErrInvalidEntry, `unknown member "Tenant"`},
		{"MissingTenant", `{` + tm + `,"type":"run.started","v":1}`, ledger.ErrInvalidEntry, `missing member "tenant"`},
		{"MissingVersion", `{"tenant":"t1",` + tm + `,"type":"run.started"}`, ledger.ErrInvalidEntry, `missing member "v"`},
		{"VersionTwo", `{"tenant":"t1",` + tm + `,"type":"run.started","v":2}`, ledger.ErrInvalidEntry, "unsupported version 2"},
		{"VersionString", `{"tenant":"t1",` + tm + `,"type":"run.started","v":"1"}`, ledger.ErrInvalidEntry, "v: want the number 1"},
		{"VersionFloat", `{"tenant":"t1",` + tm + `,"type":"run.started","v":1.0}`, ledger.ErrInvalidEntry, "not an integer"},
		{"VersionExponent", `{"tenant":"t1",` + tm + `,"type":"run.started","v":1e0}`, ledger.ErrInvalidEntry, "not an integer"},
		{"VersionLeadingZero", `{"tenant":"t1",` + tm + `,"type":"run.started","v":01}`, ledger.ErrInvalidEntry, "leading zero"},
		{"NegativeZero", `{"data":{"a":-0},` + tail, ledger.ErrNotCanonical, "-0"},
		{"UnknownType", `{"tenant":"t1",` + tm + `,"type":"run.paused","v":1}`, ledger.ErrInvalidEntry, `unknown entry type "run.paused"`},
		{"TooLarge", big, ledger.ErrEntryTooLarge, "entry is 65634 bytes"},
		{"InvalidUTF8", "{\"tenant\":\"t\xff\"," + tm + `,"type":"run.started","v":1}`, ledger.ErrInvalidEntry, "invalid UTF-8"},
		{"EscapedLetter", `{"tenant":"\u0074",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, `escape \u0074 is not canonical`},
		{"EscapedSlash", `{"tenant":"a\/b",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, `escape \/`},
		{"EscapedNewlineLong", `{"tenant":"a\u000ab",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, `escape \u000a`},
		{"UppercaseHexEscape", `{"tenant":"a\u001Fb",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, `escape \u001F`},
		{"EscapedLineSeparator", `{"tenant":"a\u2028b",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, `escape \u2028`},
		{"SurrogateEscape", `{"tenant":"\ud83d\ude00",` + tm + `,"type":"run.started","v":1}`, ledger.ErrNotCanonical, `escape \ud83d`},
		{"TimeNoFraction", `{"tenant":"t1","time":"2026-03-14T15:09:26Z","type":"run.started","v":1}`, ledger.ErrInvalidEntry, "nine fractional digits"},
		{"TimeOffset", `{"tenant":"t1","time":"2026-03-14T15:09:26.535897932+00:00","type":"run.started","v":1}`, ledger.ErrInvalidEntry, "time:"},
		{"TimeBadDay", `{"tenant":"t1","time":"2026-02-30T15:09:26.535897932Z","type":"run.started","v":1}`, ledger.ErrInvalidEntry, "time:"},
		{"TimeNumber", `{"tenant":"t1","time":1,"type":"run.started","v":1}`, ledger.ErrInvalidEntry, "want a string"},
		{"ZeroClientTime", `{"client_time":"0001-01-01T00:00:00.000000000Z",` + tail, ledger.ErrInvalidEntry, "zero time"},
		{"EmptyData", `{"data":{},` + tail, ledger.ErrInvalidEntry, "data: an empty object must be omitted"},
		{"DataArray", `{"data":[1],` + tail, ledger.ErrInvalidEntry, "data: must be a JSON object"},
		{"DataFloat", `{"data":{"a":[0.5]},` + tail, ledger.ErrInvalidEntry, "not an integer"},
		{"EmptyIDs", `{"ids":{},` + tail, ledger.ErrInvalidEntry, "ids: an empty object must be omitted"},
		{"BadIDKey", `{"ids":{"Run":"x"},` + tail, ledger.ErrInvalidEntry, `key "Run"`},
		{"IDNotString", `{"ids":{"run_id":1},` + tail, ledger.ErrInvalidEntry, "run_id: want a string"},
		{"EmptyArtifacts", `{"artifacts":[],` + tail, ledger.ErrInvalidEntry, "artifacts: an empty list must be omitted"},
		{"ArtifactMissingSize", `{"artifacts":[{"media_type":"a/b","sha256":"` + sha + `"}],` + tail, ledger.ErrInvalidEntry, `artifacts[0]: missing member "size"`},
		{"ArtifactUnknown", `{"artifacts":[{"media_type":"a/b","sha256":"` + sha + `","size":1,"url":"x"}],` + tail, ledger.ErrInvalidEntry, `unknown member "url"`},
		{"ArtifactBadHash", `{"artifacts":[{"media_type":"a/b","sha256":"abc","size":1}],` + tail, ledger.ErrInvalidEntry, `sha256 "abc"`},
		{"ArtifactsObject", `{"artifacts":{},` + tail, ledger.ErrInvalidEntry, "artifacts: want a JSON array"},
		{"EmptyAgent", `{"agent":{},` + tail, ledger.ErrInvalidEntry, "agent: an empty object must be omitted"},
		{"AgentEmptyField", `{"agent":{"id":""},` + tail, ledger.ErrInvalidEntry, "id: an empty string must be omitted"},
		{"AgentUnknown", `{"agent":{"owner":"x"},` + tail, ledger.ErrInvalidEntry, `unknown member "owner"`},
		{"EmptyActor", `{"actor":"",` + tail, ledger.ErrNotCanonical, "differs from the canonical encoding"},
		{"NullAgent", `{"agent":null,` + tail, ledger.ErrInvalidEntry, "agent"},
		{"TrailingData", `{` + tail + `{}`, ledger.ErrInvalidEntry, "after the JSON value"},
		{"Unterminated", `{"tenant":"t1`, ledger.ErrInvalidEntry, "unterminated string"},
		{"TooDeep", `{"data":{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `},` + tail, ledger.ErrInvalidEntry, "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) || !strings.Contains(fmtErr(err), tt.text) {
				t.Fatalf("Parse: error %v\nwant %v containing %q", err, tt.want, tt.text)
			}
			if !errors.Is(err, ledger.ErrInvalidEntry) {
				t.Fatalf("error %v does not wrap ErrInvalidEntry", err)
			}
		})
	}
}

func TestParse_DoesNotAlias(t *testing.T) {
	e := minimalEntry()
	e.Data = json.RawMessage(`{"a":1}`)
	b := MustMarshal(t, e)
	got, err := ledger.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'x'
	}
	if string(got.Data) != `{"a":1}` {
		t.Fatalf("Data changed with the input: %s", got.Data)
	}
}

func TestTypes(t *testing.T) {
	want := []string{"run.started", "run.event", "capture.completed", "run.finished", "key.created", "key.revoked",
		"policy.changed", "export.created", "evidence.viewed", "anchor", "tombstone", "log.key"}
	var got []string
	for _, ty := range ledger.Types() {
		got = append(got, string(ty))
		if !ty.Valid() {
			t.Errorf("%q not Valid", ty)
		}
		e := minimalEntry()
		e.Type = ty
		if _, err := ledger.Parse(MustMarshal(t, e)); err != nil {
			t.Errorf("type %q: %v", ty, err)
		}
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Fatalf("Types (-got +want):\n%s", diff)
	}
}

func TestMarshal_LargeData(t *testing.T) {
	// Many keys in reverse order sort in time.
	var b strings.Builder
	b.WriteString("{")
	for i := 4000; i > 0; i-- {
		fmt.Fprintf(&b, `"k%05d":%d,`, i, i)
	}
	b.WriteString(`"k00000":0}`)
	e := minimalEntry()
	e.Data = json.RawMessage(b.String())
	out, err := ledger.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), `{"data":{"k00000":0,"k00001":1,`) {
		t.Fatalf("not sorted: %.60s", out)
	}
	// Whitespace may make a payload longer than an entry before it is
	// rewritten, up to a bound.
	e.Data = json.RawMessage(`{"a":1}` + strings.Repeat(" ", ledger.MaxEntrySize))
	if _, err := ledger.Marshal(e); err != nil {
		t.Fatalf("padded payload: %v", err)
	}
	e.Data = json.RawMessage(`{"a":1}` + strings.Repeat(" ", 16*ledger.MaxEntrySize))
	if _, err := ledger.Marshal(e); !errors.Is(err, ledger.ErrEntryTooLarge) {
		t.Fatalf("huge payload: %v, want ErrEntryTooLarge", err)
	}
}
