package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
)

// maxChaptersJSON bounds the evidence JSON read for a video's chapters.
const maxChaptersJSON = 8 << 20

// runPage is the data of a run's page.
type runPage struct {
	uiBase
	Run       *auditshot.Run
	Duration  string
	Labels    []string
	Integrity integrity
	Timeline  []timelineItem
	Compare   *compareView
	Videos    []videoView
	Images    []artifactLink
	Downloads []artifactLink
	ExportURL string
	// Access is who looked at the run and its evidence, newest first;
	// AccessURL lists all of it on the ledger page.
	Access     []accessRow
	MoreAccess bool
	AccessURL  string
}

// timelineItem is an event or a capture of the run, in log order.
type timelineItem struct {
	Kind, Type, Name, Time string
	// Data is the event's data as indented JSON, shown as text.
	Data      string
	Reasoning string
	URL       string
	Detail    string
	Artifacts []artifactLink
	Index     int64
	LeafHash  string
	ProofURL  string
}

type artifactLink struct {
	Label, Role, MediaType, URL, SHA256, Size string
}

// compareView is a before and an after screenshot, and their diff.
type compareView struct {
	Before, After, Diff artifactLink
	Changed             string
}

type videoView struct {
	ID       string
	Name     string
	URL      string
	Type     string
	Poster   string
	Chapters []chapterView
}

type chapterView struct {
	Step    int
	Label   string
	At      string
	Seconds string
}

func artifactURL(sha string) string { return "/ui/artifacts/" + sha }

func linkOf(a auditshot.ArtifactRef, label string) artifactLink {
	return artifactLink{Label: label, Role: a.Role, MediaType: a.MediaType, URL: artifactURL(a.SHA256), SHA256: a.SHA256, Size: uiBytes(a.Size)}
}

// downloadLink links an artifact as a download with a file name.
func downloadLink(a auditshot.ArtifactRef, label, filename string) artifactLink {
	l := linkOf(a, label)
	l.URL += "?" + url.Values{"download": {filename}}.Encode()
	return l
}

func (u *ui) handleRun(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	ctx, tenant := r.Context(), ur.key.TenantID
	run, err := u.s.cfg.Runs.FindRun(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	events, err := u.s.cfg.Runs.ListEvents(ctx, tenant, run.ID)
	if err != nil {
		return err
	}
	captures, err := u.s.cfg.Captures.ListCaptures(ctx, tenant, run.ID)
	if err != nil {
		return err
	}
	refs, err := u.s.cfg.Runs.RunEntries(ctx, tenant, run.ID)
	if err != nil {
		return err
	}
	// The look is recorded before any of the evidence is sent.
	if err := u.recordView(ctx, ur, auditshot.EvidenceView{What: auditshot.ViewRun, RunID: run.ID}); err != nil {
		return err
	}
	p := runPage{uiBase: u.base(ur, "Run "+run.Workflow, "runs"), Run: run, Duration: runDuration(run, u.s.cfg.Now())}
	for _, k := range slices.Sorted(maps.Keys(run.Labels)) {
		p.Labels = append(p.Labels, k+"="+run.Labels[k])
	}
	if ur.key.Has(auditshot.ScopeAudit) {
		p.ExportURL = "/ui/export?" + url.Values{"runs": {run.ID}}.Encode()
	}
	p.Integrity = u.verifyRun(ctx, tenant, run.ID, refs)
	p.Timeline = timeline(run, events, captures)
	p.Compare = compareOf(events, captures)
	for _, c := range captures {
		p.Videos = append(p.Videos, u.videosOf(ctx, c)...)
		for _, a := range c.Artifacts {
			name := c.Name
			if name == "" {
				name = c.ID
			}
			switch {
			case a.Role == auditshot.RoleDOM:
				p.Downloads = append(p.Downloads, downloadLink(a, "DOM snapshot of "+name+" (MHTML)", name+"-dom.mhtml"))
			case a.Role == "evidence" || a.Role == auditshot.RoleNetwork:
				p.Downloads = append(p.Downloads, downloadLink(a, "Network log and evidence of "+name+" (JSON)", name+"-evidence.json"))
			case a.Role == "pdf":
				p.Downloads = append(p.Downloads, downloadLink(a, "PDF of "+name, name+".pdf"))
			case a.Role == auditshot.RoleStep && strings.HasPrefix(a.MediaType, "image/"):
				p.Images = append(p.Images, linkOf(a, name+": step screenshot"))
			}
		}
	}
	var more int64
	if p.Access, more, err = u.accessRows(ctx, tenant, auditshot.AccessFilter{RunID: run.ID, Limit: uiRunAccess}); err != nil {
		return err
	}
	p.MoreAccess = more > 0
	p.AccessURL = "/ui/ledger?" + url.Values{"run": {run.ID}}.Encode() + "#access-h"
	u.render(w, r, http.StatusOK, "run", p)
	return nil
}

// uiRunAccess is how many access entries a run's page shows.
const uiRunAccess = 10

// timeline merges a run's events and captures in log order.
func timeline(run *auditshot.Run, events []*auditshot.Event, captures []*auditshot.Capture) []timelineItem {
	var items []timelineItem
	proof := func(ref auditshot.LedgerRef) string { return "/ui/proof/" + strconv.FormatInt(ref.Index, 10) }
	items = append(items, timelineItem{Kind: "run", Type: "run.started", Name: run.Workflow, Time: uiTime(run.StartedAt),
		Index: run.Started.Index, LeafHash: run.Started.LeafHash, ProofURL: proof(run.Started)})
	for _, e := range events {
		it := timelineItem{Kind: "event", Type: string(e.Type), Name: e.Name, Time: uiTime(e.Time), Reasoning: e.Reasoning,
			Data: prettyJSON(e.Data), Index: e.Ledger.Index, LeafHash: e.Ledger.LeafHash, ProofURL: proof(e.Ledger)}
		for _, a := range e.Artifacts {
			it.Artifacts = append(it.Artifacts, linkOf(a, a.Role))
		}
		items = append(items, it)
	}
	for _, c := range captures {
		kind := c.Kind
		if kind == "" {
			kind = "screenshot"
		}
		name := c.Name
		if name == "" {
			name = c.ID
		}
		it := timelineItem{Kind: "capture", Type: kind, Name: name, Time: uiTime(c.Time), URL: c.FinalURL,
			Index: c.Ledger.Index, LeafHash: c.Ledger.LeafHash, ProofURL: proof(c.Ledger)}
		var detail []string
		if c.Role != "" {
			detail = append(detail, "role "+c.Role)
		}
		if c.Outcome != "" {
			detail = append(detail, c.Outcome)
		}
		if c.Status != 0 {
			detail = append(detail, "HTTP "+strconv.Itoa(c.Status))
		}
		if c.Title != "" {
			detail = append(detail, "“"+c.Title+"”")
		}
		if c.Diff != nil {
			detail = append(detail, fmt.Sprintf("%.2f%% of pixels changed", float64(c.Diff.ChangedPPM)/1e4))
		}
		it.Detail = strings.Join(detail, " · ")
		for _, a := range c.Artifacts {
			it.Artifacts = append(it.Artifacts, linkOf(a, a.Role))
		}
		items = append(items, it)
	}
	if run.Finished != nil {
		items = append(items, timelineItem{Kind: "run", Type: "run.finished", Name: string(run.Status), Time: uiTime(run.EndedAt),
			Index: run.Finished.Index, LeafHash: run.Finished.LeafHash, ProofURL: proof(*run.Finished)})
	}
	slices.SortStableFunc(items, func(a, b timelineItem) int { return cmp.Compare(a.Index, b.Index) })
	return items
}

// prettyJSON indents JSON for display ("" for none).
func prettyJSON(b json.RawMessage) string {
	if len(b) == 0 || string(b) == "null" {
		return ""
	}
	// Decoded and encoded again so that strings read as they were sent
	// (not \u003c escapes); the page shows the result as text.
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return string(b)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return string(b)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// compareOf finds the run's before and after screenshots: the latest
// "after" capture, the "before" it was compared with (else the latest
// before), and its diff image. Events' before and after artifacts serve
// when there are no such captures.
func compareOf(events []*auditshot.Event, captures []*auditshot.Capture) *compareView {
	var before, after *auditshot.Capture
	for _, c := range captures {
		switch c.Role {
		case auditshot.RoleBefore:
			if imageOf(c) != nil {
				before = c
			}
		case auditshot.RoleAfter:
			if imageOf(c) != nil {
				after = c
			}
		}
	}
	if after != nil && after.Diff != nil {
		for _, c := range captures {
			if c.ID == after.Diff.Before && imageOf(c) != nil {
				before = c
			}
		}
	}
	cv := &compareView{}
	if before != nil && after != nil {
		cv.Before, cv.After = linkOf(*imageOf(before), "Before"), linkOf(*imageOf(after), "After")
		for _, a := range after.Artifacts {
			if a.Role == auditshot.RoleDiff {
				cv.Diff = linkOf(a, "Diff")
			}
		}
		if after.Diff != nil {
			cv.Changed = fmt.Sprintf("%.2f%% of pixels changed (%d of %d) in %d region(s)", float64(after.Diff.ChangedPPM)/1e4,
				after.Diff.ChangedPixels, after.Diff.TotalPixels, len(after.Diff.Regions)+after.Diff.MoreRegions)
		}
		return cv
	}
	var b, a *auditshot.ArtifactRef
	for _, e := range events {
		for i := range e.Artifacts {
			ar := &e.Artifacts[i]
			if !strings.HasPrefix(ar.MediaType, "image/") {
				continue
			}
			switch ar.Role {
			case auditshot.RoleBefore:
				b = ar
			case auditshot.RoleAfter:
				a = ar
			case auditshot.RoleDiff:
				cv.Diff = linkOf(*ar, "Diff")
			}
		}
	}
	if b == nil || a == nil {
		return nil
	}
	cv.Before, cv.After = linkOf(*b, "Before"), linkOf(*a, "After")
	return cv
}

// imageOf returns a screenshot capture's image.
func imageOf(c *auditshot.Capture) *auditshot.ArtifactRef {
	for i, a := range c.Artifacts {
		if a.Role == "image" && strings.HasPrefix(a.MediaType, "image/") {
			return &c.Artifacts[i]
		}
	}
	return nil
}

// videosOf returns a capture's videos with their chapters, read from the
// capture's chapters or evidence artifact.
func (u *ui) videosOf(ctx context.Context, c *auditshot.Capture) []videoView {
	var out []videoView
	for _, a := range c.Artifacts {
		if a.Role != auditshot.RoleVideo {
			continue
		}
		name := c.Name
		if name == "" {
			name = c.ID
		}
		v := videoView{ID: "video-" + a.SHA256[:12], Name: name, URL: artifactURL(a.SHA256), Type: a.MediaType, Poster: posterOf(c)}
		for _, ch := range u.chaptersOf(ctx, c) {
			v.Chapters = append(v.Chapters, chapterView{Step: ch.Step + 1, Label: ch.Label, At: clock(ch.OffsetMS),
				Seconds: strconv.FormatFloat(float64(ch.OffsetMS)/1000, 'f', 3, 64)})
		}
		out = append(out, v)
	}
	return out
}

// posterOf is the image a capture's video shows before it plays: the
// first screenshot the flow took (the video's first frames are the blank
// page before the first step), or "" if it took none.
func posterOf(c *auditshot.Capture) string {
	for _, a := range c.Artifacts {
		if a.Role == auditshot.RoleStep && strings.HasPrefix(a.MediaType, "image/") {
			return artifactURL(a.SHA256)
		}
	}
	return ""
}

// clock formats a video offset as m:ss.s.
func clock(ms int64) string {
	return fmt.Sprintf("%d:%04.1f", ms/60000, float64(ms%60000)/1000)
}

// chaptersOf reads a sequence capture's chapters: an artifact in role
// "chapters" (a JSON array, or an object with "chapters"), else the
// "chapters" of its evidence JSON. A read failure leaves them out.
func (u *ui) chaptersOf(ctx context.Context, c *auditshot.Capture) []auditshot.Chapter {
	var src *auditshot.ArtifactRef
	for i, a := range c.Artifacts {
		if a.Role == "chapters" || (a.Role == "evidence" && src == nil) {
			src = &c.Artifacts[i]
		}
	}
	if src == nil || src.Size > maxChaptersJSON {
		return nil
	}
	rc, _, err := u.s.cfg.Blobs.Open(ctx, src.SHA256, true)
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxChaptersJSON))
	if err != nil {
		return nil
	}
	var list []auditshot.Chapter
	if json.Unmarshal(b, &list) == nil {
		return list
	}
	var obj struct {
		Chapters []auditshot.Chapter `json:"chapters"`
	}
	json.Unmarshal(b, &obj)
	return obj.Chapters
}

// integrity is what the run page's badge states.
type integrity struct {
	OK       bool
	Summary  string
	Checks   []string
	Problems []string
	At       string
}

// verifyRun checks a run against the latest signed checkpoint, as the
// run's proof (GET /v1/runs/{id}/proof) is checked by client.VerifyRun:
// the checkpoint's signature by a key of the log, every entry's leaf hash
// and inclusion proof, that every entry is the run's; and it re-hashes
// every artifact the entries commit to from the blob store.
func (u *ui) verifyRun(ctx context.Context, tenant, runID string, refs []auditshot.LedgerRef) integrity {
	in := integrity{At: uiTime(u.s.cfg.Now())}
	fail := func(format string, args ...any) integrity {
		in.Problems = append(in.Problems, fmt.Sprintf(format, args...))
		in.Summary = "Not verified"
		return in
	}
	if len(refs) == 0 {
		return fail("the run has no ledger entries")
	}
	var need int64
	for _, ref := range refs {
		need = max(need, ref.Index+1)
	}
	cpb, err := u.s.checkpoint(ctx, tenant, need)
	if err != nil {
		return fail("no signed checkpoint: %s", auditshot.ErrorMessage(err))
	}
	vs, err := ledger.NewVerifiers(cpb.PublicKeys...)
	if err != nil {
		return fail("the log's keys do not parse: %v", err)
	}
	cp, _, err := ledger.OpenCheckpoint([]byte(cpb.Note), cpb.Origin, vs)
	if err != nil {
		return fail("checkpoint of size %d: %v", cpb.Size, err)
	}
	in.Checks = append(in.Checks, fmt.Sprintf("The checkpoint of size %d (root %s…) is signed by the log's key.", cp.Size, hex.EncodeToString(cp.Hash[:6])))
	var arts []ledger.Artifact
	for i, ref := range refs {
		es, err := u.s.cfg.Ledger.Entries(ctx, tenant, ref.Index, ref.Index+1)
		if err != nil {
			return fail("entry %d: %s", ref.Index, auditshot.ErrorMessage(err))
		}
		leaf := ledger.LeafHash(es[0])
		if hex.EncodeToString(leaf[:]) != ref.LeafHash {
			return fail("entry %d: its leaf hash is not the hash of its bytes", ref.Index)
		}
		p, err := u.s.cfg.Ledger.InclusionProof(ctx, tenant, ref.Index, cp.Size)
		if err != nil {
			return fail("entry %d: no inclusion proof: %s", ref.Index, auditshot.ErrorMessage(err))
		}
		if err := ledger.VerifyInclusion(ref.Index, cp.Size, leaf, toHashes(p), cp.Hash); err != nil {
			return fail("entry %d is not in the checkpoint's tree: %v", ref.Index, err)
		}
		e, err := ledger.Parse(es[0])
		switch {
		case err != nil:
			return fail("entry %d is not a valid entry: %v", ref.Index, err)
		case e.IDs[ledger.IDRun] != runID:
			return fail("entry %d is of run %q", ref.Index, e.IDs[ledger.IDRun])
		case i == 0 && e.Type != ledger.TypeRunStarted:
			return fail("the first entry is %s, not run.started", e.Type)
		}
		arts = append(arts, e.Artifacts...)
	}
	in.Checks = append(in.Checks, fmt.Sprintf("All %d ledger entries of the run (indexes %d to %d) are included in it (inclusion proofs verified).",
		len(refs), refs[0].Index, refs[len(refs)-1].Index))
	seen := map[string]bool{}
	var total int64
	for _, a := range arts {
		if seen[a.SHA256] {
			continue
		}
		seen[a.SHA256] = true
		n, err := u.rehash(ctx, a.SHA256)
		switch {
		case err != nil:
			return fail("artifact %s (%s): %s", a.SHA256[:12], a.Role, auditshot.ErrorMessage(err))
		case n != a.Size:
			return fail("artifact %s (%s): %d bytes, the entry says %d", a.SHA256[:12], a.Role, n, a.Size)
		}
		total += n
	}
	in.Checks = append(in.Checks, fmt.Sprintf("All %d artifacts the entries commit to (%s) were re-hashed from the blob store: every SHA-256 matches.",
		len(seen), uiBytes(total)))
	in.OK, in.Summary = true, "Verified"
	return in
}

// rehash reads a blob to its end with the store's hash check and returns
// its size.
func (u *ui) rehash(ctx context.Context, sha string) (int64, error) {
	rc, _, err := u.s.cfg.Blobs.Open(ctx, sha, true)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

// proofJSON is an entry with its inclusion proof in the latest checkpoint:
// Entry holds its exact bytes (base64), EntryJSON the same entry to read.
type proofJSON struct {
	Index      int64           `json:"index"`
	LeafHash   string          `json:"leaf_hash"`
	Entry      []byte          `json:"entry"`
	EntryJSON  json.RawMessage `json:"entry_json"`
	Proof      []string        `json:"proof"`
	Checkpoint *checkpointBody `json:"checkpoint"`
}

// handleProof answers an entry of the tenant's log with its inclusion
// proof in the latest checkpoint, as JSON.
func (u *ui) handleProof(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	ctx, tenant := r.Context(), ur.key.TenantID
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		return auditshot.Errorf(auditshot.ENOTFOUND, "no entry %q", r.PathValue("index"))
	}
	size, err := u.s.cfg.Ledger.LogSize(ctx, tenant)
	if err != nil {
		return err
	}
	if index >= size {
		return auditshot.Errorf(auditshot.ENOTFOUND, "no entry %d: the log has %d", index, size)
	}
	cp, err := u.s.checkpoint(ctx, tenant, index+1)
	if err != nil {
		return err
	}
	es, err := u.s.cfg.Ledger.Entries(ctx, tenant, index, index+1)
	if err != nil {
		return err
	}
	p, err := u.s.cfg.Ledger.InclusionProof(ctx, tenant, index, cp.Size)
	if err != nil {
		return err
	}
	leaf := ledger.LeafHash(es[0])
	out := proofJSON{Index: index, LeafHash: hex.EncodeToString(leaf[:]), Entry: es[0], EntryJSON: es[0], Proof: b64Hashes(p), Checkpoint: cp}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Write(append(b, '\n'))
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// safeFilename keeps a download's file name to harmless characters.
func safeFilename(name, fallback string) string {
	var b strings.Builder
	for _, c := range name {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 || b.Len() > 128 {
		return fallback
	}
	return b.String()
}

// handleArtifact sends an artifact of the session's tenant, with range
// support (for video), after recording the look in the access log.
func (u *ui) handleArtifact(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	ctx, sha := r.Context(), r.PathValue("sha256")
	if !sha256Hex.MatchString(sha) {
		return auditshot.Errorf(auditshot.ENOTFOUND, "no artifact %q", sha)
	}
	a, err := u.s.cfg.Artifacts.FindArtifact(ctx, ur.key.TenantID, sha)
	if err != nil {
		return err
	}
	// A look is recorded once per uiViewWindow per session: a video being
	// played asks for many ranges. A request from the start (no range, or
	// one from byte 0) is always a new look.
	now := u.s.cfg.Now()
	rng := r.Header.Get("Range")
	if rng == "" || strings.HasPrefix(rng, "bytes=0-") || !u.sessions.viewedRecently(ur.sess, sha, now) {
		if err := u.recordView(ctx, ur, auditshot.EvidenceView{What: auditshot.ViewArtifact, SHA256: sha}); err != nil {
			return err
		}
		u.sessions.markViewed(ur.sess, sha, now)
	}
	rc, _, err := u.s.cfg.Blobs.Open(ctx, sha, false)
	if err != nil {
		return err
	}
	defer rc.Close()
	rs, ok := rc.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		rs = bytes.NewReader(b)
	}
	h := w.Header()
	h.Set("Content-Type", a.MediaType)
	h.Set("ETag", `"`+sha+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	if name := r.URL.Query().Get("download"); name != "" || !inlineTypes[a.MediaType] {
		h.Set("Content-Disposition", `attachment; filename="`+safeFilename(name, sha)+`"`)
	}
	http.ServeContent(w, r, "", time.Time{}, rs)
	return nil
}

// toHashes converts the store's proof hashes to the ledger's.
func toHashes(p [][32]byte) []ledger.Hash {
	out := make([]ledger.Hash, len(p))
	for i, h := range p {
		out[i] = ledger.Hash(h)
	}
	return out
}
