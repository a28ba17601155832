// Package server wires auditshot's service together: the embedded store
// (SQLite and local blobs), the capture engine and the REST API, with the
// operator tenant, the bootstrap admin key, the checkpointer and graceful
// shutdown. `auditshot serve` runs it; end-to-end tests start it on
// 127.0.0.1:0.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/chromium"
	"github.com/auditshot/auditshot/egress"
	"github.com/auditshot/auditshot/file"
	"github.com/auditshot/auditshot/httpapi"
	"github.com/auditshot/auditshot/rfc3161"
	"github.com/auditshot/auditshot/sqlite"
)

// OperatorTenant is the tenant created on first start; its admin keys
// manage every tenant.
const OperatorTenant = "default"

// Defaults for Config.
const (
	DefaultAddr               = "127.0.0.1:8080"
	DefaultCheckpointInterval = 10 * time.Second
	DefaultShutdownTimeout    = 60 * time.Second
	DefaultAnchorInterval     = time.Hour
	DefaultTextIndexInterval  = 5 * time.Second
)

// Config is the service's parts and settings. DB, Blobs and Engine are
// required and stay the caller's to close, after Shutdown.
type Config struct {
	DB     *sqlite.DB
	Blobs  *file.Store
	Engine *chromium.Engine
	// Listener, if set, is served instead of listening on Addr.
	Listener net.Listener
	Addr     string
	// Allow is the operator tenant's egress allowlist, set at every start.
	Allow []string
	// WebhookKey derives the tenants' webhook secrets.
	WebhookKey []byte

	JobWorkers    int
	MaxQueuedJobs int
	// TSA, if set, is the URL of an RFC 3161 time-stamping authority: every
	// AnchorInterval each tenant's latest checkpoint is time-stamped there
	// (an anchor entry), when its log grew since the last anchor.
	TSA            string
	AnchorInterval time.Duration
	// TLSCert and TLSKey, if set, are the PEM files the server serves
	// HTTPS with.
	TLSCert, TLSKey string
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed
	// (httpapi.Config.TrustedProxies).
	TrustedProxies     []netip.Prefix
	WebhookRetries     int
	WebhookBackoff     time.Duration
	CheckpointInterval time.Duration
	// TextIndexInterval is how often the text that run searches look
	// through is indexed in the background (and once at start).
	TextIndexInterval time.Duration
	ShutdownTimeout   time.Duration
	MaxBodyBytes      int64
	Version           string
	Logger            *slog.Logger
}

// Server is the running service.
type Server struct {
	// URL is where it serves ("http://127.0.0.1:PORT").
	URL string
	// BootstrapKey is the admin key made on first start ("" later).
	BootstrapKey string
	API          *httpapi.Server

	cfg      Config
	http     *http.Server
	stopBG   context.CancelFunc
	bg       sync.WaitGroup
	serveErr chan error
	once     sync.Once
}

// Start sets up the operator tenant, starts the API and serves it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Blobs == nil || cfg.Engine == nil {
		return nil, errors.New("server: DB, Blobs and Engine are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.TextIndexInterval <= 0 {
		cfg.TextIndexInterval = DefaultTextIndexInterval
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.AnchorInterval <= 0 {
		cfg.AnchorInterval = DefaultAnchorInterval
	}
	var tsa *url.URL
	if cfg.TSA != "" {
		u, err := url.Parse(cfg.TSA)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("server: TSA %q is not an http(s) URL", cfg.TSA)
		}
		tsa = u
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("server: give both a TLS certificate and key, or neither")
	}
	if len(cfg.WebhookKey) == 0 {
		return nil, errors.New("server: WebhookKey is required")
	}
	log := cfg.Logger
	bootstrap, err := SetupOperator(ctx, cfg.DB, cfg.Allow)
	if err != nil {
		return nil, err
	}
	db := cfg.DB
	api, err := httpapi.New(ctx, httpapi.Config{
		Tenants: db, Runs: db, Captures: db, Ledger: db, Jobs: db, Usage: db, Idempotency: db,
		Blobs: cfg.Blobs, Artifacts: db, Engine: cfg.Engine, Sequences: cfg.Engine, Access: db,
		Export: func(ctx context.Context, w io.Writer, tenantID, actor string, sel auditshot.ExportSelection) (*auditshot.Export, error) {
			return db.ExportWith(ctx, w, tenantID, actor, sel, cfg.Blobs, sqlite.ExportOptions{
				Generator: "auditshot " + cmp.Or(cfg.Version, "dev"), PrintPDF: ReportPrinter(cfg.Engine)})
		},
		OperatorTenant: OperatorTenant,
		CheckPolicy: func(p auditshot.EgressPolicy) error {
			_, err := egress.NewPolicy(p)
			return err
		},
		WebhookClient:  WebhookClient,
		WebhookKey:     cfg.WebhookKey,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		JobWorkers:     cfg.JobWorkers,
		MaxQueuedJobs:  cfg.MaxQueuedJobs,
		WebhookRetries: cfg.WebhookRetries,
		WebhookBackoff: cfg.WebhookBackoff,
		Metrics:        metricsOf(db, cfg.Engine),
		Ready: func(ctx context.Context) error {
			_, err := db.LogSize(ctx, OperatorTenant)
			return err
		},
		TrustedProxies: cfg.TrustedProxies,
		Version:        cfg.Version,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			api.Shutdown(context.Background())
			return nil, err
		}
	}
	scheme := "http://"
	if cfg.TLSCert != "" {
		scheme = "https://"
	}
	s := &Server{URL: scheme + ln.Addr().String(), BootstrapKey: bootstrap, API: api, cfg: cfg, serveErr: make(chan error, 1),
		http: &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBG = stop
	s.bg.Add(3)
	go func() {
		defer s.bg.Done()
		if err := db.RunCheckpointer(bg, cfg.CheckpointInterval); err != nil && bg.Err() == nil {
			log.Error("checkpointer stopped", "err", err)
		}
	}()
	go func() {
		// Searches index what is pending themselves; indexing in the
		// background (and at once, after an upgrade) keeps them from
		// waiting for it.
		defer s.bg.Done()
		if err := db.RunTextIndexer(bg, cfg.TextIndexInterval); err != nil && bg.Err() == nil {
			log.Error("text indexer stopped", "err", err)
		}
	}()
	go func() {
		defer s.bg.Done()
		purgeIdempotencyKeys(bg, db, log)
	}()
	if tsa != nil {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			anchorLogs(bg, db, tsa, cfg.AnchorInterval, log)
		}()
	}
	go func() {
		if cfg.TLSCert != "" {
			s.serveErr <- s.http.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
			return
		}
		s.serveErr <- s.http.Serve(ln)
	}()
	log.Info("serving", "url", s.URL, "version", cfg.Version)
	return s, nil
}

// Wait returns when the HTTP server fails or ctx is done.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case err := <-s.serveErr:
		return err
	case <-ctx.Done():
		return nil
	}
}

// Shutdown stops taking connections, waits (up to the shutdown timeout)
// for requests in flight, captures included, and for running jobs, then
// stops the background work. Every answered write is durable before its
// answer, so nothing acknowledged is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.cfg.Logger.Info("shutting down: finishing requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		err = errors.Join(s.http.Shutdown(sctx), s.API.Shutdown(sctx))
		s.stopBG()
		s.bg.Wait()
		s.cfg.Logger.Info("stopped")
	})
	return err
}

// SetupOperator creates the operator tenant on first start, keeps its
// egress allowlist equal to allow, and makes the bootstrap admin key when
// the tenant has no key. It returns that key ("" when there was one).
func SetupOperator(ctx context.Context, db *sqlite.DB, allow []string) (string, error) {
	t, err := db.FindTenant(ctx, OperatorTenant)
	if auditshot.ErrorCode(err) == auditshot.ENOTFOUND {
		t = &auditshot.Tenant{ID: OperatorTenant, Name: "Default", Plan: auditshot.Plans["unlimited"]}
		err = db.CreateTenant(ctx, t)
	}
	if err != nil {
		return "", err
	}
	if !slices.Equal(t.Egress.Allow, allow) && len(t.Egress.Allow)+len(allow) > 0 {
		p := auditshot.EgressPolicy{Allow: append([]string{}, allow...)}
		if _, err := egress.NewPolicy(p); err != nil {
			return "", err
		}
		if _, err := db.UpdateTenant(ctx, OperatorTenant, "", auditshot.TenantUpdate{Egress: &p}); err != nil {
			return "", err
		}
	}
	keys, err := db.ListAPIKeys(ctx, OperatorTenant)
	if err != nil || len(keys) > 0 {
		return "", err
	}
	_, secret, err := db.CreateAPIKey(ctx, OperatorTenant, "bootstrap admin", []auditshot.Scope{auditshot.ScopeAdmin})
	return secret, err
}

// WebhookClient sends a tenant's webhooks: every dial is checked against
// the tenant's egress policy, and redirects are not followed.
func WebhookClient(p auditshot.EgressPolicy) *http.Client {
	policy, err := egress.NewPolicy(p)
	if err != nil {
		policy, _ = egress.NewPolicy(auditshot.EgressPolicy{})
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: policy.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2,
			TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 10 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// metricsOf adds the engine's and the store's numbers to /metrics.
func metricsOf(db *sqlite.DB, eng *chromium.Engine) func() []httpapi.Metric {
	return func() []httpapi.Metric {
		e, d := eng.Stats(), db.Stats()
		size, _ := db.LogSize(context.Background(), OperatorTenant)
		pendingRuns, pendingEvents, _ := db.RunTextPending(context.Background())
		return []httpapi.Metric{
			{Name: "auditshot_capture_queue_depth", Type: "gauge", Help: "Captures waiting for the browser.", Value: float64(e.Queued)},
			{Name: "auditshot_captures_total", Type: "counter", Help: "Captures the engine took.", Value: float64(e.Captures)},
			{Name: "auditshot_browser_restarts_total", Type: "counter", Help: "Browsers restarted after a crash.", Value: float64(e.Restarts)},
			{Name: "auditshot_ledger_entries_appended_total", Type: "counter", Help: "Ledger entries appended since start.", Value: float64(d.Entries)},
			{Name: "auditshot_ledger_batches_total", Type: "counter", Help: "Group-commit transactions since start.", Value: float64(d.Batches)},
			{Name: "auditshot_ledger_size", Type: "gauge", Help: "Entries in the operator tenant's log.", Value: float64(size)},
			{Name: "auditshot_text_index_pending", Type: "gauge", Help: "Runs and events not yet in the search index.", Value: float64(pendingRuns + pendingEvents)},
		}
	}
}

// purgeIdempotencyKeys forgets stored idempotent answers after a day.
func purgeIdempotencyKeys(ctx context.Context, db *sqlite.DB, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := db.PurgeIdempotencyKeys(ctx, time.Now().Add(-httpapi.DefaultIdempotencyTTL)); err != nil && ctx.Err() == nil {
			log.Error("purge idempotency keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// anchorLogs time-stamps every tenant's latest checkpoint at the TSA every
// interval, skipping logs that did not grow since their last anchor.
func anchorLogs(ctx context.Context, db *sqlite.DB, tsa *url.URL, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tenants, err := db.ListTenants(ctx)
		if err != nil {
			log.Error("anchor: list tenants", "err", err)
			continue
		}
		for _, tn := range tenants {
			if err := anchorLog(ctx, db, tsa, tn.ID); err != nil && ctx.Err() == nil {
				log.Error("anchor", "tenant", tn.ID, "tsa", tsa.Host, "err", err)
			}
		}
	}
}

// anchorLog anchors one tenant's log unless its last entry is its last
// anchor (or it is empty).
func anchorLog(ctx context.Context, db *sqlite.DB, tsa *url.URL, tenantID string) error {
	size, err := db.LogSize(ctx, tenantID)
	if err != nil || size == 0 {
		return err
	}
	anchors, err := db.Anchors(ctx, tenantID)
	if err != nil {
		return err
	}
	if n := len(anchors); n > 0 && anchors[n-1].Ledger.Index == size-1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = db.Anchor(ctx, tenantID, &rfc3161.Client{URL: tsa.String()}, tsa.Host)
	return err
}
