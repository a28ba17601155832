package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/httpapi"
	"github.com/auditshot/auditshot/internal/server"
)

// delivery is one webhook request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint on 127.0.0.1 that fails its first
// failures requests with 500.
func receiver(t *testing.T, failures int) (url string, got chan delivery) {
	t.Helper()
	got = make(chan delivery, 16)
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		n++
		fail := n <= failures
		mu.Unlock()
		got <- delivery{r.Header.Clone(), b}
		if fail {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hooks/auditshot", got
}

func waitDelivery(t *testing.T, got chan delivery) delivery {
	t.Helper()
	select {
	case d := <-got:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery within 30s")
	}
	return delivery{}
}

// TestWebhook_SignedAndRetried takes an async capture whose webhook fails
// twice: it is retried with backoff, every attempt is signed with the
// tenant's secret over the timestamp and body, and the job records the
// delivery.
func TestWebhook_SignedAndRetried(t *testing.T) {
	s := startServer(t)
	_, secret := s.tenant(t, "hooked", "unlimited", "127.0.0.1")
	key := s.key(t, "hooked", auditshot.ScopeCapture)
	url, got := receiver(t, 2)
	var job auditshot.Job
	r := s.must(t, http.StatusAccepted, "POST", "/v1/screenshot", key,
		map[string]any{"html": "<p>async</p>", "width": 200, "height": 100, "async": true, "webhook_url": url})
	r.json(t, &job)
	if job.Status != auditshot.JobQueued || r.Header.Get("Location") != "/v1/jobs/"+job.ID {
		t.Fatalf("accepted job %s, Location %q", r.Body, r.Header.Get("Location"))
	}
	var deliveries []delivery
	for range 3 {
		d := waitDelivery(t, got)
		deliveries = append(deliveries, d)
		if err := httpapi.VerifyWebhook(secret, d.header.Get(httpapi.SignatureHeader), d.body, 5*time.Minute, time.Now()); err != nil {
			t.Errorf("delivery %d: %v", len(deliveries), err)
		}
		if d.header.Get(httpapi.EventHeader) != "job.succeeded" || !strings.Contains(string(d.body), job.ID) {
			t.Errorf("delivery %d: event %q body %s", len(deliveries), d.header.Get(httpapi.EventHeader), d.body)
		}
	}
	if ids := deliveries[0].header.Get(httpapi.DeliveryHeader) + deliveries[2].header.Get(httpapi.DeliveryHeader); ids != job.ID+".1"+job.ID+".3" {
		t.Errorf("delivery ids %q", ids)
	}
	// A tampered body or another tenant's secret does not verify.
	d := deliveries[2]
	if err := httpapi.VerifyWebhook(secret, d.header.Get(httpapi.SignatureHeader), append(d.body, ' '), time.Minute, time.Now()); err == nil {
		t.Error("a tampered body verified")
	}
	if err := httpapi.VerifyWebhook(httpapi.WebhookSecret([]byte("other"), "hooked"), d.header.Get(httpapi.SignatureHeader), d.body, time.Minute, time.Now()); err == nil {
		t.Error("another secret verified")
	}
	if err := httpapi.VerifyWebhook(secret, d.header.Get(httpapi.SignatureHeader), d.body, time.Minute, time.Now().Add(time.Hour)); err == nil {
		t.Error("an hour-old signature verified")
	}
	reader := s.key(t, "hooked", auditshot.ScopeRead)
	eventually(t, 10*time.Second, "the job to record its delivery", func() bool {
		s.must(t, http.StatusOK, "GET", "/v1/jobs/"+job.ID, reader, nil).json(t, &job)
		return job.Webhook != nil && job.Webhook.DeliveredAt != nil
	})
	if job.Status != auditshot.JobSucceeded || job.Webhook.Attempts != 3 || len(job.Result) == 0 {
		t.Errorf("job %+v webhook %+v", job, job.Webhook)
	}
	select {
	case d := <-got:
		t.Errorf("a fourth delivery after success: %s", d.body)
	default:
	}
}

// TestWebhook_EgressPolicyApplies: a tenant whose policy does not allow
// loopback cannot make the server call a loopback webhook.
func TestWebhook_EgressPolicyApplies(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.WebhookRetries = 2 })
	s.tenant(t, "closed", "unlimited") // no allowlist: loopback refused
	key := s.key(t, "closed", auditshot.ScopeCapture, auditshot.ScopeRead)
	url, got := receiver(t, 0)
	var accepted, job auditshot.Job
	s.must(t, http.StatusAccepted, "POST", "/v1/screenshot", key,
		map[string]any{"html": "<p>inline</p>", "width": 200, "height": 100, "async": true, "webhook_url": url}).json(t, &accepted)
	eventually(t, 30*time.Second, "the webhook to be given up", func() bool {
		job = auditshot.Job{}
		s.must(t, http.StatusOK, "GET", "/v1/jobs/"+accepted.ID, key, nil).json(t, &job)
		return job.Webhook != nil && job.Webhook.Attempts > 0 && job.Webhook.NextAttempt == nil
	})
	if job.Webhook.DeliveredAt != nil || job.Webhook.Attempts != 2 || !strings.HasPrefix(job.Webhook.LastError, "egress policy refused 127.0.0.1") {
		t.Errorf("webhook %+v", job.Webhook)
	}
	select {
	case d := <-got:
		t.Errorf("the refused receiver got a request: %s", d.body)
	default:
	}
}

// TestAsyncJob_FailureIsRecorded: an async capture that fails ends as a
// failed job with the error's code and message, and gives its quota back.
func TestAsyncJob_FailureIsRecorded(t *testing.T) {
	s := startServer(t)
	s.tenant(t, "failing", map[string]any{"captures_per_month": 5})
	key := s.key(t, "failing", auditshot.ScopeCapture)
	var job auditshot.Job
	s.must(t, http.StatusAccepted, "POST", "/v1/screenshot", key, map[string]any{"url": "http://127.0.0.1:9/", "async": true}).json(t, &job)
	eventually(t, 30*time.Second, "the job to fail", func() bool {
		s.must(t, http.StatusOK, "GET", "/v1/jobs/"+job.ID, key, nil).json(t, &job)
		return job.Status.Done()
	})
	if job.Status != auditshot.JobFailed || job.Error == nil || job.Error.Code != auditshot.EFORBIDDEN || !strings.Contains(job.Error.Message, "loopback") {
		t.Errorf("job %+v error %+v", job, job.Error)
	}
	u, err := s.DB.Usage(t.Context(), "failing", auditshot.UsagePeriod(time.Now()))
	if err != nil || u.Captures != 0 {
		t.Errorf("usage after a failed job: %+v %v", u, err)
	}
}
