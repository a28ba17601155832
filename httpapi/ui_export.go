package httpapi

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/auditshot/auditshot"
)

// uiMaxExportRuns bounds the runs a console export selects by time.
const uiMaxExportRuns = 1000

// exportPage is the data of the export page.
type exportPage struct {
	uiBase
	Mode                          string
	Runs, From, To, Start, End    string
	Error                         string
	MaxRuns                       int
	LogSize                       int64
	ModeRuns, ModeTime, ModeRange bool
}

func (u *ui) exportAllowed(ur *uiRequest) error {
	if !ur.key.Has(auditshot.ScopeAudit) {
		return auditshot.Errorf(auditshot.EFORBIDDEN, "exporting evidence needs an API key with the audit scope")
	}
	return nil
}

func (u *ui) handleExportForm(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	if err := u.exportAllowed(ur); err != nil {
		return err
	}
	q := r.URL.Query()
	p := exportPage{uiBase: u.base(ur, "Export evidence", "export"), Mode: q.Get("mode"), Runs: strings.Join(q["runs"], "\n"),
		From: q.Get("from"), To: q.Get("to")}
	return u.renderExport(w, r, ur, http.StatusOK, p)
}

func (u *ui) renderExport(w http.ResponseWriter, r *http.Request, ur *uiRequest, status int, p exportPage) error {
	size, err := u.s.cfg.Ledger.LogSize(r.Context(), ur.key.TenantID)
	if err != nil {
		return err
	}
	p.LogSize, p.MaxRuns = size, u.maxExportRuns()
	switch p.Mode {
	case "time":
		p.ModeTime = true
	case "range":
		p.ModeRange = true
	default:
		p.Mode, p.ModeRuns = "runs", true
	}
	u.render(w, r, status, "export", p)
	return nil
}

// maxExportRuns is the most runs one console export holds: larger ones
// are the API's asynchronous exports.
func (u *ui) maxExportRuns() int {
	return int(min(u.s.cfg.AsyncExport/100, uiMaxExportRuns))
}

// handleExport writes the evidence bundle of the selection (runs ticked
// on the runs list or typed, runs started in a time range, or an index
// range) and sends it as a download. Its export.created entry names the
// session's key.
func (u *ui) handleExport(w http.ResponseWriter, r *http.Request, ur *uiRequest) error {
	if err := u.exportAllowed(ur); err != nil {
		return err
	}
	f := r.PostForm
	p := exportPage{uiBase: u.base(ur, "Export evidence", "export"), Mode: f.Get("mode"), From: f.Get("from"), To: f.Get("to"),
		Start: f.Get("start"), End: f.Get("end")}
	ids := f["run"]
	ids = append(ids, strings.FieldsFunc(f.Get("runs"), func(c rune) bool { return c == ',' || c == '\n' || c == '\r' || c == ' ' || c == '\t' })...)
	p.Runs = strings.Join(ids, "\n")
	sel, err := u.selection(r, ur, p.Mode, ids, p)
	if err != nil {
		if code := auditshot.ErrorCode(err); code == auditshot.EINVALID || code == auditshot.ENOTFOUND {
			p.Error = auditshot.ErrorMessage(err)
			return u.renderExport(w, r, ur, http.StatusBadRequest, p)
		}
		return err
	}
	t, err := u.s.tenants.find(r.Context(), u.s.cfg.Tenants, ur.key.TenantID)
	if err != nil {
		return err
	}
	res, err := u.s.export(r.Context(), caller{key: ur.key, tenant: t}, sel)
	if err != nil {
		if code := auditshot.ErrorCode(err); code == auditshot.EINVALID || code == auditshot.ENOTFOUND {
			p.Error = auditshot.ErrorMessage(err)
			return u.renderExport(w, r, ur, http.StatusBadRequest, p)
		}
		return err
	}
	rc, _, err := u.s.cfg.Blobs.Open(r.Context(), res.SHA256, false)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Length", strconv.FormatInt(res.Size, 10))
	h.Set("Content-Disposition", `attachment; filename="`+safeFilename("auditshot-evidence-"+res.ID+".zip", "auditshot-evidence.zip")+`"`)
	h.Set("X-Export-Id", res.ID)
	setLedgerHeaders(w, res.Ledger)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		u.s.log.Error("send export", "request_id", requestID(r.Context()), "export", res.ID, "err", err)
	}
	return nil
}

// selection turns the form into an ExportSelection.
func (u *ui) selection(r *http.Request, ur *uiRequest, mode string, ids []string, p exportPage) (auditshot.ExportSelection, error) {
	switch mode {
	case "time":
		return u.runsInTime(r, ur, p.From, p.To)
	case "range":
		start, err1 := strconv.ParseInt(strings.TrimSpace(p.Start), 10, 64)
		end, err2 := strconv.ParseInt(strings.TrimSpace(p.End), 10, 64)
		if err1 != nil || err2 != nil || start < 0 || end <= start {
			return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID, "give a ledger index range: 0 <= start < end")
		}
		if end-start > u.s.cfg.AsyncExport {
			return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID,
				"the range holds more than %d entries: use the API's asynchronous export (POST /v1/exports)", u.s.cfg.AsyncExport)
		}
		return auditshot.ExportSelection{Range: &auditshot.IndexRange{Start: start, End: end}}, nil
	}
	if len(ids) == 0 {
		return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID, "select at least one run (tick runs on the runs list, or type run ids)")
	}
	if len(ids) > u.maxExportRuns() {
		return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID,
			"%d runs selected; the console exports at most %d at once (use the API's asynchronous export for more)", len(ids), u.maxExportRuns())
	}
	seen := map[string]bool{}
	var runs []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := u.s.cfg.Runs.FindRun(r.Context(), ur.key.TenantID, id); err != nil {
			return auditshot.ExportSelection{}, err
		}
		runs = append(runs, id)
	}
	return auditshot.ExportSelection{Runs: runs}, nil
}

// runsInTime selects the runs started in a time range.
func (u *ui) runsInTime(r *http.Request, ur *uiRequest, from, to string) (auditshot.ExportSelection, error) {
	f, err := runsForm{From: from, To: to}.filter()
	if err != nil {
		return auditshot.ExportSelection{}, err
	}
	if f.From.IsZero() && f.To.IsZero() {
		return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID, "give a start or an end of the time range")
	}
	f.Limit, f.Sort = 500, auditshot.RunSortOldest
	var ids []string
	for {
		runs, next, err := u.s.cfg.Runs.ListRuns(r.Context(), ur.key.TenantID, f)
		if err != nil {
			return auditshot.ExportSelection{}, err
		}
		for _, run := range runs {
			ids = append(ids, run.ID)
		}
		if len(ids) > u.maxExportRuns() {
			return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID,
				"more than %d runs started in that time: narrow it, or use the API's asynchronous export", u.maxExportRuns())
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if len(ids) == 0 {
		return auditshot.ExportSelection{}, auditshot.Errorf(auditshot.EINVALID, "no run started in that time")
	}
	return auditshot.ExportSelection{Runs: ids}, nil
}
