package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
)

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// engineFlags are the flags every command that captures shares.
type engineFlags struct {
	chromium string
	allow    multi
	verbose  bool
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.chromium, "chromium", "", "browser binary (default: detected; env AUDITSHOT_CHROMIUM)")
	fs.Var(&f.allow, "allow", "CIDR or host the page may reach although the egress policy refuses it by default (repeatable; env AUDITSHOT_ALLOW, comma-separated)")
	fs.BoolVar(&f.verbose, "v", false, "verbose logs")
}

// newEngine starts an egress proxy and a capture engine.
func (f *engineFlags) newEngine(ctx context.Context, stderr io.Writer, concurrency int) (*chromium.Engine, error) {
	log := newLogger(stderr, f.verbose)
	eng, err := chromium.New(chromium.Config{
		ExecPath:    f.chromium,
		Egress:      egress.New(egress.Config{Logger: log}),
		Concurrency: concurrency,
		Prewarm:     -1,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return eng, nil
}

// applyEnv sets every flag not given on the command line from its
// AUDITSHOT_* environment variable.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "AUDITSHOT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if given[f.Name] || !ok || err != nil {
			return
		}
		for _, part := range splitList(f, v) {
			if e := fs.Set(f.Name, part); e != nil {
				err = usageError{fmt.Sprintf("%s: %v", name, e)}
			}
		}
	})
	return err
}

func splitList(f *flag.Flag, v string) []string {
	if _, ok := f.Value.(*multi); ok {
		return strings.Split(v, ",")
	}
	return []string{v}
}

func runCapture(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("capture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ef engineFlags
	ef.register(fs)
	var (
		o        auditshot.CaptureOptions
		out      = fs.String("o", "", "output file (required; - for standard output)")
		evidence = fs.String("evidence", "", "directory for the evidence files: evidence.json, network.json, console.json, dom.mhtml")
		optsFile = fs.String("options", "", "JSON file with capture options (API field names); flags override it")
		htmlFile = fs.String("html", "", "capture this HTML file instead of a URL")
		clip     = fs.String("clip", "", "capture the rectangle x,y,width,height")
		timeout  = fs.Duration("timeout", 0, "page timeout (default 30s)")
		delay    = fs.Duration("delay", 0, "wait this long after the page is ready")
		scripts  = fs.Bool("allow-scripts", false, "allow --js")
		masks    multi
		hides    multi
		headers  multi
		rec      recordFlags
	)
	fs.StringVar(&rec.tenant, "tenant", "", "record the capture in this tenant's ledger in the data directory (env AUDITSHOT_TENANT)")
	rec.data.register(fs)
	fs.StringVar(&rec.run, "run", "", "attach the recorded capture to this run, with --tenant")
	fs.StringVar(&rec.role, "role", "", "the capture's role in the run (before, after, step), with --run")
	fs.StringVar(&rec.label, "label", "", "the capture's name (e.g. refund_start), with --tenant")
	fs.BoolVar(&o.FullPage, "full-page", false, "capture the whole page")
	fs.IntVar(&o.MaxHeight, "max-height", 0, "cut full-page captures at this height in CSS pixels")
	fs.StringVar(&o.Selector, "selector", "", "capture only the element matching this CSS selector")
	fs.Var(&masks, "mask", "draw an opaque box over elements matching this selector (repeatable)")
	fs.Var(&hides, "hide", "hide elements matching this selector (repeatable)")
	fs.StringVar(&o.Format, "format", "", "png, jpeg, webp or pdf (default: from the -o extension, else png)")
	fs.IntVar(&o.Quality, "quality", 0, "jpeg/webp quality 1-100")
	fs.IntVar(&o.Width, "width", 0, "viewport width")
	fs.IntVar(&o.Height, "height", 0, "viewport height")
	fs.StringVar(&o.Device, "device", "", "device preset: "+strings.Join(auditshot.DeviceNames(), ", "))
	fs.Float64Var(&o.DeviceScaleFactor, "scale", 0, "device scale factor 1-3")
	fs.BoolVar(&o.DarkMode, "dark", false, "prefer a dark colour scheme")
	fs.BoolVar(&o.ReducedMotion, "reduced-motion", false, "prefer reduced motion")
	fs.StringVar(&o.WaitUntil, "wait-until", "", "load, domcontentloaded or networkidle")
	fs.StringVar(&o.WaitFor, "wait-for", "", "wait until this selector matches")
	fs.BoolVar(&o.Strict, "strict", false, "fail instead of capturing a best attempt on timeout")
	fs.StringVar(&o.CSS, "css", "", "CSS to inject")
	fs.StringVar(&o.JS, "js", "", "JavaScript to run before capturing (needs --allow-scripts)")
	fs.StringVar(&o.Timezone, "timezone", "", "IANA time zone")
	fs.StringVar(&o.Locale, "locale", "", "locale, e.g. de-DE")
	fs.StringVar(&o.UserAgent, "user-agent", "", "user agent")
	fs.Var(&headers, "header", "extra header 'Name: value' for the requested origin (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditshot capture URL -o FILE [flags]")
		fs.PrintDefaults()
	}
	url, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if *optsFile != "" {
		base, err := readOptions(*optsFile)
		if err != nil {
			return err
		}
		o = mergeOptions(base, o)
	}
	switch {
	case *out == "":
		return usageError{"capture: -o FILE is required"}
	case url == "" && *htmlFile == "" && o.URL == "" && o.HTML == "":
		return usageError{"capture: a URL (or --html FILE) is required"}
	}
	if url != "" {
		o.URL = url
	}
	if *htmlFile != "" {
		b, err := os.ReadFile(*htmlFile)
		if err != nil {
			return err
		}
		o.HTML = string(b)
	}
	if o.Format == "" {
		o.Format = formatFromExt(*out)
	}
	o.MaskSelectors = append(o.MaskSelectors, masks...)
	o.HideSelectors = append(o.HideSelectors, hides...)
	if *timeout > 0 {
		o.Timeout = int(*timeout / time.Millisecond)
	}
	if *delay > 0 {
		o.Delay = int(*delay / time.Millisecond)
	}
	if *clip != "" {
		r, err := parseClip(*clip)
		if err != nil {
			return usageError{"capture: --clip: " + err.Error()}
		}
		o.Clip = r
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return usageError{fmt.Sprintf("capture: --header %q: want 'Name: value'", h)}
		}
		if o.Headers == nil {
			o.Headers = map[string]string{}
		}
		o.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	policy := auditshot.CapturePolicy{Egress: auditshot.EgressPolicy{Allow: ef.allow}, AllowScripts: *scripts}
	if _, err := o.Normalize(policy); err != nil {
		return err
	}
	eng, err := ef.newEngine(ctx, stderr, 1)
	if err != nil {
		return err
	}
	defer eng.Close()
	res, err := eng.Capture(ctx, o, policy)
	if err != nil {
		return err
	}
	// The evidence is written to a temporary folder first, so a failure
	// leaves neither a half-written folder nor an image without evidence.
	commit, abort := func() error { return nil }, func() {}
	if *evidence != "" {
		if commit, abort, err = stageEvidence(*evidence, res); err != nil {
			return err
		}
	}
	if err := writeOutput(*out, res.Data, stdout); err != nil {
		abort()
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	if rec.tenant != "" {
		c, err := rec.record(ctx, res, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "recorded capture %s as ledger entry %d of %s (leaf %s)\n", c.ID, c.Ledger.Index, rec.tenant, c.Ledger.LeafHash)
	}
	if *out != "-" {
		fmt.Fprintf(stdout, "%s: %s %dx%d, %s %d %q in %.0f ms\n", *out, res.MediaType, res.Evidence.Width, res.Evidence.Height,
			res.Evidence.FinalURL, res.Evidence.Status, res.Evidence.Title, res.Evidence.Timings.TotalMS)
		if res.Evidence.Wait.BestAttempt {
			fmt.Fprintf(stdout, "warning: best attempt: %s timed out\n", res.Evidence.Wait.TimedOut)
		}
	}
	return nil
}

func readOptions(path string) (auditshot.CaptureOptions, error) {
	var o auditshot.CaptureOptions
	b, err := os.ReadFile(path)
	if err != nil {
		return o, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, usageError{fmt.Sprintf("--options %s: %v", path, err)}
	}
	return o, nil
}

// mergeOptions returns base with every field set in flags overriding it.
func mergeOptions(base, flags auditshot.CaptureOptions) auditshot.CaptureOptions {
	fb, _ := json.Marshal(flags)
	_ = json.Unmarshal(fb, &base)
	return base
}

func formatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jpg", ".jpeg":
		return auditshot.FormatJPEG
	case ".webp":
		return auditshot.FormatWebP
	case ".pdf":
		return auditshot.FormatPDF
	}
	return auditshot.FormatPNG
}

func parseClip(s string) (*auditshot.Rect, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, fmt.Errorf("want x,y,width,height")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		v[i] = f
	}
	return &auditshot.Rect{X: v[0], Y: v[1], Width: v[2], Height: v[3]}, nil
}

func writeOutput(path string, data []byte, stdout io.Writer) error {
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return writeFileAtomic(path, data)
}

// writeEvidence writes the evidence files into dir.
func writeEvidence(dir string, res *auditshot.CaptureResult) error {
	commit, _, err := stageEvidence(dir, res)
	if err != nil {
		return err
	}
	return commit()
}

// stageEvidence writes the evidence files into a temporary folder beside
// dir and returns the functions that move them into dir or drop them.
// Until then dir is untouched; the temporary folder is removed on failure.
func stageEvidence(dir string, res *auditshot.CaptureResult) (commit func() error, abort func(), err error) {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp*")
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	files := map[string]any{
		"evidence.json": res.Evidence,
		"network.json":  res.Evidence.Network,
		"console.json":  res.Evidence.Console,
	}
	for name, v := range files {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		if err := writeFileAtomic(filepath.Join(tmp, name), append(b, '\n')); err != nil {
			return nil, nil, err
		}
	}
	if err := writeFileAtomic(filepath.Join(tmp, "dom.mhtml"), res.DOM); err != nil {
		return nil, nil, err
	}
	abort = func() { os.RemoveAll(tmp) }
	return func() error {
		defer os.RemoveAll(tmp)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, name := range []string{"evidence.json", "network.json", "console.json", "dom.mhtml"} {
			if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		return nil
	}, abort, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it, so a failed write leaves no half-written evidence.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
