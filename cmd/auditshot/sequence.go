package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/video"
)

// errFlowFailed is the exit status of a flow whose step failed: the
// evidence is written, and the command exits 1.
var errFlowFailed = errors.New("flow failed")

// runSequence runs a browser flow described by a JSON file (the API's
// POST /v1/sequences body, without run_id) and writes its evidence to a
// directory: result.json (steps, outcome, evidence with secrets
// redacted), one PNG per screenshot step or failure, video.mp4 (or .webm)
// with chapters.json when the flow asks for video, and dom.mhtml.
func runSequence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sequence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ef engineFlags
	ef.register(fs)
	out := fs.String("o", "", "directory for the flow's evidence (required; must not exist yet)")
	scripts := fs.Bool("allow-scripts", false, "allow evaluate steps")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditshot sequence FLOW.json -o DIR [flags]")
		fs.PrintDefaults()
	}
	file, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	switch {
	case file == "":
		return usageError{"sequence: a flow file (JSON) is required"}
	case *out == "":
		return usageError{"sequence: -o DIR is required"}
	}
	if _, err := os.Stat(*out); err == nil {
		return usageError{fmt.Sprintf("sequence: %s exists; give a new directory", *out)}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var opts auditshot.SequenceOptions
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	policy := auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: ef.allow}, AllowScripts: *scripts}
	if _, err := opts.Normalize(policy); err != nil {
		return err
	}
	log := newLogger(stderr, ef.verbose)
	eng, err := chromium.New(chromium.Config{ExecPath: ef.chromium, Egress: egress.New(egress.Config{Logger: log}),
		Concurrency: 1, Prewarm: -1, Logger: log, Video: video.Service{Config: video.Config{Logger: log}}})
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	res, err := eng.Sequence(ctx, opts, policy)
	if err != nil {
		return err
	}
	if err := writeFlow(*out, res); err != nil {
		return err
	}
	for _, st := range res.Steps {
		fmt.Fprintf(stdout, "%2d %-8s %6.0f ms  %s%s\n", st.Index+1, st.Status, st.DurationMS, st.Label, suffix(st.Error))
	}
	fmt.Fprintf(stdout, "%s: %s, evidence in %s\n", file, res.Status, *out)
	if res.Status != auditshot.SequenceSucceeded {
		return errFlowFailed
	}
	return nil
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// writeFlow writes the flow's evidence to a temporary directory beside
// dir and renames it into place, so a failure leaves no half-written dir.
func writeFlow(dir string, res *auditshot.SequenceResult) (err error) {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	write := func(name string, data []byte) error { return writeFileAtomic(filepath.Join(tmp, name), data) }
	for _, st := range res.Steps {
		if st.Screenshot == nil || len(st.Screenshot.Data) == 0 {
			continue
		}
		name := st.Screenshot.Name
		if name == "" {
			name = "failure"
		}
		ext := ".png"
		if st.Screenshot.MediaType == "application/pdf" {
			ext = ".pdf"
		}
		if err := write(fmt.Sprintf("%02d-%s%s", st.Index+1, name, ext), st.Screenshot.Data); err != nil {
			return err
		}
	}
	if len(res.Video) > 0 {
		ext := ".mp4"
		if res.VideoMediaType == "video/webm" {
			ext = ".webm"
		}
		if err := write("video"+ext, res.Video); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(map[string]any{"chapters": res.Chapters}, "", "  ")
		if err := write("chapters.json", append(b, '\n')); err != nil {
			return err
		}
	}
	if len(res.DOM) > 0 {
		if err := write("dom.mhtml", res.DOM); err != nil {
			return err
		}
	}
	steps := make([]auditshot.StepResult, len(res.Steps))
	for i, st := range res.Steps {
		steps[i] = st
		steps[i].Screenshot = nil
	}
	b, err := json.MarshalIndent(map[string]any{"status": res.Status, "steps": steps, "options": res.Options,
		"evidence": res.Evidence, "chapters": res.Chapters}, "", "  ")
	if err != nil {
		return err
	}
	if err := write("result.json", append(b, '\n')); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
