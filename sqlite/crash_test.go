package sqlite_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/ledger"
	"github.com/auditshot/auditshot/sqlite"
)

var crashRounds = flag.Int("crash.rounds", 20, "rounds of TestCrash (2 with -short)")

// Environment of the child process of TestCrash.
const (
	crashEnvPath = "AUDITSHOT_CRASH_DB"
	crashEnvRun  = "AUDITSHOT_CRASH_RUN"
)

// TestCrash kills a child process appending from many goroutines with
// SIGKILL after a random number of acknowledged appends, then reopens the
// store: the self-check passes and every acknowledged entry is there.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashEnvPath); path != "" {
		crashChild(path, os.Getenv(crashEnvRun))
		return
	}
	rounds := *crashRounds
	if testing.Short() {
		rounds = min(rounds, 2)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cfg := testConfig()
	db, err := sqlite.Open(t.Context(), path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	MustCreateTenant(t, db, "acme")
	run := MustCreateRun(t, db, "acme")
	db.Close()
	acked := map[int64]string{}
	for round := range rounds {
		kill := 20 + rand.IntN(400)
		for idx, id := range crashRound(t, path, run.ID, kill) {
			acked[idx] = id
		}
		db, err := sqlite.Open(t.Context(), path, cfg)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if err := db.Verify(t.Context(), "acme"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		size, err := db.LogSize(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		entries := mustEntries(t, db, "acme")
		for idx, id := range acked {
			if idx >= size {
				t.Fatalf("round %d: acknowledged entry %d lost (log size %d)", round, idx, size)
			}
			e, err := ledger.Parse(entries[idx])
			if err != nil || e.IDs[ledger.IDEvent] != id {
				t.Fatalf("round %d: entry %d is %+v, %v; want event %s", round, idx, e, err, id)
			}
		}
		if _, err := db.SignCheckpoint(t.Context(), "acme"); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d acks, log size %d, %d acknowledged in all", round, kill, size, len(acked))
		db.Close()
	}
}

// crashRound runs the child until it has acknowledged kill appends, kills
// it and returns every append it acknowledged: index to event id.
func crashRound(t *testing.T, path, runID string, kill int) map[int64]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashEnvPath+"="+path, crashEnvRun+"="+runID)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]string{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		idx, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		acked[idx] = f[2]
		if len(acked) >= kill && !killed {
			cmd.Process.Kill() // SIGKILL; lines already written are still read
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acks without being killed", len(acked))
	}
	return acked
}

// crashChild appends events from many goroutines, printing "ack INDEX
// EVENT" for each acknowledged one, until it is killed.
func crashChild(path, runID string) {
	cfg := testConfig()
	db, err := sqlite.Open(context.Background(), path, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 10000 {
				e := &auditshot.Event{TenantID: "acme", RunID: runID, Type: auditshot.EventNote, Name: "crash"}
				if err := db.AddEvent(context.Background(), e); err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %s\n", e.Ledger.Index, e.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(3)
}
