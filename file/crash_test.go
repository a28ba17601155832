//go:build unix

package file_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/file"
)

// crashDirEnv, when set, makes TestCrashChild the child of TestCrash: it
// stores blobs in that directory until it is killed.
const crashDirEnv = "AUDITSHOT_FILE_CRASH_DIR"

// TestCrashChild is the child process of TestCrash. It Puts blobs from a
// few goroutines, some of them the same content, and prints "ack <sha256>"
// on stdout once each Put has returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrash")
	}
	// Never outlive a parent that failed to kill us.
	time.AfterFunc(time.Minute, func() { os.Exit(4) })
	s, err := file.New(file.Config{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	seed := uint64(os.Getpid()) << 16
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				var data []byte
				if r.IntN(4) == 0 {
					data = content(uint64(r.IntN(3)), 64<<10) // shared across rounds and workers
				} else {
					data = content(r.Uint64(), r.IntN(400<<10))
				}
				a, err := s.Put(context.Background(), bytes.NewReader(data), "application/octet-stream")
				mu.Lock()
				if err != nil {
					fmt.Printf("error %v\n", err)
					os.Exit(3)
				}
				fmt.Printf("ack %s\n", a.SHA256)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a process storing blobs with SIGKILL, a few times, and
// checks after each kill that every acknowledged blob is present and intact
// and that no partial blob is visible. A killed process's writes survive in
// the page cache, so this tests the order of renames and the cleanup of
// temporary files, not fsync against power loss.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		shas := runUntilKilled(t, dir, 3+r.IntN(12))
		for _, sha := range shas {
			acked[sha] = true
		}
		tmps, _ := os.ReadDir(filepath.Join(dir, "tmp"))
		t.Logf("round %d: %d acknowledged, %d in total, %d temporary files left by the kill", round, len(shas), len(acked), len(tmps))

		s := mustOpen(t, file.Config{Dir: dir})
		for sha := range acked {
			mustRead(t, s, sha, true)
		}
		checkTree(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runUntilKilled starts TestCrashChild on dir, kills it with SIGKILL once it
// has acknowledged n blobs, and returns every sha it acknowledged.
func runUntilKilled(t *testing.T, dir string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks, other []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sha, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acks = append(acks, sha)
			if len(acks) == n {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatalf("kill: %v", err)
				}
			}
			continue
		}
		other = append(other, sc.Text())
	}
	err = cmd.Wait()
	if len(acks) < n {
		t.Fatalf("child ended after %d acknowledgements (%v), before being killed:\n%s\n%s", len(acks), err, strings.Join(other, "\n"), stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
	return acks
}

// checkTree checks that every content file under the store is intact and
// has its sidecar; sidecars without content (a kill between the two
// renames) are invisible and allowed.
func checkTree(t *testing.T, s *file.Store) {
	t.Helper()
	root := filepath.Join(s.Dir(), "sha256")
	orphans := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".json"):
			if _, err := os.Stat(strings.TrimSuffix(p, ".json")); err != nil {
				orphans++
			}
			return nil
		case len(name) != 64:
			t.Errorf("unexpected file %s", p)
			return nil
		}
		if got := mustRead(t, s, name, true); sum(got) != name {
			t.Errorf("blob %s holds content with sha256 %s", name, sum(got))
		}
		var a auditshot.Artifact
		b, err := os.ReadFile(p + ".json")
		if err != nil {
			t.Errorf("visible blob %s has no sidecar: %v", name, err)
			return nil
		}
		if err := json.Unmarshal(b, &a); err != nil || a.SHA256 != name || a.MediaType == "" {
			t.Errorf("blob %s has a bad sidecar %q: %v", name, b, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if orphans > 0 {
		t.Logf("%d sidecars without content (invisible)", orphans)
	}
	if tmps, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(tmps) != 0 {
		t.Errorf("tmp/ holds %d entries after reopening", len(tmps))
	}
}
