package main

import (
	"bufio"
	"context"
	"fmt"
	"github.com/auditshot/auditshot/httpapi"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// startServe runs `auditshot serve` on 127.0.0.1:0 with the data
// directory and returns its URL, the bootstrap key line's key ("" if
// none) and a stop function that shuts it down and returns its exit code.
func startServe(t *testing.T, data string) (url, key string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		var stderr strings.Builder
		c := Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--allow", "127.0.0.1", "--log-level", "warn"}, pw, &stderr)
		if c != 0 {
			t.Logf("serve: %s", stderr.String())
		}
		pw.Close()
		code <- c
	}()
	lines := bufio.NewScanner(pr)
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+) `)
	for lines.Scan() {
		line := lines.Text()
		if m := listening.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if k, ok := strings.CutPrefix(line, "bootstrap admin key (shown once, store it now): "); ok {
			key = k
		}
		if strings.HasPrefix(line, "try: ") {
			break
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("serve printed no URL (exit %d)", <-code)
	}
	go io.Copy(io.Discard, pr)
	return url, key, func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not stop within 60s of its context ending")
			return -1
		}
	}
}

func TestServe_BootstrapKeyOnceAndGracefulStop(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	url, key, stop := startServe(t, data)
	if !strings.HasPrefix(key, "ask_") {
		t.Fatalf("no bootstrap key printed: %q", key)
	}
	req, _ := http.NewRequest("GET", url+"/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the bootstrap key lists tenants: %d", resp.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d after its context ended", code)
	}
	// A second start on the same data prints no key, and the first works.
	url, again, stop := startServe(t, data)
	defer stop()
	if again != "" {
		t.Errorf("a second start printed a bootstrap key")
	}
	req, _ = http.NewRequest("GET", url+"/v1/usage", nil)
	req.Header.Set("X-API-Key", key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the bootstrap key after a restart: %d", resp.StatusCode)
	}
}

func TestTenantsAndKeysCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	url, _, stop := startServe(t, data)
	defer stop()
	// The commands work on the data directory while the server runs.
	code, out, errOut := run(t, "tenants", "create", "acme", "--data", data, "--plan", "free", "--admin-key")
	if code != 0 || !strings.Contains(out, "created tenant acme (plan free: 100/month, 10/minute)") || !strings.Contains(out, "admin key (shown once): ask_") {
		t.Fatalf("tenants create: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, "tenants", "set", "acme", "--data", data, "--captures-per-month", "5", "--allow", "127.0.0.1"); code != 0 || !strings.Contains(out, `"captures_per_month": 5`) {
		t.Errorf("tenants set: %d %q", code, out)
	}
	// --offline changes only that part of the egress policy, --allow only
	// the allowlist.
	if code, out, _ := run(t, "tenants", "set", "acme", "--data", data, "--offline", "true"); code != 0 ||
		!strings.Contains(out, `"offline": true`) || !strings.Contains(out, `"127.0.0.1"`) {
		t.Errorf("tenants set --offline true: %d %q", code, out)
	}
	if code, out, _ := run(t, "tenants", "set", "acme", "--data", data, "--allow", "10.0.0.0/8"); code != 0 ||
		!strings.Contains(out, `"offline": true`) || !strings.Contains(out, `"10.0.0.0/8"`) || strings.Contains(out, `"127.0.0.1"`) {
		t.Errorf("tenants set --allow: %d %q", code, out)
	}
	if code, out, _ := run(t, "tenants", "set", "acme", "--data", data, "--offline", "false", "--allow", "127.0.0.1"); code != 0 ||
		strings.Contains(out, `"offline"`) || !strings.Contains(out, `"127.0.0.1"`) {
		t.Errorf("tenants set --offline false: %d %q", code, out)
	}
	if code, _, errOut := run(t, "tenants", "set", "acme", "--data", data, "--offline", "maybe"); code == 0 || !strings.Contains(errOut, "--offline: want true or false") {
		t.Errorf("tenants set --offline maybe: %d %q", code, errOut)
	}
	if code, out, _ := run(t, "tenants", "list", "--data", data); code != 0 || !strings.Contains(out, "acme") || !strings.Contains(out, "default") {
		t.Errorf("tenants list: %d %q", code, out)
	}
	code, secret, errOut := run(t, "keys", "create", "--data", data, "--tenant", "acme", "--name", "refund-bot", "--scopes", "capture,write")
	secret = strings.TrimSpace(secret)
	if code != 0 || !strings.HasPrefix(secret, "ask_") {
		t.Fatalf("keys create: %d %q %q", code, secret, errOut)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", url+"/v1/usage", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != http.StatusOK {
		t.Fatalf("the new key on the running server: %d", s)
	}
	id := strings.Split(strings.TrimPrefix(secret, "ask_"), "_")[0]
	if code, out, _ := run(t, "keys", "list", "--data", data, "--tenant", "acme"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "capture,write") {
		t.Errorf("keys list: %d %q", code, out)
	}
	if code, _, errOut := run(t, "keys", "revoke", id, "--data", data, "--tenant", "acme"); code != 0 {
		t.Fatalf("keys revoke: %d %q", code, errOut)
	}
	// The server trusts a key it checked for httpapi.KeyCacheTTL; a
	// revocation by another process is seen after that.
	deadline := time.Now().Add(httpapi.KeyCacheTTL + 5*time.Second)
	for get() != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatalf("a key revoked by the CLI still works after %s", httpapi.KeyCacheTTL+5*time.Second)
		}
		runtime.Gosched()
	}
	if code, _, errOut := run(t, "keys", "create", "--data", data, "--tenant", "acme", "--name", "x", "--scopes", "root"); code != 1 || !strings.Contains(errOut, `unknown scope "root"`) {
		t.Errorf("bad scope: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "tenants", "show", "nope", "--data", data); code != 1 || !strings.Contains(errOut, `tenant "nope" not found`) {
		t.Errorf("unknown tenant: %d %q", code, errOut)
	}
}

func TestServe_ConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "auditshot.conf")
	data := filepath.Join(dir, "from-file")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# deployment settings\ndata = " + data + "\naddr = 127.0.0.1:0\nallow = 127.0.0.1\nallow = 10.0.0.0/8\nlog-level = warn\n")
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		c := Main(ctx, []string{"serve", "--config", conf, "--log-level", "error"}, pw, io.Discard)
		pw.Close()
		code <- c
	}()
	sc := bufio.NewScanner(pr)
	var first string
	if sc.Scan() {
		first = sc.Text()
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if c := <-code; c != 0 || !strings.Contains(first, "(data "+data+")") {
		t.Fatalf("serve with a config file: exit %d, first line %q", c, first)
	}
	// The file's allowlist became the default tenant's policy.
	code2, out, errOut := run(t, "tenants", "show", "default", "--data", data)
	if code2 != 0 || !strings.Contains(out, `"10.0.0.0/8"`) || !strings.Contains(out, `"127.0.0.1"`) {
		t.Errorf("tenant after a config file: %d %s %s", code2, out, errOut)
	}
	write("adress = 127.0.0.1:0\n")
	if c, _, errOut := run(t, "serve", "--config", conf); c != 2 || !strings.Contains(errOut, `auditshot.conf:1: unknown setting "adress"`) {
		t.Errorf("a misspelt setting: exit %d, %q", c, errOut)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes([]string{"10.1.2.3/8", " 127.0.0.1", "::1", "::ffff:192.0.2.1"}, "--trusted-proxy")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[10.0.0.0/8 127.0.0.1/32 ::1/128 192.0.2.1/32]" {
		t.Errorf("parsePrefixes = %v", got)
	}
	if _, err := parsePrefixes([]string{"10.0.0.0/8", "proxy.example"}, "--trusted-proxy"); err == nil ||
		err.Error() != `--trusted-proxy "proxy.example": want a CIDR or an IP address` {
		t.Errorf("a host name: %v", err)
	}
}
