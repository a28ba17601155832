// Package agentcmd is the command line the example agents share: where
// auditshot and the demo app are (flags, or AUDITSHOT_* and DEMOAPP_*
// variables), who the agent is, running its scenario and printing what it
// recorded.
package agentcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/auditshot/auditshot/client"
	"github.com/auditshot/auditshot/examples/agents/internal/scenario"
)

// Scenario is what an agent does.
type Scenario func(ctx context.Context, c *client.Client, cfg scenario.Config) (*scenario.Result, error)

// Main runs the agent named name and exits: 0 when its scenario
// succeeded, 1 when it failed, 2 for bad flags.
func Main(name string, fn Scenario) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, name, fn, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, name+": FAILED:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// env returns the variable's value, or def when it is unset or empty.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Run parses args, runs the scenario and prints its records to stdout.
func Run(ctx context.Context, name string, fn Scenario, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("auditshot-url", env("AUDITSHOT_URL", "http://127.0.0.1:8080"), "auditshot API base URL (env AUDITSHOT_URL)")
	apiKey := fs.String("api-key", env("AUDITSHOT_API_KEY", ""), "auditshot API key with the capture, write and read scopes (env AUDITSHOT_API_KEY)")
	appURL := fs.String("app-url", env("DEMOAPP_URL", "http://127.0.0.1:8090"), "demo app base URL (env DEMOAPP_URL)")
	user := fs.String("app-user", env("DEMOAPP_USER", ""), "demo app user (env DEMOAPP_USER; default: the scenario's)")
	password := fs.String("app-password", env("DEMOAPP_PASSWORD", scenario.DemoPassword), "demo app password (env DEMOAPP_PASSWORD)")
	model := fs.String("model", env("AGENT_MODEL", ""), "model recorded as the agent's (env AGENT_MODEL; default: the scenario's)")
	version := fs.String("version", env("AGENT_VERSION", ""), "agent version recorded (env AGENT_VERSION; default: the scenario's)")
	codeRef := fs.String("code-ref", env("AGENT_CODE_REF", ""), "code reference recorded, such as a commit (env AGENT_CODE_REF; default: the package and its VCS revision)")
	result := fs.String("result", "", "write the result as JSON to this file")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{"takes no arguments"}
	}
	if *apiKey == "" {
		return usageError{"an API key is required: --api-key or AUDITSHOT_API_KEY"}
	}
	c, err := client.New(client.Config{BaseURL: *apiURL, APIKey: *apiKey})
	if err != nil {
		return usageError{err.Error()}
	}
	if *codeRef == "" {
		*codeRef = buildRef()
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg := scenario.Config{AppURL: *appURL, User: *user, Password: *password, Progress: func(r scenario.Record) { printRecord(stdout, name, r) }}
	cfg.Agent.Model, cfg.Agent.Version, cfg.Agent.CodeRef = *model, *version, *codeRef
	res, err := fn(ctx, c, cfg)
	if res != nil {
		printSummary(stdout, name, res)
		if *result != "" {
			b, jerr := json.MarshalIndent(res, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(*result, append(b, '\n'), 0o644)
			}
			if jerr != nil {
				err = errors.Join(err, fmt.Errorf("write result: %w", jerr))
			}
		}
	}
	return err
}

// buildRef is the main package's path at the VCS revision it was built
// from, when the build recorded one, or "" to keep the scenario's.
func buildRef() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if dirty {
		rev += "-dirty"
	}
	return bi.Path + "@" + rev
}

func printRecord(w io.Writer, name string, r scenario.Record) {
	what := r.What
	if r.Role != "" {
		what += " " + r.Role
	}
	fmt.Fprintf(w, "%s: ledger #%-4d %-18s %-24s %s", name, r.Ledger, what, r.Name, r.ID)
	if r.Detail != "" {
		fmt.Fprintf(w, "  (%s)", r.Detail)
	}
	fmt.Fprintln(w)
}

func printSummary(w io.Writer, name string, res *scenario.Result) {
	run := res.Run
	fmt.Fprintf(w, "%s: run %s %s: workflow %s, agent %s %s %s (%s)\n", name, run.ID, run.Status, run.Workflow,
		run.Agent.ID, run.Agent.Model, run.Agent.Version, run.Agent.CodeRef)
	if res.RefundID != "" {
		fmt.Fprintf(w, "%s: refund %s settled\n", name, res.RefundID)
	}
	if d := res.Diff; d != nil {
		fmt.Fprintf(w, "%s: before/after diff: changed_ppm %d (%d of %d pixels, %d regions)\n", name, d.ChangedPPM,
			d.ChangedPixels, d.TotalPixels, len(d.Regions)+d.MoreRegions)
	}
	if v := res.Validation; v != nil {
		fmt.Fprintf(w, "%s: validation %d passed, %d failed\n", name, v.Passed, v.Failed)
	}
}
