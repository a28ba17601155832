package httpapi

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// latencyBuckets are the histogram bounds in seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// histogram is a Prometheus histogram.
type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func (h *histogram) observe(v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(latencyBuckets)+1)
	}
	i, _ := slices.BinarySearch(latencyBuckets, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

// metrics holds the API's counters and histograms, written in the
// Prometheus text format.
type metrics struct {
	mu         sync.Mutex
	requests   map[[2]string]uint64 // route, status
	durations  map[string]*histogram
	phases     map[string]*histogram
	appends    histogram
	webhooks   map[string]uint64
	jobsQueued int64
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, durations: map[string]*histogram{},
		phases: map[string]*histogram{}, webhooks: map[string]uint64{}}
}

func (m *metrics) request(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	h := m.durations[route]
	if h == nil {
		h = &histogram{}
		m.durations[route] = h
	}
	h.observe(d.Seconds())
}

func (m *metrics) capture(t auditshot.Timings) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for phase, ms := range map[string]float64{"queue": t.QueueMS, "context": t.ContextMS, "navigation": t.NavigationMS,
		"wait": t.WaitMS, "capture": t.CaptureMS, "total": t.TotalMS} {
		h := m.phases[phase]
		if h == nil {
			h = &histogram{}
			m.phases[phase] = h
		}
		h.observe(ms / 1000)
	}
}

// appendStart times a store call that appends a ledger entry.
func (m *metrics) appendStart() func() {
	start := time.Now()
	return func() {
		m.mu.Lock()
		m.appends.observe(time.Since(start).Seconds())
		m.mu.Unlock()
	}
}

func (m *metrics) webhook(outcome string) {
	m.mu.Lock()
	m.webhooks[outcome]++
	m.mu.Unlock()
}

func (m *metrics) jobQueued(d int64) {
	m.mu.Lock()
	m.jobsQueued += d
	m.mu.Unlock()
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m := s.metrics
	m.mu.Lock()
	var b strings.Builder
	header(&b, "auditshot_http_requests_total", "counter", "HTTP requests by route and status.")
	for _, k := range slices.SortedFunc(maps.Keys(m.requests), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
		fmt.Fprintf(&b, "auditshot_http_requests_total{route=%q,status=%q} %d\n", k[0], k[1], m.requests[k])
	}
	header(&b, "auditshot_http_request_duration_seconds", "histogram", "HTTP request latency by route.")
	for _, route := range slices.Sorted(maps.Keys(m.durations)) {
		writeHistogram(&b, "auditshot_http_request_duration_seconds", fmt.Sprintf("route=%q", route), m.durations[route])
	}
	header(&b, "auditshot_capture_phase_seconds", "histogram", "Capture latency by phase (queue, context, navigation, wait, capture, total).")
	for _, phase := range slices.Sorted(maps.Keys(m.phases)) {
		writeHistogram(&b, "auditshot_capture_phase_seconds", fmt.Sprintf("phase=%q", phase), m.phases[phase])
	}
	header(&b, "auditshot_ledger_append_seconds", "histogram", "Latency of writes that append a ledger entry, until durable.")
	writeHistogram(&b, "auditshot_ledger_append_seconds", "", &m.appends)
	header(&b, "auditshot_webhook_deliveries_total", "counter", "Webhook delivery attempts by outcome.")
	for _, k := range slices.Sorted(maps.Keys(m.webhooks)) {
		fmt.Fprintf(&b, "auditshot_webhook_deliveries_total{outcome=%q} %d\n", k, m.webhooks[k])
	}
	header(&b, "auditshot_jobs_queued", "gauge", "Asynchronous jobs waiting for a worker.")
	fmt.Fprintf(&b, "auditshot_jobs_queued %d\n", m.jobsQueued)
	m.mu.Unlock()
	if s.cfg.Metrics != nil {
		seen := map[string]bool{}
		for _, x := range s.cfg.Metrics() {
			if !seen[x.Name] {
				header(&b, x.Name, x.Type, x.Help)
				seen[x.Name] = true
			}
			fmt.Fprintf(&b, "%s%s %s\n", x.Name, labels(x.Labels), strconv.FormatFloat(x.Value, 'g', -1, 64))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func header(b *strings.Builder, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func labels(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func writeHistogram(b *strings.Builder, name, lbl string, h *histogram) {
	sep := ""
	if lbl != "" {
		sep = ","
	}
	var cum uint64
	for i, le := range latencyBuckets {
		if h.counts != nil {
			cum += h.counts[i]
		}
		fmt.Fprintf(b, "%s_bucket{%s%sle=\"%g\"} %d\n", name, lbl, sep, le, cum)
	}
	fmt.Fprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, lbl, sep, h.n)
	wrap := ""
	if lbl != "" {
		wrap = "{" + lbl + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %g\n%s_count%s %d\n", name, wrap, h.sum, name, wrap, h.n)
}
