package benchstat_test

import (
	"testing"
	"time"

	"github.com/auditshot/auditshot/internal/benchstat"
)

func TestPercentile(t *testing.T) {
	d := func(ms ...int) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		d    []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{d(7), 50, 7 * time.Millisecond},
		{d(4, 1, 3, 2), 50, 2 * time.Millisecond}, // the lower middle of an even count
		{d(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{d(5, 1, 4, 2, 3), 95, 5 * time.Millisecond},
		{d(5, 1, 4, 2, 3), 100, 5 * time.Millisecond},
		{d(5, 1, 4, 2, 3), 1, 1 * time.Millisecond},
	} {
		in := append([]time.Duration(nil), c.d...)
		if got := benchstat.Percentile(c.d, c.p); got != c.want {
			t.Errorf("Percentile(%v, %d) = %v, want %v", c.d, c.p, got, c.want)
		}
		for i := range in {
			if in[i] != c.d[i] {
				t.Fatalf("Percentile changed its input: %v, was %v", c.d, in)
			}
		}
	}
	if got := benchstat.MS(1234567 * time.Nanosecond); got != 1.234 {
		t.Errorf("MS = %v, want 1.234", got)
	}
	if benchstat.Verdict(true) != "PASS" || benchstat.Verdict(false) != "MISS" {
		t.Error("Verdict")
	}
}
