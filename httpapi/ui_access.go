package httpapi

import (
	"context"
	"net/url"

	"github.com/auditshot/auditshot"
)

// accessRows reads a page of the access log as the console shows it, the
// keys named, and returns the Before of the next page (0 if this is the
// last).
func (u *ui) accessRows(ctx context.Context, tenant string, f auditshot.AccessFilter) ([]accessRow, int64, error) {
	entries, next, err := u.s.accessPage(ctx, tenant, f)
	if err != nil {
		return nil, 0, err
	}
	// Name the keys that looked (a revoked key keeps its name).
	names := map[string]string{}
	if len(entries) > 0 {
		keys, err := u.s.cfg.Tenants.ListAPIKeys(ctx, tenant)
		if err != nil {
			return nil, 0, err
		}
		for _, k := range keys {
			names[k.ID] = k.Name
		}
	}
	rows := make([]accessRow, 0, len(entries))
	for _, e := range entries {
		row := accessRow{Type: e.Type, Actor: e.Actor, ActorName: names[e.Actor], What: e.What, Time: uiTime(e.Time), RunID: e.RunID,
			SHA256: e.SHA256, ExportID: e.ExportID, Index: e.Ledger.Index, LeafHash: e.Ledger.LeafHash}
		if e.RunID != "" {
			row.RunURL = "/ui/runs/" + url.PathEscape(e.RunID)
		}
		if e.SHA256 != "" {
			row.ArtifactURL = artifactURL(e.SHA256)
		}
		rows = append(rows, row)
	}
	return rows, next, nil
}
