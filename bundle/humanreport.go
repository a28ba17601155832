package bundle

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// The human report (DESIGN.md, "Evidence bundle"): report.html, written in
// every bundle, and report.pdf when WriteOptions.PrintPDF is set. Both are
// renderings of the bundle's entries for a person; the entries, proofs and
// checkpoint are the evidence, and Verify checks the report files only
// against their manifest hashes.
const (
	ReportHTMLFile = "report.html"
	ReportPDFFile  = "report.pdf"
)

// Bounds of the human report.
const (
	// MaxReportEntries is how many entries report.html describes one by
	// one; a larger bundle's report says how many more it holds.
	MaxReportEntries = 5000
	// MaxPrintEntries is how many entries report.pdf describes, so that
	// printing stays within seconds (a run takes at least a page).
	MaxPrintEntries = 500
	// MaxPrintHTML is the largest HTML given to WriteOptions.PrintPDF: the
	// capture engine's limit on inline HTML. Images are inlined while they
	// fit; a report larger than this even without images is not printed.
	MaxPrintHTML = auditshot.MaxHTMLBytes
	// MaxInlineImage is the largest image inlined into the printed HTML;
	// the PDF shows a note with the image's hash instead of a larger one.
	MaxInlineImage = 2 << 20
	// maxDataText bounds the data shown for one entry.
	maxDataText = 4 << 10
	// printSlack is room left in MaxPrintHTML for the image tags.
	printSlack = 64 << 10
)

//go:embed humanreport.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"short": func(s string) string {
		if len(s) <= 16 {
			return s
		}
		return s[:16] + "…"
	},
	"bytes": formatBytes,
	"minus": func(b, a int) int { return a - b },
}).Parse(reportTemplateText))

// imageTypes are the media types the report shows as images, and that may
// be inlined as data: URIs. SVG is listed as a file, never drawn.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// reportData is what the template renders.
type reportData struct {
	Origin, Scope, Selection string
	First, Last              string
	Generator                string
	CheckpointSize           int64
	CheckpointRoot           string
	Keys                     []reportKey
	Entries, BlobCount       int
	Range                    *Range
	Anchors                  int
	Runs                     []*reportRun
	Other                    []reportEntry
	Omitted                  int
	Print                    bool // the variant given to PrintPDF
	MaxHTMLEntries           int

	keep                      map[string]bool // images to inline when printing
	BundleName, VerifyKeyFlag string
}

type reportKey struct{ Fingerprint, VKey string }

type reportRun struct {
	ID, Workflow, Principal, Subject string
	Status, StatusClass              string
	Started, Ended, Duration         string
	StartedShort                     string
	Agent                            ledger.Agent
	Labels                           []kv
	Timeline                         []reportEntry
	Images                           []*reportImage
	Files                            []reportFile

	startTime, endTime time.Time
}

type kv struct{ K, V string }

// reportEntry is one line of a timeline or of the other entries.
type reportEntry struct {
	Index                  int64
	Time, ClientTime       string
	Type, Kind, Name       string
	Data, Reasoning, Actor string
	IDs                    string
	LeafHash               string
}

// reportImage is an image artifact shown in a run. Src is the bundle path
// (report.html) or a data: URI (the printed variant); empty with Note
// when it cannot be shown.
type reportImage struct {
	Role, Label, Caption string
	MediaType, SHA256    string
	Size, Entry          int64
	Path                 string
	Src                  template.URL
	Note                 string
}

type reportFile struct {
	Role, MediaType, SHA256, Path, Note string
	Size, Entry                         int64
}

// humanReport builds the report of a bundle's entries (sorted by index)
// and their parsed form, describing at most limit entries.
func humanReport(c Contents, entries []Entry, parsed []ledger.Entry, generator string, limit int) (*reportData, error) {
	vs, err := ledger.NewVerifiers(c.Keys...)
	if err != nil {
		return nil, err
	}
	cp, _, err := ledger.OpenCheckpoint(c.Checkpoint, c.Origin, vs)
	if err != nil {
		return nil, err
	}
	if generator == "" {
		generator = "auditshot"
	}
	d := &reportData{Origin: c.Origin, Generator: generator, CheckpointSize: cp.Size,
		CheckpointRoot: cp.Hash.String(), Entries: len(entries), Anchors: len(c.Anchors),
		BundleName: "bundle.zip", MaxHTMLEntries: MaxReportEntries}
	d.Scope, d.Selection = describeSelection(c.Selection)
	if c.Range != nil {
		d.Range = &Range{Start: c.Range.Start, End: c.Range.End}
	}
	keys := slices.Clone(c.Keys)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		fp, err := ledger.KeyFingerprint(k)
		if err != nil {
			return nil, err
		}
		d.Keys = append(d.Keys, reportKey{Fingerprint: fp, VKey: k})
	}
	if len(d.Keys) > 0 {
		d.VerifyKeyFlag = d.Keys[0].VKey
	}
	if len(parsed) > 0 {
		first, last := parsed[0].Time, parsed[0].Time
		for _, e := range parsed {
			if e.Time.Before(first) {
				first = e.Time
			}
			if e.Time.After(last) {
				last = e.Time
			}
		}
		d.First, d.Last = formatTime(first), formatTime(last)
	}
	gone := map[string]int64{}
	for i, e := range parsed {
		for _, s := range Tombstoned(e) {
			gone[s] = entries[i].Index
		}
	}
	d.BlobCount = len(referencedBlobs(parsed))
	runs := map[string]*reportRun{}
	for i, e := range parsed {
		if i >= limit {
			d.Omitted = len(parsed) - i
			break
		}
		idx, leaf := entries[i].Index, ledger.LeafHash(entries[i].Bytes)
		id := e.IDs[ledger.IDRun]
		if id == "" || !isRunType(e.Type) {
			d.Other = append(d.Other, otherEntry(idx, leaf, e))
			continue
		}
		r := runs[id]
		if r == nil {
			r = &reportRun{ID: id, Workflow: "—", Status: "unknown", StatusClass: "unknown"}
			runs[id] = r
			d.Runs = append(d.Runs, r)
		}
		r.add(idx, leaf, e, gone)
	}
	for _, r := range d.Runs {
		r.finish()
	}
	return d, nil
}

func isRunType(t ledger.Type) bool {
	switch t {
	case ledger.TypeRunStarted, ledger.TypeRunEvent, ledger.TypeCaptureCompleted, ledger.TypeRunFinished:
		return true
	}
	return false
}

// describeSelection returns the selection in words and as JSON text.
func describeSelection(sel json.RawMessage) (words, raw string) {
	if len(sel) == 0 {
		return "not stated", ""
	}
	var s struct {
		Runs  []string `json:"runs"`
		Range *Range   `json:"range"`
	}
	raw = string(sel)
	if json.Unmarshal(sel, &s) != nil {
		return "as stated by the exporter", raw
	}
	switch {
	case s.Range != nil:
		return fmt.Sprintf("log entries %d to %d (range [%d, %d))", s.Range.Start, s.Range.End-1, s.Range.Start, s.Range.End), raw
	case len(s.Runs) == 1:
		return "run " + s.Runs[0], raw
	case len(s.Runs) > 1:
		return fmt.Sprintf("%d runs: %s", len(s.Runs), strings.Join(s.Runs, ", ")), raw
	}
	return "as stated by the exporter", raw
}

// add puts one entry of the run into its timeline, images and files.
func (r *reportRun) add(idx int64, leaf ledger.Hash, e ledger.Entry, gone map[string]int64) {
	var data map[string]json.RawMessage
	_ = json.Unmarshal(e.Data, &data)
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(data[k], &s)
		return s
	}
	if e.Agent != nil && r.Agent == (ledger.Agent{}) {
		r.Agent = *e.Agent
	}
	line := reportEntry{Index: idx, Time: formatTime(e.Time), Type: string(e.Type), Actor: e.Actor,
		LeafHash: hex.EncodeToString(leaf[:])}
	if !e.ClientTime.IsZero() {
		line.ClientTime = formatTime(e.ClientTime)
	}
	switch e.Type {
	case ledger.TypeRunStarted:
		r.Started = formatTime(e.Time)
		r.StartedShort = e.Time.UTC().Format("2006-01-02 15:04:05")
		r.startTime = e.Time
		if w := str("workflow"); w != "" {
			r.Workflow = w
		}
		r.Principal, r.Subject = str("principal"), str("subject")
		var labels map[string]string
		_ = json.Unmarshal(data["labels"], &labels)
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			r.Labels = append(r.Labels, kv{k, labels[k]})
		}
		if r.Status == "unknown" {
			r.Status, r.StatusClass = "running", "running"
		}
		line.Kind, line.Name = "start", r.Workflow
		line.Data = showData(e.Data)
	case ledger.TypeRunEvent:
		line.Kind, line.Name, line.Reasoning = str("type"), str("name"), str("reasoning")
		if v, ok := data["data"]; ok {
			line.Data = showData(v)
		}
	case ledger.TypeCaptureCompleted:
		line.Kind = cmp.Or(str("role"), "capture")
		line.Name = cmp.Or(str("name"), str("title"), str("url"))
		line.Data = showCapture(data)
	case ledger.TypeRunFinished:
		r.Status = cmp.Or(str("status"), "finished")
		r.StatusClass = statusClass(r.Status)
		r.Ended = formatTime(e.Time)
		r.endTime = e.Time
		line.Kind, line.Name = "finish", r.Status
	}
	r.Timeline = append(r.Timeline, line)
	for _, a := range e.Artifacts {
		role := a.Role
		if e.Type == ledger.TypeCaptureCompleted && (role == "image" || role == "") {
			role = cmp.Or(str("role"), "capture")
		}
		path, note := BlobName(a.SHA256), ""
		if t, ok := gone[a.SHA256]; ok {
			path, note = "", fmt.Sprintf("deleted under retention (tombstone, entry %d)", t)
		}
		if imageTypes[a.MediaType] {
			if r.seen(a.SHA256) {
				continue
			}
			r.Images = append(r.Images, &reportImage{Role: role, Label: roleLabel(role), Caption: line.Name,
				MediaType: a.MediaType, SHA256: a.SHA256, Size: a.Size, Entry: idx, Path: path, Note: note})
			continue
		}
		r.Files = append(r.Files, reportFile{Role: cmp.Or(role, "—"), MediaType: a.MediaType, SHA256: a.SHA256,
			Size: a.Size, Entry: idx, Path: path, Note: note})
	}
}

func (r *reportRun) seen(sha string) bool {
	return slices.ContainsFunc(r.Images, func(im *reportImage) bool { return im.SHA256 == sha })
}

// finish orders the run's images (before, after, diff, others) and
// computes its duration.
func (r *reportRun) finish() {
	rank := map[string]int{auditshot.RoleBefore: 0, auditshot.RoleAfter: 1, auditshot.RoleDiff: 2}
	slices.SortStableFunc(r.Images, func(a, b *reportImage) int {
		ra, ok := rank[a.Role]
		if !ok {
			ra = 3
		}
		rb, ok := rank[b.Role]
		if !ok {
			rb = 3
		}
		return cmp.Compare(ra, rb)
	})
	if !r.startTime.IsZero() && !r.endTime.IsZero() {
		r.Duration = formatDuration(r.endTime.Sub(r.startTime))
	}
}

func roleLabel(role string) string {
	switch role {
	case auditshot.RoleBefore:
		return "Before"
	case auditshot.RoleAfter:
		return "After"
	case auditshot.RoleDiff:
		return "Difference"
	case auditshot.RoleStep:
		return "Step"
	}
	if role == "" {
		return "Image"
	}
	return strings.ToUpper(role[:1]) + role[1:]
}

func statusClass(s string) string {
	switch s {
	case "succeeded", "failed", "cancelled", "running":
		return s
	}
	return "unknown"
}

// otherEntry is the line of an entry that is not part of a run.
func otherEntry(idx int64, leaf ledger.Hash, e ledger.Entry) reportEntry {
	line := reportEntry{Index: idx, Time: formatTime(e.Time), Type: string(e.Type), Actor: e.Actor,
		LeafHash: hex.EncodeToString(leaf[:]), Data: showData(e.Data)}
	var ids []string
	for _, k := range slices.Sorted(maps.Keys(e.IDs)) {
		ids = append(ids, k+"="+e.IDs[k])
	}
	line.IDs = strings.Join(ids, " ")
	if len(e.Artifacts) > 0 {
		line.Data = strings.TrimSpace(line.Data + fmt.Sprintf("\n(%d artifacts)", len(e.Artifacts)))
	}
	return line
}

// showCapture gives the facts of a capture.completed entry, one a line.
func showCapture(data map[string]json.RawMessage) string {
	var b strings.Builder
	for _, k := range []string{"url", "final_url", "status", "title", "kind", "outcome", "best_attempt", "blank"} {
		v, ok := data[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		fmt.Fprintf(&b, "%s: %s\n", k, s)
	}
	if v, ok := data["diff"]; ok {
		var d auditshot.DiffSummary
		if json.Unmarshal(v, &d) == nil && d.TotalPixels > 0 {
			fmt.Fprintf(&b, "diff: %d of %d pixels changed (%.2f%%), %d regions, against capture %s\n",
				d.ChangedPixels, d.TotalPixels, float64(d.ChangedPPM)/1e4, len(d.Regions)+d.MoreRegions, d.Before)
		}
	}
	return clip(strings.TrimSpace(b.String()))
}

// showData indents a JSON value for reading, leaving out the null and
// empty string members of an object. Text is shown as it is: the template
// escapes it.
func showData(v json.RawMessage) string {
	if len(v) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) == nil {
		for k, mv := range m {
			if string(mv) == "null" || string(mv) == `""` {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			return ""
		}
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		if e.Encode(m) == nil {
			v = bytes.TrimSpace(enc.Bytes())
		}
	}
	var b bytes.Buffer
	if json.Indent(&b, v, "", "  ") != nil {
		return clip(string(v))
	}
	return clip(b.String())
}

// clip shortens text longer than maxDataText, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxDataText {
		return s
	}
	n := maxDataText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("\n… %d more bytes in the entry file", len(s)-n)
}

func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
}

func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// render executes the template: the file variant (images by bundle path)
// or, with inline, the printed variant (images as data: URIs, or a note).
func (d *reportData) render(inline map[string][]byte) ([]byte, error) {
	d.Print = inline != nil
	for _, r := range d.Runs {
		for _, im := range r.Images {
			im.Src = ""
			switch {
			case im.Path == "":
			case !d.Print:
				im.Src = template.URL(im.Path)
			case inline[im.SHA256] != nil:
				// The media type is one of imageTypes and the payload
				// base64: the URI cannot carry anything else.
				im.Src = template.URL("data:" + im.MediaType + ";base64," + base64.StdEncoding.EncodeToString(inline[im.SHA256]))
			}
		}
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return b.Bytes(), nil
}

// inlineCandidates chooses the images to inline in the printed report, in
// the order the report shows them, while they fit beside a report of
// htmlSize bytes in MaxPrintHTML. It returns nil if the report is too large
// to print at all.
func (d *reportData) inlineCandidates(htmlSize int) map[string]bool {
	budget := MaxPrintHTML - printSlack - htmlSize
	if budget < 0 {
		return nil
	}
	// Every <img> of an image carries its own copy.
	out, refused := map[string]bool{}, map[string]bool{}
	for _, r := range d.Runs {
		for _, im := range r.Images {
			n := base64.StdEncoding.EncodedLen(int(im.Size)) + len("data:;base64,") + len(im.MediaType)
			if im.Path == "" || im.Size > MaxInlineImage || refused[im.SHA256] || n > budget {
				refused[im.SHA256] = true
				continue
			}
			out[im.SHA256] = true
			budget -= n
		}
	}
	for sha := range refused {
		delete(out, sha)
	}
	return out
}

// printModel builds the printed variant of the report, describing at most
// MaxPrintEntries entries, and chooses the images to inline. It returns nil
// when the report is too large to print.
func printModel(c Contents, entries []Entry, parsed []ledger.Entry, generator string) (*reportData, error) {
	d, err := humanReport(c, entries, parsed, generator, MaxPrintEntries)
	if err != nil {
		return nil, fmt.Errorf("%w: report: %w", ErrInvalidContents, err)
	}
	html, err := d.render(map[string][]byte{})
	if err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	if d.keep = d.inlineCandidates(len(html)); d.keep == nil {
		return nil, nil
	}
	return d, nil
}

// printReport renders the printed variant with the retained images and
// prints it with print.
func (d *reportData) printReport(ctx context.Context, print func(context.Context, []byte) ([]byte, error), images map[string][]byte) ([]byte, error) {
	for _, r := range d.Runs {
		for _, im := range r.Images {
			if im.Path != "" && images[im.SHA256] == nil {
				im.Note = "not embedded in the PDF (" + formatBytes(im.Size) + "); open " + im.Path + " in the bundle"
			}
		}
	}
	html, err := d.render(images)
	if err != nil {
		return nil, err
	}
	if len(html) > MaxPrintHTML {
		return nil, fmt.Errorf("report: printed HTML is %d bytes, more than %d", len(html), MaxPrintHTML)
	}
	pdf, err := print(ctx, html)
	if err != nil {
		return nil, fmt.Errorf("print report: %w", err)
	}
	return pdf, nil
}
