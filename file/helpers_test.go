package file_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/file"
)

// testLogger logs to the test's output when -v is given.
func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// mustOpen opens a store in dir (a new temporary directory if empty) and
// closes it when the test ends.
func mustOpen(tb testing.TB, cfg file.Config) *file.Store {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(tb)
	}
	s, err := file.New(cfg)
	if err != nil {
		tb.Fatalf("file.New(%s): %v", cfg.Dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func mustPut(tb testing.TB, s *file.Store, data []byte, mediaType string) auditshot.Artifact {
	tb.Helper()
	a, err := s.Put(context.Background(), bytes.NewReader(data), mediaType)
	if err != nil {
		tb.Fatalf("Put(%d bytes, %q): %v", len(data), mediaType, err)
	}
	return a
}

// mustRead opens a blob and reads it all.
func mustRead(tb testing.TB, s *file.Store, sha string, verify bool) []byte {
	tb.Helper()
	rc, _, err := s.Open(tb.Context(), sha, verify)
	if err != nil {
		tb.Fatalf("Open(%s, %t): %v", sha, verify, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("read %s (verify=%t): %v", sha, verify, err)
	}
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// content returns n pseudo-random bytes determined by seed.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// blobPath is the documented place of a blob's content under a store.
func blobPath(dir, sha string) string {
	return filepath.Join(dir, "sha256", sha[:2], sha[2:4], sha)
}

// files lists the regular files under the store's sha256/ and tmp/, relative
// to dir and sorted.
func files(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	for _, sub := range []string{"sha256", "tmp"} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			tb.Fatalf("walk %s: %v", sub, err)
		}
	}
	slices.Sort(out)
	return out
}

// blobFiles returns the files a store holds for the given blobs, sorted.
func blobFiles(shas ...string) []string {
	var out []string
	for _, sha := range shas {
		p := "sha256/" + sha[:2] + "/" + sha[2:4] + "/" + sha
		out = append(out, p, p+".json")
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// wantCode fails the test unless err is an *auditshot.Error with code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	var ae *auditshot.Error
	if !errors.As(err, &ae) {
		tb.Fatalf("error = %v (%T), want an *auditshot.Error with code %s", err, err, code)
	}
	if ae.Code != code {
		tb.Fatalf("error code = %s, want %s (error: %v)", ae.Code, code, err)
	}
}

// writeFile overwrites a read-only file of the store, as an intruder would.
func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}
