package scenario

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// ValidationAgent is the data-validation agent's identity.
var ValidationAgent = auditshot.Agent{ID: "data-validator", Name: "Acme import validation agent", Model: "claude-haiku-4",
	Version: "2.1.0", CodeRef: "github.com/auditshot/auditshot/examples/agents/validation"}

// ValidationStatus is the app's /validation/status answer.
type ValidationStatus struct {
	State  string `json:"state"` // idle, running, complete
	Done   int    `json:"done"`
	Total  int    `json:"total"`
	Checks []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Status   string `json:"status"` // queued, running, passed, failed
		Failures int    `json:"failures"`
	} `json:"checks"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Failures []struct {
		RecordID string `json:"record_id"`
		Check    string `json:"check"`
		Detail   string `json:"detail"`
	} `json:"failures"`
}

// Validation validates the app's pending customer import as ops-bot, in a
// "validate_customer_import" run: the flow, recorded as video, that signs
// in, runs the validation and waits until it is complete; a note per check
// with its result, read from the app's /validation/status; a decision on
// the import with the failing records; and a screenshot of the final
// state.
func Validation(ctx context.Context, c *client.Client, cfg Config) (*Result, error) {
	a, err := newAgent(c, cfg, "validation", "ops-bot", ValidationAgent)
	if err != nil {
		return nil, err
	}
	if err := a.signIn(ctx); err != nil {
		return nil, err
	}
	req := client.RunRequest{Workflow: "validate_customer_import", Principal: "data-team:crm-migration",
		Subject: "import:crm-2025-03", Labels: map[string]string{"records": "20"}}
	return a.do(ctx, req, func(ctx context.Context) error {
		steps := append(a.signInSteps("#run-validation"),
			auditshot.Step{Action: auditshot.ActionClick, Selector: "#run-validation"},
			// The run's page reloads until every check has finished.
			auditshot.Step{Action: auditshot.ActionWaitFor, Selector: "#validation[data-state=complete]", Timeout: 30_000},
			auditshot.Step{Action: auditshot.ActionAssertVisible, Selector: "#validation-summary"},
			auditshot.Step{Action: auditshot.ActionScreenshot, Name: "validation_complete"},
		)
		flow, err := a.sequence(ctx, "run_validation", "/validation", true, steps)
		if err != nil {
			return err
		}
		b, err := a.get(ctx, "/validation/status")
		if err != nil {
			return err
		}
		var st ValidationStatus
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("decode /validation/status: %w", err)
		}
		if st.State != "complete" {
			return fmt.Errorf("validation is %s after the page showed it complete", st.State)
		}
		a.res.Validation = &st
		for _, ch := range st.Checks {
			if _, err := a.event(ctx, client.EventRequest{Type: auditshot.EventNote, Name: "check_" + ch.ID,
				Data: map[string]any{"check": ch.Name, "status": ch.Status, "failures": ch.Failures}}); err != nil {
				return err
			}
		}
		failures := make([]map[string]string, 0, len(st.Failures))
		for _, f := range st.Failures {
			failures = append(failures, map[string]string{"record": f.RecordID, "check": f.Check, "detail": f.Detail})
		}
		decision, reasoning := "import", fmt.Sprintf("All %d records passed every check.", st.Passed)
		if st.Failed > 0 {
			decision = "import_passed_quarantine_failed"
			reasoning = fmt.Sprintf("%d records passed and %d failed: import the ones that passed, hold back the failing ones "+
				"and send them to the data team to correct; nothing failing is written to the CRM.", st.Passed, st.Failed)
		}
		if _, err := a.event(ctx, client.EventRequest{Type: auditshot.EventDecision, Name: "import_decision",
			Data:      map[string]any{"passed": st.Passed, "failed": st.Failed, "failures": failures, "decision": decision},
			Reasoning: reasoning, Artifacts: videoRef(flow)}); err != nil {
			return err
		}
		_, err = a.screenshot(ctx, "validation_final", auditshot.RoleAfter, "/validation",
			auditshot.CaptureOptions{WaitFor: "#validation-summary", FullPage: true})
		return err
	})
}
