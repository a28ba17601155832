package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/auditshot/auditshot"
)

// limiter is a token bucket per tenant for the per-minute capture rate:
// a full bucket holds the plan's per-minute rate and refills evenly over
// a minute.
type limiter struct {
	now func() time.Time
	// maxBuckets, if set, is how many buckets the limiter holds before it
	// forgets the full ones: for keys that are many (client addresses)
	// and share one rate.
	maxBuckets int
	mu         sync.Mutex
	buckets    map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, buckets: map[string]*bucket{}}
}

// rateState is what the X-RateLimit-* headers report.
type rateState struct {
	limit     int
	remaining int
	reset     time.Duration // until the bucket is full again
	retry     time.Duration // until one token is there, when refused
}

// take takes a token for tenant with a rate of perMinute (0: unlimited).
func (l *limiter) take(tenant string, perMinute int) (rateState, bool) {
	if perMinute <= 0 {
		return rateState{}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	rate := float64(perMinute) / 60 // tokens per second
	b, ok := l.buckets[tenant]
	if !ok {
		if l.maxBuckets > 0 && len(l.buckets) >= l.maxBuckets {
			l.prune(now, rate, float64(perMinute))
		}
		b = &bucket{tokens: float64(perMinute), at: now}
		l.buckets[tenant] = b
	}
	b.tokens = math.Min(float64(perMinute), b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	ok = b.tokens >= 1
	if ok {
		b.tokens--
	}
	st := rateState{limit: perMinute, remaining: int(b.tokens),
		reset: time.Duration((float64(perMinute) - b.tokens) / rate * float64(time.Second))}
	if !ok {
		st.retry = time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	return st, ok
}

// prune forgets the buckets that have refilled (a new bucket is full),
// for a limiter whose buckets all have the same rate.
func (l *limiter) prune(now time.Time, rate, full float64) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= full {
			delete(l.buckets, k)
		}
	}
}

// giveBack returns a token taken for a request that was refused later (by
// the monthly quota), so it does not count against the rate.
func (l *limiter) giveBack(tenant string, perMinute int) {
	if perMinute <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[tenant]; ok {
		b.tokens = math.Min(float64(perMinute), b.tokens+1)
	}
}

func (st rateState) setHeaders(h http.Header) {
	if st.limit == 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(st.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(st.reset.Seconds()))))
}

func setUsageHeaders(h http.Header, u auditshot.Usage) {
	h.Set("X-Usage-Period", u.Period)
	h.Set("X-Usage-Used", strconv.FormatInt(u.Captures, 10))
	if u.Limit > 0 {
		h.Set("X-Usage-Limit", strconv.FormatInt(u.Limit, 10))
		h.Set("X-Usage-Remaining", strconv.FormatInt(max(0, u.Limit-u.Captures), 10))
	}
}

// reservation is one capture counted against a tenant's rate and quota.
type reservation struct {
	s      *Server
	tenant string
	period string
	usage  auditshot.Usage
	header http.Header
	done   bool
}

// reserveCapture applies the tenant's per-minute rate and monthly quota to
// one capture and sets the rate and usage headers. Returns ERATELIMIT
// (429, with RetryAfter) or EQUOTA (402).
func (s *Server) reserveCapture(ctx context.Context, h http.Header, c caller) (*reservation, error) {
	if err := s.rateLimit(h, c); err != nil {
		return nil, err
	}
	return s.reserveQuota(ctx, h, c)
}

// rateLimit takes a token of the tenant's per-minute capture rate.
func (s *Server) rateLimit(h http.Header, c caller) error {
	plan := c.tenant.Plan
	st, ok := s.limiter.take(c.tenant.ID, plan.CapturesPerMinute)
	st.setHeaders(h)
	if !ok {
		return &auditshot.Error{Code: auditshot.ERATELIMIT, RetryAfter: max(st.retry, time.Second),
			Message: "rate limit of " + strconv.Itoa(plan.CapturesPerMinute) + " captures per minute reached; retry after the Retry-After delay"}
	}
	return nil
}

// reserveQuota counts one capture against the tenant's monthly quota;
// when that is spent it gives the rate token back and returns EQUOTA.
func (s *Server) reserveQuota(ctx context.Context, h http.Header, c caller) (*reservation, error) {
	plan := c.tenant.Plan
	period := auditshot.UsagePeriod(s.cfg.Now())
	u, err := s.cfg.Usage.ReserveCapture(ctx, c.tenant.ID, period, int64(plan.CapturesPerMonth))
	u.Limit, u.Period = int64(plan.CapturesPerMonth), period
	if err != nil {
		s.limiter.giveBack(c.tenant.ID, plan.CapturesPerMinute)
		if auditshot.ErrorCode(err) == auditshot.EQUOTA {
			setUsageHeaders(h, u)
		}
		return nil, err
	}
	setUsageHeaders(h, u)
	return &reservation{s: s, tenant: c.tenant.ID, period: period, usage: u, header: h}, nil
}

// release gives the capture back to the quota: it failed.
func (r *reservation) release(ctx context.Context) {
	if r == nil || r.done {
		return
	}
	r.done = true
	if err := r.s.cfg.Usage.ReleaseCapture(context.WithoutCancel(ctx), r.tenant, r.period); err != nil {
		r.s.log.Error("release capture quota", "tenant", r.tenant, "err", err)
		return
	}
	r.usage.Captures--
	setUsageHeaders(r.header, r.usage)
}

// keep marks the capture as used.
func (r *reservation) keep() {
	if r != nil {
		r.done = true
	}
}
