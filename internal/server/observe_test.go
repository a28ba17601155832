package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/internal/server"
)

// syncBuffer is a log destination the server writes to from many
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMetricsHealthAndLogs: /metrics has the capture phases, queue depth,
// ledger size and append latency and HTTP counts by route and status;
// /healthz and /readyz answer; every request is a JSON log line with the
// request id the caller got.
func TestMetricsHealthAndLogs(t *testing.T) {
	var logs syncBuffer
	s := startServer(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	key := s.key(t, "default", auditshot.ScopeCapture)
	shot := s.must(t, http.StatusCreated, "POST", "/v1/screenshot", key, map[string]any{"html": "<p>metrics</p>", "width": 200, "height": 100},
		"X-Request-Id", "trace-abc-123")
	if shot.Header.Get("X-Request-Id") != "trace-abc-123" {
		t.Errorf("X-Request-Id %q, want the caller's", shot.Header.Get("X-Request-Id"))
	}
	bad := s.call(t, "POST", "/v1/screenshot", key, `{"nope":1}`)
	if bad.Status != http.StatusBadRequest {
		t.Fatalf("bad request: %d", bad.Status)
	}
	s.must(t, http.StatusOK, "GET", "/healthz", "", nil)
	s.must(t, http.StatusOK, "GET", "/readyz", "", nil)
	m := string(s.must(t, http.StatusOK, "GET", "/metrics", "", nil).Body)
	for _, want := range []string{
		`auditshot_http_requests_total{route="POST /v1/screenshot",status="201"} 1`,
		`auditshot_http_requests_total{route="POST /v1/screenshot",status="400"} 1`,
		`auditshot_capture_phase_seconds_count{phase="navigation"} 1`,
		`auditshot_capture_phase_seconds_bucket{phase="total",le="+Inf"} 1`,
		`auditshot_ledger_append_seconds_count 1`,
		"auditshot_capture_queue_depth 0",
		"# TYPE auditshot_ledger_size gauge",
		`auditshot_http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The log: one JSON object per line; the capture's line carries the
	// request id, the route, the status and the tenant.
	found := false
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["request_id"] == "trace-abc-123" {
			found = line["route"] == "POST /v1/screenshot" && line["status"] == float64(201) && line["tenant"] == "default"
		}
	}
	if !found {
		t.Errorf("no log line for request trace-abc-123 with its route, status and tenant:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), key) {
		t.Error("the log holds an API key")
	}
}

// TestTextIndexer: the server indexes new runs' and events' text in the
// background, with no search asking for it, and /metrics says how much is
// pending.
func TestTextIndexer(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.TextIndexInterval = 20 * time.Millisecond })
	r := &auditshot.Run{TenantID: "default", Workflow: "index_me", Agent: auditshot.Agent{ID: "agent-ix"}, Subject: "customer-ix"}
	if err := s.DB.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.DB.AddEvent(t.Context(), &auditshot.Event{TenantID: "default", RunID: r.ID, Type: auditshot.EventAction, Name: "approve_refund",
		Data: []byte(`{"order":"ORD-77"}`)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		runs, events, err := s.DB.RunTextPending(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if runs == 0 && events == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, %d runs and %d events are still not indexed", runs, events)
		}
		<-poll.C
	}
	m := string(s.must(t, http.StatusOK, "GET", "/metrics", "", nil).Body)
	if !strings.Contains(m, "auditshot_text_index_pending 0") {
		t.Errorf("/metrics lacks auditshot_text_index_pending 0")
	}
}
