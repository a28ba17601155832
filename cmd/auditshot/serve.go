package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/httpapi"
	"github.com/auditshot/auditshot/internal/server"
	"github.com/auditshot/auditshot/video"
)

// serveConfig is everything `auditshot serve` is told.
type serveConfig struct {
	addr               string
	data               dataFlags
	engine             engineFlags
	concurrency        int
	queue              int
	jobWorkers         int
	maxQueuedJobs      int
	checkpointInterval time.Duration
	shutdownTimeout    time.Duration
	maxBody            int64
	logLevel           string
	logFormat          string
	webhookRetries     int
	webhookBackoff     time.Duration
	tsa                string
	anchorInterval     time.Duration
	tlsCert, tlsKey    string
	trustedProxies     multi
	configFile         string
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configFile, "config", "", "file of 'name = value' lines setting these flags; flags and AUDITSHOT_* variables win (env AUDITSHOT_CONFIG)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (env AUDITSHOT_ADDR)")
	c.data.register(fs)
	c.engine.register(fs)
	fs.IntVar(&c.concurrency, "concurrency", 0, "captures at once (default: number of CPUs)")
	fs.IntVar(&c.queue, "queue", 0, "captures waiting before the API answers 429 (default: 4 x concurrency)")
	fs.IntVar(&c.jobWorkers, "job-workers", httpapi.DefaultJobWorkers, "asynchronous jobs at once")
	fs.IntVar(&c.maxQueuedJobs, "max-queued-jobs", httpapi.DefaultMaxQueuedJobs, "asynchronous jobs waiting before the API answers 429")
	fs.DurationVar(&c.checkpointInterval, "checkpoint-interval", 10*time.Second, "how often each log's checkpoint is signed when it grew")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 60*time.Second, "how long a graceful shutdown waits for requests in flight")
	fs.Int64Var(&c.maxBody, "max-body", httpapi.DefaultMaxBodyBytes, "largest request body in bytes")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")
	fs.IntVar(&c.webhookRetries, "webhook-retries", httpapi.DefaultWebhookRetries, "webhook delivery attempts before giving up")
	fs.DurationVar(&c.webhookBackoff, "webhook-backoff", httpapi.DefaultWebhookBackoff, "delay before the first webhook retry; doubles each time")
	fs.StringVar(&c.tsa, "tsa", "", "URL of an RFC 3161 time-stamping authority: anchor every log's checkpoint there on a schedule")
	fs.DurationVar(&c.anchorInterval, "anchor-interval", server.DefaultAnchorInterval, "how often logs that grew are anchored at --tsa")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with, with --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.Var(&c.trustedProxies, "trusted-proxy", "CIDR or address of a reverse proxy in front of the server, whose X-Forwarded-For is believed (repeatable; env AUDITSHOT_TRUSTED_PROXY, comma-separated)")
}

func (c *serveConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("serve: --log-level %q: want debug, info, warn or error", c.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("serve: --log-format %q: want json or text", c.logFormat)}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serveConfig
	cfg.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditshot serve [flags]   (every flag also as AUDITSHOT_<FLAG>)")
		fs.PrintDefaults()
	}
	if _, err := parseWithArg(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"serve: takes no arguments"}
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if cfg.configFile != "" {
		if err := applyConfigFile(fs, cfg.configFile); err != nil {
			return err
		}
	}
	log, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, stdout)
}

// serve runs the service until ctx is done, then shuts down gracefully:
// requests in flight (captures included) finish, jobs in flight finish or
// go back to the queue, and the store closes after its last write.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, stdout io.Writer) error {
	proxies, err := parsePrefixes(cfg.trustedProxies, "--trusted-proxy")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.data.dir, 0o700); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.data.dir, cfg.data.name, log)
	if err != nil {
		return err
	}
	defer st.Close()
	webhookKey, err := loadOrCreateSecret(filepath.Join(cfg.data.dir, "webhook.key"))
	if err != nil {
		return err
	}
	eng, err := chromium.New(chromium.Config{ExecPath: cfg.engine.chromium, Egress: egress.New(egress.Config{Logger: log}),
		Concurrency: cfg.concurrency, QueueSize: cfg.queue, Logger: log, Video: video.Service{Config: video.Config{Logger: log}}})
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	srv, err := server.Start(ctx, server.Config{DB: st.db, Blobs: st.blobs, Engine: eng, Addr: cfg.addr,
		Allow: cfg.engine.allow, WebhookKey: webhookKey, JobWorkers: cfg.jobWorkers, MaxQueuedJobs: cfg.maxQueuedJobs, WebhookRetries: cfg.webhookRetries,
		WebhookBackoff: cfg.webhookBackoff, CheckpointInterval: cfg.checkpointInterval, ShutdownTimeout: cfg.shutdownTimeout,
		MaxBodyBytes: cfg.maxBody, TSA: cfg.tsa, AnchorInterval: cfg.anchorInterval, TLSCert: cfg.tlsCert, TLSKey: cfg.tlsKey,
		TrustedProxies: proxies, Version: Version, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "auditshot %s listening on %s (data %s)\n", Version, srv.URL, cfg.data.dir)
	if srv.BootstrapKey != "" {
		fmt.Fprintf(stdout, "bootstrap admin key (shown once, store it now): %s\n", srv.BootstrapKey)
	} else {
		fmt.Fprintf(stdout, "the bootstrap admin key was shown at first start; a new one: auditshot keys create --data %s --name admin --scopes admin\n", cfg.data.dir)
	}
	fmt.Fprintf(stdout, "try: curl -H 'Authorization: Bearer <key>' -d '{\"url\":\"https://example.com\"}' %s/v1/screenshot\n", srv.URL)
	err = srv.Wait(ctx)
	if serr := srv.Shutdown(ctx); serr != nil {
		log.Error("shutdown", "err", serr)
	}
	return err
}

// loadOrCreateSecret reads a 32-byte random secret from path, making it
// (mode 0600) on first use.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("%s: want 64 hex digits", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := writeFileAtomic(path, []byte(hex.EncodeToString(key)+"\n")); err != nil {
		return nil, err
	}
	return key, os.Chmod(path, 0o600)
}

// parsePrefixes reads CIDRs and single addresses ("10.0.0.0/8",
// "127.0.0.1") given to flag.
func parsePrefixes(entries []string, flag string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, usageError{fmt.Sprintf("%s %q: want a CIDR or an IP address", flag, e)}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
