package httpapi

import (
	"net/http"
	"regexp"

	"github.com/auditshot/auditshot"
)

var validPeriod = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	period := auditshot.UsagePeriod(s.cfg.Now())
	if v := r.URL.Query().Get("period"); v != "" {
		if !validPeriod.MatchString(v) {
			return auditshot.Errorf(auditshot.EINVALID, "period: want a month as YYYY-MM, got %q", v)
		}
		period = v
	}
	u, err := s.cfg.Usage.Usage(r.Context(), c.tenant.ID, period)
	if err != nil {
		return err
	}
	u.TenantID, u.Period, u.Limit = c.tenant.ID, period, int64(c.tenant.Plan.CapturesPerMonth)
	setUsageHeaders(w.Header(), u)
	writeJSON(w, http.StatusOK, usageBody{Usage: u, Plan: c.tenant.Plan, Remaining: remaining(u)})
	return nil
}

type usageBody struct {
	auditshot.Usage
	// Remaining is the captures left this period; nil when unlimited.
	Remaining *int64         `json:"remaining"`
	Plan      auditshot.Plan `json:"plan"`
}

func remaining(u auditshot.Usage) *int64 {
	if u.Limit <= 0 {
		return nil
	}
	n := max(0, u.Limit-u.Captures)
	return &n
}
