// Command demo runs auditshot end to end on one machine (make demo): it
// starts `auditshot serve` on a fresh data directory and the demo app
// ("Acme Payments") on free loopback ports, runs the three example agents
// (refund, access, validation) against them, exports an evidence bundle per
// run as an auditor, verifies each with `auditshot verify`, and says where
// the bundles and the UI are. It stops what it started when it ends, also
// on failure or Ctrl-C.
//
// scripts/demo builds the binaries it runs and starts it:
//
//	demo [--bin .bin] [--out demo-output] [--serve]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/client"
)

// agents are the example agents the demo runs, in order: a binary of
// each is in <bin>/demo/.
var agents = []string{"refund", "access", "validation"}

// startTimeout bounds the wait for a process to say where it listens.
const startTimeout = 2 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		}
		os.Exit(1)
	}
}

// demo is one run of the demo: its settings and the processes it started.
type demo struct {
	bin, out string
	stdout   io.Writer
	mu       sync.Mutex
	procs    []*proc
}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	bin := fs.String("bin", ".bin", "directory of the auditshot binary; the demo app and the agents are in its demo/")
	out := fs.String("out", "demo-output", "output directory: data/ (the service's data), bundles/, results/, logs/")
	serve := fs.Bool("serve", false, "keep the service and the demo app running after the demo, until Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d := &demo{bin: *bin, out: *out, stdout: stdout}
	defer func() { err = errors.Join(err, d.stopAll()) }()
	for _, dir := range []string{"data", "bundles", "results", "logs"} { // a fresh start
		if err := os.RemoveAll(filepath.Join(d.out, dir)); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(d.out, dir), 0o755); err != nil {
			return err
		}
	}

	// The service, on a free port; the operator tenant may reach the demo
	// app on 127.0.0.1.
	d.say("starting auditshot serve (data %s)", d.path("data"))
	srv, err := d.start(ctx, "auditshot", filepath.Join(d.bin, "auditshot"), []string{"serve", "--addr", "127.0.0.1:0",
		"--data", d.path("data"), "--allow", "127.0.0.1", "--log-format", "text"},
		regexp.MustCompile(`listening on (\S+)`), regexp.MustCompile(`bootstrap admin key \(shown once, store it now\): (\S+)`))
	if err != nil {
		return err
	}
	apiURL, adminKey := srv[0], srv[1]
	if err := os.WriteFile(d.path("admin.key"), []byte(adminKey+"\n"), 0o600); err != nil {
		return err
	}
	d.say("auditshot is at %s; the bootstrap admin key is in %s", apiURL, d.path("admin.key"))

	appOut, err := d.start(ctx, "demoapp", filepath.Join(d.bin, "demo", "demoapp"), []string{"--addr", "127.0.0.1:0"},
		regexp.MustCompile(`url=(http://\S+)/login`))
	if err != nil {
		return err
	}
	appURL := appOut[0]
	d.say("the demo app (Acme Payments) is at %s", appURL)

	admin, err := client.New(client.Config{BaseURL: apiURL, APIKey: adminKey})
	if err != nil {
		return err
	}
	auditorKey, err := admin.CreateKey(ctx, client.KeyRequest{Name: "demo-auditor", Scopes: []auditshot.Scope{auditshot.ScopeAudit}})
	if err != nil {
		return fmt.Errorf("create the auditor's key: %w", err)
	}
	auditor, err := client.New(client.Config{BaseURL: apiURL, APIKey: auditorKey.Secret})
	if err != nil {
		return err
	}
	if err := os.WriteFile(d.path("auditor.key"), []byte(auditorKey.Secret+"\n"), 0o600); err != nil {
		return err
	}
	rev := gitRevision(ctx)

	var failed []string
	bundles := map[string]string{}
	for _, name := range agents {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		key, err := admin.CreateKey(ctx, client.KeyRequest{Name: name + "-agent",
			Scopes: []auditshot.Scope{auditshot.ScopeCapture, auditshot.ScopeWrite, auditshot.ScopeRead}})
		if err != nil {
			return fmt.Errorf("create the %s agent's key: %w", name, err)
		}
		d.say("running the %s agent", name)
		result := d.path("results", name+".json")
		env := []string{"AUDITSHOT_URL=" + apiURL, "AUDITSHOT_API_KEY=" + key.Secret, "DEMOAPP_URL=" + appURL}
		if rev != "" {
			env = append(env, "AGENT_CODE_REF=github.com/auditshot/auditshot/examples/agents/"+name+"@"+rev)
		}
		if err := d.runTool(ctx, filepath.Join(d.bin, "demo", name), []string{"--result", result}, env); err != nil {
			failed = append(failed, name)
			d.say("the %s agent failed: %v", name, err)
		}
		runID, err := readRunID(result)
		if err != nil {
			d.say("the %s agent recorded no run: %v", name, err)
			continue
		}
		path := d.path("bundles", name+".zip")
		if err := exportBundle(ctx, auditor, runID, path); err != nil {
			return fmt.Errorf("export the %s run %s: %w", name, runID, err)
		}
		d.say("exported run %s to %s; verifying it offline with the log's public key", runID, path)
		if err := d.runTool(ctx, filepath.Join(d.bin, "auditshot"), []string{"verify", path, "--key", d.path("data", "log.pub")}, nil); err != nil {
			failed = append(failed, name+" (bundle)")
			d.say("the %s bundle does NOT verify: %v", name, err)
			continue
		}
		bundles[name] = path
	}

	d.say("done")
	fmt.Fprintln(stdout, "\nEvidence bundles (verify again with: auditshot verify BUNDLE --key "+d.path("data", "log.pub")+"):")
	for _, name := range agents {
		if p, ok := bundles[name]; ok {
			fmt.Fprintf(stdout, "  %-11s %s\n", name, p)
		}
	}
	fmt.Fprintf(stdout, "Agent results (JSON): %s\n", d.path("results"))
	fmt.Fprintf(stdout, "Service data: %s; logs: %s\n", d.path("data"), d.path("logs"))
	fmt.Fprintf(stdout, "Auditor UI: %s/ui%s, signed in with the auditor's key in %s\n", apiURL, uiNote(ctx, apiURL), d.path("auditor.key"))
	if len(failed) > 0 {
		return fmt.Errorf("did not succeed: %s", strings.Join(failed, ", "))
	}
	if *serve {
		fmt.Fprintln(stdout, "auditshot and the demo app keep running until Ctrl-C.")
		<-ctx.Done()
		return nil
	}
	fmt.Fprintf(stdout, "  It stops with the demo; to keep it up: make demo DEMO_ARGS=--serve, or later: %s serve --data %s\n",
		filepath.Join(d.bin, "auditshot"), d.path("data"))
	return nil
}

func (d *demo) path(elem ...string) string { return filepath.Join(append([]string{d.out}, elem...)...) }

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.stdout, "==> "+format+"\n", args...)
}

// proc is a process the demo started and stops.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// start starts a long-running process, logging its output to
// logs/<name>.log, and waits until its output has matched every pattern;
// it returns the first group of each match.
func (d *demo) start(ctx context.Context, name, path string, args []string, patterns ...*regexp.Regexp) ([]string, error) {
	logf, err := os.Create(d.path("logs", name+".log"))
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = pw, pw
	setParentDeath(cmd)
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pw.Close()
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	d.mu.Lock()
	d.procs = append(d.procs, p)
	d.mu.Unlock()

	found := make([]string, len(patterns))
	ready := make(chan struct{})
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if n < len(patterns) {
				for i, re := range patterns {
					if m := re.FindStringSubmatch(line); m != nil && found[i] == "" {
						found[i] = m[1]
						if n++; n == len(patterns) {
							close(ready)
						}
					}
				}
			}
		}
		io.Copy(io.Discard, pr)
		pr.Close()
	}()
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-ready:
		return found, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited (%v) before it was ready; see %s", name, cmd.ProcessState, d.path("logs", name+".log"))
	case <-t.C:
		return nil, fmt.Errorf("%s was not ready within %v; see %s", name, startTimeout, d.path("logs", name+".log"))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stopAll stops the processes the demo started, last first: an interrupt,
// then a kill for one that has not exited within 30 seconds.
func (d *demo) stopAll() error {
	d.mu.Lock()
	procs := d.procs
	d.procs = nil
	d.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.done:
			continue
		default:
		}
		p.cmd.Process.Signal(os.Interrupt)
		t := time.NewTimer(30 * time.Second)
		select {
		case <-p.done:
		case <-t.C:
			p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("%s did not stop within 30s: killed", p.name))
		}
		t.Stop()
	}
	return errors.Join(errs...)
}

// runTool runs a command to its end with its output on the demo's, with
// env added to the environment.
func (d *demo) runTool(ctx context.Context, path string, args, env []string) error {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = d.stdout, d.stdout
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	setParentDeath(cmd)
	return cmd.Run()
}

// exportBundle exports the run's evidence bundle and writes it to path.
func exportBundle(ctx context.Context, auditor *client.Client, runID, path string) error {
	exp, err := auditor.Export(ctx, client.ExportRequest{ExportSelection: auditshot.ExportSelection{Runs: []string{runID}}})
	if err != nil {
		return err
	}
	b, err := auditor.ArtifactBytes(ctx, exp.SHA256)
	if err != nil {
		return fmt.Errorf("download bundle %s: %w", exp.SHA256, err)
	}
	return os.WriteFile(path, b, 0o644)
}

// readRunID reads the run id from an agent's result file.
func readRunID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var res struct {
		Run struct {
			ID string `json:"id"`
		} `json:"run"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if res.Run.ID == "" {
		return "", fmt.Errorf("%s names no run", path)
	}
	return res.Run.ID, nil
}

// gitRevision returns the commit of the working tree ("-dirty" if it has
// changes), or "" where git cannot tell.
func gitRevision(ctx context.Context) string {
	rev, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(rev))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		s += "-dirty"
	}
	return s
}

// uiNote says when the auditor UI is not served.
func uiNote(ctx context.Context, apiURL string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/ui", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return " (not reachable)"
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return " (not served by this build)"
	}
	return ""
}
