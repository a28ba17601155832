package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditshot/auditshot/bundle"
	"github.com/auditshot/auditshot/ledger"
)

// makeBundle writes a bundle of a three-entry log, one entry referring to
// a blob, and returns its path and the log's verifier key.
func makeBundle(t *testing.T) (path, vkey string) {
	t.Helper()
	const origin = "auditshot.test/acme"
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("pretend this is a PNG")
	sum := sha256.Sum256(blob)
	sha := hex.EncodeToString(sum[:])
	hashes := map[int64]ledger.Hash{}
	reader := ledger.HashReaderFunc(func(idx []int64) ([]ledger.Hash, error) {
		out := make([]ledger.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	var raw [][]byte
	for i, typ := range []ledger.Type{ledger.TypeRunStarted, ledger.TypeCaptureCompleted, ledger.TypeRunFinished} {
		e := ledger.Entry{V: ledger.Version, Type: typ, Tenant: "acme", IDs: map[string]string{ledger.IDRun: "run_1"},
			Time: time.Date(2026, 11, 27, 12, 0, i, 0, time.UTC), Actor: "key_1"}
		if typ == ledger.TypeCaptureCompleted {
			e.Artifacts = []ledger.Artifact{{SHA256: sha, Size: int64(len(blob)), MediaType: "image/png", Role: "after"}}
		}
		b, err := ledger.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := ledger.StoredHashes(int64(i), b, reader)
		if err != nil {
			t.Fatal(err)
		}
		base := ledger.StoredHashIndex(0, int64(i))
		for j, h := range stored {
			hashes[base+int64(j)] = h
		}
		raw = append(raw, b)
	}
	size := int64(len(raw))
	root, err := ledger.TreeHash(size, reader)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.SignCheckpoint(ledger.Checkpoint{Origin: origin, Size: size, Hash: root}, signer)
	if err != nil {
		t.Fatal(err)
	}
	c := bundle.Contents{Origin: origin, Checkpoint: cp, Keys: []string{vkey},
		Blobs: func(ctx context.Context, s string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(blob)), nil
		}}
	for i, b := range raw {
		p, err := ledger.ProveInclusion(int64(i), size, reader)
		if err != nil {
			t.Fatal(err)
		}
		c.Entries = append(c.Entries, bundle.Entry{Index: int64(i), Bytes: b, Proof: p})
	}
	var buf bytes.Buffer
	if err := bundle.Write(t.Context(), &buf, c, bundle.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "evidence.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, vkey
}

func TestVerify(t *testing.T) {
	path, vkey := makeBundle(t)
	keyFile := filepath.Join(t.TempDir(), "log.vkey")
	os.WriteFile(keyFile, []byte(vkey+"\n"), 0o644)

	t.Run("OK", func(t *testing.T) {
		for _, key := range []string{vkey, keyFile} {
			code, stdout, stderr := run(t, "verify", path, "--key", key)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
		}
	})
	t.Run("KeysFromBundle", func(t *testing.T) {
		code, stdout, _ := run(t, "verify", path)
		if code != 0 || !strings.Contains(stdout, "keys taken from the bundle") {
			t.Errorf("exit %d, summary:\n%s", code, stdout)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		_, other, _ := ledger.GenerateKey("auditshot.test/acme")
		code, stdout, _ := run(t, "verify", path, "--key", other)
		if code != 1 {
			t.Errorf("exit %d, want 1; summary:\n%s", code, stdout)
		}
	})
	t.Run("TamperedBlob", func(t *testing.T) {
		bad := rewrite(t, path, func(name string, b []byte) []byte {
			if strings.HasPrefix(name, "blobs/") {
				return []byte("pretend this is a PNG, altered")
			}
			return b
		})
		code, stdout, _ := run(t, "verify", bad, "--key", vkey)
		if code != 1 || !strings.Contains(stdout, "blobs/") {
			t.Errorf("exit %d, want 1 naming the blob; summary:\n%s", code, stdout)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		if code, _, _ := run(t, "verify"); code != 2 {
			t.Errorf("no bundle: exit %d", code)
		}
		if code, _, _ := run(t, "verify", filepath.Join(t.TempDir(), "missing.zip")); code != 2 {
			t.Errorf("missing file: exit %d", code)
		}
	})
}

// rewrite copies the zip at path with each member's content passed
// through f, and returns the new file's path.
func rewrite(t *testing.T, path string, f func(name string, b []byte) []byte) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range zr.File {
		rc, err := m.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		w, err := zw.Create(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f(m.Name, b))
	}
	zw.Close()
	out := filepath.Join(t.TempDir(), "tampered.zip")
	os.WriteFile(out, buf.Bytes(), 0o644)
	return out
}

func TestLogKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, first, stderr := run(t, "log-key", "--data", dir)
	if code != 0 || !strings.Contains(stderr, "created") || !strings.Contains(first, "verifier key: auditshot+") {
		t.Fatalf("exit %d stdout %q stderr %q", code, first, stderr)
	}
	st, err := os.Stat(filepath.Join(dir, "log.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", st, err)
	}
	code, again, stderr := run(t, "log-key", "--data", dir)
	if code != 0 || again != first || strings.Contains(stderr, "created") {
		t.Errorf("second run: exit %d, %q vs %q, stderr %q", code, again, first, stderr)
	}
	os.Chmod(filepath.Join(dir, "log.key"), 0o644)
	if code, _, stderr := run(t, "log-key", "--data", dir); code != 1 || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("world-readable key: exit %d stderr %q", code, stderr)
	}
}
