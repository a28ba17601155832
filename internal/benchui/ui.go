package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// runID matches the id of a seeded run.
var runID = regexp.MustCompile(`run-[0-9]{6}`)

// console is a signed-in session of the auditor console.
type console struct {
	base string
	hc   *http.Client
}

// errNoConsole says the server does not serve the console.
var errNoConsole = errors.New("the server does not serve the auditor console (404); it is built in httpapi/ui*.go")

// signIn signs in to the console at base with an API key, as the sign-in
// form does, and returns the session.
func signIn(ctx context.Context, base, key string) (*console, error) {
	jar, _ := cookiejar.New(nil)
	c := &console{base: base, hc: &http.Client{Jar: jar,
		// The answer to the sign-in is a redirect with the cookie.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/ui/login",
		strings.NewReader(url.Values{"key": {key}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("POST /ui/login: %w", errNoConsole)
	case resp.StatusCode >= 400:
		return nil, fmt.Errorf("POST /ui/login: %s: %.300s", resp.Status, body)
	}
	u, _ := url.Parse(base + "/ui/runs")
	if len(jar.Cookies(u)) == 0 {
		return nil, fmt.Errorf("POST /ui/login answered %s without a session cookie", resp.Status)
	}
	return c, nil
}

// runsPage gets /ui/runs?query, reads the whole page and returns the
// server's times, from the page's Server-Timing header.
func (c *console) runsPage(ctx context.Context, query string) (serverTimes, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/ui/runs?"+query, nil)
	if err != nil {
		return serverTimes{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return serverTimes{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return serverTimes{}, fmt.Errorf("GET /ui/runs?%s: %w", query, err)
	case resp.StatusCode == http.StatusNotFound:
		return serverTimes{}, fmt.Errorf("GET /ui/runs: %w", errNoConsole)
	case resp.StatusCode != http.StatusOK:
		return serverTimes{}, fmt.Errorf("GET /ui/runs?%s: %s (signed out?): %.300s", query, resp.Status, body)
	case !runID.Match(body):
		return serverTimes{}, fmt.Errorf("GET /ui/runs?%s: the page lists no runs", query)
	}
	h := strings.Join(resp.Header.Values("Server-Timing"), ", ")
	app, err := serverTiming(h, "app")
	if err != nil {
		return serverTimes{}, fmt.Errorf("GET /ui/runs?%s: %w", query, err)
	}
	db, err := serverTiming(h, "db")
	if err != nil {
		return serverTimes{}, fmt.Errorf("GET /ui/runs?%s: %w", query, err)
	}
	return serverTimes{app, db}, nil
}

// serverTimes are the server's time to make a page, and of that the time
// of its runs query.
type serverTimes struct{ app, db time.Duration }

// serverTiming reads the duration of metric name from a Server-Timing
// header ("app;desc=\"page made\";dur=1.234").
func serverTiming(h, name string) (time.Duration, error) {
	for _, m := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(m), ";")
		if parts[0] != name {
			continue
		}
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				ms, err := strconv.ParseFloat(v, 64)
				if err != nil || ms < 0 {
					return 0, fmt.Errorf("Server-Timing %q: bad dur", h)
				}
				return time.Duration(ms * float64(time.Millisecond)), nil
			}
		}
	}
	return 0, fmt.Errorf("no %q duration in the answer's Server-Timing header %q", name, h)
}
