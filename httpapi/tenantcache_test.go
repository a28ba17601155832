package httpapi

import (
	"errors"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTTLCache[string, int](time.Second, func() time.Time { return now })
	loads := 0
	load := func(v int, err error) func() (int, error) {
		return func() (int, error) { loads++; return v, err }
	}
	if v, _ := c.get("a", load(1, nil)); v != 1 || loads != 1 {
		t.Fatalf("first get: %d after %d loads", v, loads)
	}
	now = now.Add(999 * time.Millisecond)
	if v, _ := c.get("a", load(2, nil)); v != 1 || loads != 1 {
		t.Errorf("fresh get: %d after %d loads, want the cached 1", v, loads)
	}
	now = now.Add(time.Millisecond)
	if v, _ := c.get("a", load(2, nil)); v != 2 || loads != 2 {
		t.Errorf("get at the TTL: %d after %d loads, want a new load", v, loads)
	}
	// A failure is not kept.
	if _, err := c.get("b", load(0, errors.New("no"))); err == nil {
		t.Fatal("the failure was not returned")
	}
	if v, _ := c.get("b", load(3, nil)); v != 3 || loads != 4 {
		t.Errorf("after a failure: %d after %d loads", v, loads)
	}
	// A clock that goes back does not make an entry fresh forever.
	now = now.Add(-time.Hour)
	if v, _ := c.get("a", load(5, nil)); v != 5 {
		t.Errorf("after the clock went back: %d", v)
	}
	c.forget(func(v int) bool { return v == 5 })
	if v, _ := c.get("a", load(6, nil)); v != 6 {
		t.Errorf("after forget: %d", v)
	}
}
