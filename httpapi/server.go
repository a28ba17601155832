// Package httpapi is auditshot's REST API over net/http: routes under /v1,
// API-key authentication with scopes, tenant isolation, quotas and rate
// limits, idempotent POSTs, asynchronous jobs with signed webhooks,
// health, metrics and the OpenAPI description; and the auditors' evidence
// console under /ui (ui*.go). It holds the only mapping from error codes
// to HTTP status (errorStatus).
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditshot/auditshot"
)

// Defaults for Config.
const (
	DefaultMaxBodyBytes   = 8 << 20
	DefaultJobWorkers     = 2
	DefaultWebhookRetries = 8
	DefaultWebhookBackoff = 2 * time.Second
	DefaultWebhookTimeout = 10 * time.Second
	DefaultIdempotencyTTL = 24 * time.Hour
	DefaultAsyncExport    = 10_000 // entries; larger range exports run as jobs
	DefaultMaxQueuedJobs  = 1024
	// DefaultUISessionIdle ends an auditor console session after this long
	// without a request; DefaultUISessionMax after this long in any case.
	DefaultUISessionIdle = 30 * time.Minute
	DefaultUISessionMax  = 12 * time.Hour
	// DefaultUISignInsPerMinute is how many failed console sign-ins a
	// client address may make a minute (a bucket of that many, refilled
	// evenly over a minute).
	DefaultUISignInsPerMinute = 10
)

// Ledger is what the API reads of and asks of the tenants' logs.
type Ledger interface {
	auditshot.LedgerService
	// LogSize returns the number of entries in the tenant's log.
	LogSize(ctx context.Context, tenantID string) (int64, error)
	// LogKeys returns the verifier keys the tenant's log declared.
	LogKeys(ctx context.Context, tenantID string) ([]string, error)
}

// Artifacts records which tenant owns which blob.
type Artifacts interface {
	// PutArtifact records that the tenant has the (durable) blob a.
	PutArtifact(ctx context.Context, tenantID string, a auditshot.Artifact) error
	// FindArtifact returns the tenant's artifact. Returns ENOTFOUND if the
	// tenant has no artifact with that SHA-256.
	FindArtifact(ctx context.Context, tenantID, sha256 string) (auditshot.Artifact, error)
}

// ExportFunc writes an evidence bundle of the selection to w and records
// its export.created entry by actor (an API key id).
type ExportFunc func(ctx context.Context, w io.Writer, tenantID, actor string, sel auditshot.ExportSelection) (*auditshot.Export, error)

// Metric is one sample an embedding program adds to /metrics.
type Metric struct {
	Name, Help string
	// Type is "gauge" or "counter".
	Type   string
	Value  float64
	Labels map[string]string
}

// Config is the API's wiring and tuning. The services are required; the
// rest have defaults.
type Config struct {
	Tenants     auditshot.TenantService
	Runs        auditshot.RunService
	Captures    auditshot.CaptureStore
	Ledger      Ledger
	Jobs        auditshot.JobService
	Usage       auditshot.UsageService
	Idempotency auditshot.IdempotencyStore
	Blobs       auditshot.BlobStore
	Artifacts   Artifacts
	Engine      auditshot.CaptureService
	// Sequences, if set, runs browser flows (POST /v1/sequences).
	Sequences auditshot.SequenceService
	Export    ExportFunc
	// Access, if set, records what users of the auditor console (/ui)
	// look at, as evidence.viewed entries, and lists the access log.
	// Without it the console shows no evidence: every view must be logged.
	Access auditshot.AccessLog

	// OperatorTenant is the tenant whose admin keys manage every tenant.
	OperatorTenant string
	// CheckPolicy validates a tenant's egress policy (allowlist syntax).
	CheckPolicy func(auditshot.EgressPolicy) error
	// WebhookClient returns the HTTP client that delivers a tenant's
	// webhooks; it MUST apply the tenant's egress policy to every dial.
	WebhookClient func(auditshot.EgressPolicy) *http.Client
	// WebhookKey derives each tenant's webhook signing secret.
	WebhookKey []byte

	MaxBodyBytes   int64
	JobWorkers     int
	WebhookRetries int
	WebhookBackoff time.Duration
	WebhookTimeout time.Duration
	IdempotencyTTL time.Duration
	AsyncExport    int64
	// MaxQueuedJobs bounds the jobs waiting for a worker; beyond it an
	// async request is answered 429.
	MaxQueuedJobs int
	// UISessionIdle and UISessionMax bound an auditor console session:
	// it ends after UISessionIdle without a request and UISessionMax after
	// sign-in; defaults DefaultUISessionIdle and DefaultUISessionMax.
	UISessionIdle time.Duration
	UISessionMax  time.Duration
	// UISignInsPerMinute bounds failed console sign-ins per client
	// address; default DefaultUISignInsPerMinute.
	UISignInsPerMinute int
	// TrustedProxies are the addresses of reverse proxies in front of the
	// server: a request from one of them is taken to come from the
	// nearest address in its X-Forwarded-For header that is not itself a
	// trusted proxy. Requests from other addresses are taken to come from
	// there, whatever they claim. Client addresses key the sign-in limit
	// and are logged.
	TrustedProxies []netip.Prefix

	// Metrics, if set, adds samples to /metrics (engine and store gauges).
	Metrics func() []Metric
	// Ready, if set, is checked by /readyz.
	Ready   func(ctx context.Context) error
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server serves the API. Create it with New, serve Handler, and call
// Shutdown after the HTTP server has stopped taking requests.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	routes  []route
	metrics *metrics
	limiter *limiter
	idem    *inflight
	tenants *tenantCache
	keys    *keyCache

	// jobs feeds the job workers; webhooks the webhook sender.
	jobs      chan *auditshot.Job
	hashes    chan hashJob
	queued    atomic.Int64 // jobs accepted and not yet taken by a worker
	ctx       context.Context
	cancel    context.CancelFunc
	workers   sync.WaitGroup
	closing   chan struct{}
	closeOnce sync.Once
}

// route is one registered API route with what it needs.
type route struct {
	Method, Pattern string
	// Scopes lists the scopes of which the key needs one; empty for
	// unauthenticated routes.
	Scopes []auditshot.Scope
}

// New returns a server and starts its job workers, resuming the jobs a
// previous run left pending.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	if cfg.Tenants == nil || cfg.Runs == nil || cfg.Captures == nil || cfg.Ledger == nil || cfg.Jobs == nil ||
		cfg.Usage == nil || cfg.Idempotency == nil || cfg.Blobs == nil || cfg.Artifacts == nil || cfg.Engine == nil || cfg.Export == nil {
		return nil, errors.New("httpapi: every service in Config is required")
	}
	// The jobs a previous run left are resumed; the queue holds them and
	// MaxQueuedJobs more.
	pending, err := cfg.Jobs.PendingJobs(ctx)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), metrics: newMetrics(),
		limiter: newLimiter(cfg.Now), idem: newInflight(), tenants: newTenantCache(cfg.Now), keys: newKeyCache(cfg.Now),
		jobs: make(chan *auditshot.Job, cfg.MaxQueuedJobs+len(pending)), closing: make(chan struct{}),
		hashes: make(chan hashJob, 256)}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.registerRoutes()
	s.handler = s.instrument(s.mux)
	s.workers.Add(1)
	go s.hasher()
	if err := s.startWorkers(pending); err != nil {
		s.cancel()
		return nil, err
	}
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.JobWorkers <= 0 {
		cfg.JobWorkers = DefaultJobWorkers
	}
	if cfg.WebhookRetries <= 0 {
		cfg.WebhookRetries = DefaultWebhookRetries
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = DefaultWebhookBackoff
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = DefaultWebhookTimeout
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if cfg.MaxQueuedJobs <= 0 {
		cfg.MaxQueuedJobs = DefaultMaxQueuedJobs
	}
	if cfg.UISessionIdle <= 0 {
		cfg.UISessionIdle = DefaultUISessionIdle
	}
	if cfg.UISessionMax <= 0 {
		cfg.UISessionMax = DefaultUISessionMax
	}
	if cfg.UISignInsPerMinute <= 0 {
		cfg.UISignInsPerMinute = DefaultUISignInsPerMinute
	}
	if cfg.AsyncExport <= 0 {
		cfg.AsyncExport = DefaultAsyncExport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OperatorTenant == "" {
		cfg.OperatorTenant = "default"
	}
	if cfg.CheckPolicy == nil {
		cfg.CheckPolicy = func(auditshot.EgressPolicy) error { return nil }
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = func(auditshot.EgressPolicy) *http.Client { return &http.Client{} }
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	return cfg
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the method and pattern of every route, for the OpenAPI
// completeness test and documentation.
func (s *Server) Routes() [][2]string {
	out := make([][2]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = [2]string{r.Method, r.Pattern}
	}
	return out
}

// Shutdown stops taking jobs, lets running jobs and webhook deliveries
// finish (until ctx is done) and returns. Queued jobs stay queued in the
// store and resume at the next start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
}

// Routes returns the method and pattern of every route the API serves.
func Routes() [][2]string {
	s := &Server{mux: http.NewServeMux()}
	s.registerRoutes()
	return s.Routes()
}
