package httpapi

import (
	"testing"
	"time"

	"github.com/auditshot/auditshot"
)

func TestSessionStoreExpires(t *testing.T) {
	const idle, maxAge = time.Minute, 10 * time.Minute
	st := newSessionStore()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	key := &auditshot.APIKey{ID: "k1", TenantID: "t1"}
	newSession := func() string {
		tok, err := st.create(key, "ask_k1_secret", t0, idle, maxAge)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t.Run("Idle", func(t *testing.T) {
		tok := newSession()
		if st.find(tok, t0.Add(59*time.Second), idle, maxAge) == nil {
			t.Fatal("a session used within the idle time ended")
		}
		if st.find(tok, t0.Add(2*time.Minute), idle, maxAge) != nil {
			t.Error("a session idle for 61s lives")
		}
		if st.find(tok, t0.Add(61*time.Second), idle, maxAge) != nil {
			t.Error("an expired session came back")
		}
	})
	t.Run("Absolute", func(t *testing.T) {
		tok := newSession()
		for at := time.Duration(0); at < maxAge; at += 30 * time.Second {
			if st.find(tok, t0.Add(at), idle, maxAge) == nil {
				t.Fatalf("a session in use ended after %s", at)
			}
		}
		if st.find(tok, t0.Add(maxAge), idle, maxAge) != nil {
			t.Error("a session lives past its maximum age")
		}
	})
	t.Run("Ended", func(t *testing.T) {
		tok := newSession()
		s := st.find(tok, t0, idle, maxAge)
		st.end(s)
		if st.find(tok, t0, idle, maxAge) != nil {
			t.Error("an ended session lives")
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		if st.find("nope", t0, idle, maxAge) != nil {
			t.Error("an unknown token has a session")
		}
	})
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "/ui/runs",
		"/ui/runs/r1?x=1":         "/ui/runs/r1?x=1",
		"//evil.example/ui/":      "/ui/runs",
		"https://evil.example/ui": "/ui/runs",
		"/ui/\\evil":              "/ui/runs",
		"/v1/keys":                "/ui/runs",
		"/ui/login?next=x":        "/ui/runs",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
