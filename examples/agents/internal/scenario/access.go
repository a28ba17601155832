package scenario

import (
	"context"
	"fmt"
	"regexp"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// The access review: refund-bot holds the export permission (bulk
// download of customer data), which refunds do not need.
const (
	accessUser       = "refund-bot"
	accessPermission = "export"
)

// AccessAgent is the access-review agent's identity.
var AccessAgent = auditshot.Agent{ID: "access-reviewer", Name: "Acme access review agent", Model: "claude-opus-4",
	Version: "0.9.2", CodeRef: "github.com/auditshot/auditshot/examples/agents/access"}

// checked matches the permission's checkbox when it is checked.
var checked = regexp.MustCompile(`<input[^>]*\bid="perm-` + accessPermission + `"[^>]*\bchecked\b`)

// Access reviews the permissions of the app user refund-bot as ops-bot
// (an administrator) and revokes its export permission, in an
// "access_review" run: a screenshot of the permissions page before; the
// agent's decision with its reasoning; the flow that signs in, unchecks the
// permission and saves it; a screenshot after, which the server compares
// with the one before (Result.Diff); and an action that records the
// change. When the permission is not held, the decision is to change
// nothing, and the run records that with before and after screenshots.
func Access(ctx context.Context, c *client.Client, cfg Config) (*Result, error) {
	a, err := newAgent(c, cfg, "access", "ops-bot", AccessAgent)
	if err != nil {
		return nil, err
	}
	if err := a.signIn(ctx); err != nil {
		return nil, err
	}
	page := "/users/" + accessUser + "/permissions"
	granted, err := a.hasPermission(ctx, page)
	if err != nil {
		return nil, err
	}
	req := client.RunRequest{Workflow: "access_review", Principal: "security-team:quarterly-review",
		Subject: "user:" + accessUser, Labels: map[string]string{"control": "SOC2-CC6.3", "permission": accessPermission}}
	return a.do(ctx, req, func(ctx context.Context) error {
		opts := auditshot.CaptureOptions{WaitFor: "#permissions-form"}
		before, err := a.screenshot(ctx, "permissions_before", auditshot.RoleBefore, page, opts)
		if err != nil {
			return err
		}
		decision, reasoning := "revoke", "refund-bot is an AI agent that issues refunds; its last 90 days of activity show no CSV export, "+
			"and bulk export of customer data is outside its workflow. Least privilege (SOC 2 CC6.3) calls for removing "+
			"the export permission; refunds and validation stay."
		if !granted {
			decision, reasoning = "keep", "refund-bot does not hold the export permission: nothing to revoke."
		}
		if _, err := a.event(ctx, client.EventRequest{Type: auditshot.EventDecision, Name: "access_review_decision",
			Data:      map[string]any{"user": accessUser, "permission": accessPermission, "granted": granted, "decision": decision},
			Reasoning: reasoning, Artifacts: artifacts(before)}); err != nil {
			return err
		}
		if granted {
			steps := append(a.signInSteps("#permissions-form"),
				auditshot.Step{Action: auditshot.ActionClick, Selector: "#perm-" + accessPermission}, // unchecks it
				auditshot.Step{Action: auditshot.ActionScreenshot, Name: "permission_unchecked"},
				auditshot.Step{Action: auditshot.ActionClick, Selector: "#save-permissions"},
				// The save reloads the page; #saved is only on the new one.
				auditshot.Step{Action: auditshot.ActionWaitFor, Selector: "#saved"},
				auditshot.Step{Action: auditshot.ActionAssertText, Selector: "#saved", Text: "Permissions updated"},
			)
			if _, err := a.sequence(ctx, "revoke_permission", page, false, steps); err != nil {
				return err
			}
		}
		after, err := a.screenshot(ctx, "permissions_after", auditshot.RoleAfter, page, opts)
		if err != nil {
			return err
		}
		if !granted {
			return nil
		}
		still, err := a.hasPermission(ctx, page)
		if err != nil {
			return err
		}
		if still {
			return fmt.Errorf("%s still holds %s after saving", accessUser, accessPermission)
		}
		data := map[string]any{"user": accessUser, "permission": accessPermission, "granted": false}
		if after.Diff != nil {
			data["changed_ppm"] = after.Diff.ChangedPPM
		}
		_, err = a.event(ctx, client.EventRequest{Type: auditshot.EventAction, Name: "permission_revoked", Data: data,
			Reasoning: "Revoked as decided; the permissions page, read again, shows it unchecked.",
			Artifacts: artifacts(before, after)})
		return err
	})
}

// hasPermission reads the permissions page and reports whether the
// permission's checkbox is checked.
func (a *agent) hasPermission(ctx context.Context, page string) (bool, error) {
	b, err := a.get(ctx, page)
	if err != nil {
		return false, err
	}
	return checked.Match(b), nil
}
