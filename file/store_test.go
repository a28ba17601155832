package file_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/file"
	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	t.Run("CreatesDir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "blobs")
		s := mustOpen(t, file.Config{Dir: dir})
		a := mustPut(t, s, []byte("x"), "text/plain")
		if _, err := os.Stat(blobPath(dir, a.SHA256)); err != nil {
			t.Errorf("blob not in the documented place: %v", err)
		}
	})

	t.Run("RemovesStaleTempFiles", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, file.Config{Dir: dir})
		a := mustPut(t, s, []byte("kept"), "text/plain")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// What a crash leaves: half-written content and sidecars, even a
		// read-only one and a directory.
		for name, mode := range map[string]os.FileMode{"blob-123": 0o600, "meta-456": 0o444, "blob-789": 0o444} {
			if err := os.WriteFile(filepath.Join(dir, "tmp", name), []byte("partial"), mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "tmp", "stray"), 0o755); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, file.Config{Dir: dir})
		ents, err := os.ReadDir(filepath.Join(dir, "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 0 {
			t.Errorf("tmp/ holds %d entries after New, want none", len(ents))
		}
		if got := mustRead(t, s, a.SHA256, true); string(got) != "kept" {
			t.Errorf("stored blob = %q, want %q", got, "kept")
		}
	})

	t.Run("ErrLocked", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, file.Config{Dir: dir})
		_, err := file.New(file.Config{Dir: dir, Logger: testLogger(t)})
		wantCode(t, err, auditshot.EUNAVAILABLE)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		mustOpen(t, file.Config{Dir: dir})
	})

	t.Run("ErrNoDir", func(t *testing.T) {
		_, err := file.New(file.Config{})
		wantCode(t, err, auditshot.EINVALID)
	})

	t.Run("ErrClosed", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		a := mustPut(t, s, []byte("x"), "text/plain")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := s.Put(t.Context(), strings.NewReader("y"), "text/plain")
		wantCode(t, err, auditshot.EUNAVAILABLE)
		_, err = s.Stat(t.Context(), a.SHA256)
		wantCode(t, err, auditshot.EUNAVAILABLE)
	})
}

func TestOpen(t *testing.T) {
	t.Run("Seekable", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		a := mustPut(t, s, []byte("0123456789"), "text/plain")
		rc, _, err := s.Open(t.Context(), a.SHA256, false)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, ok := rc.(io.Seeker); !ok {
			t.Errorf("Open without verify returned a %T, want a seekable file", rc)
		}
	})

	corruptions := []struct {
		name    string
		corrupt func(t *testing.T, path string, data []byte)
		want    []byte // what a read without verify returns
	}{
		{"ByteFlipped", func(t *testing.T, path string, data []byte) {
			b := bytes.Clone(data)
			b[len(b)/2] ^= 0x01
			writeFile(t, path, b)
		}, nil},
		{"Truncated", func(t *testing.T, path string, data []byte) { writeFile(t, path, data[:len(data)-1]) }, nil},
		{"Appended", func(t *testing.T, path string, data []byte) { writeFile(t, path, append(bytes.Clone(data), 0)) }, nil},
		{"SidecarSize", func(t *testing.T, path string, data []byte) {
			var a auditshot.Artifact
			b, err := os.ReadFile(path + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			a.Size++
			b, _ = json.Marshal(a)
			writeFile(t, path+".json", b)
		}, nil},
	}
	for _, tc := range corruptions {
		t.Run("ErrBlobCorrupt/"+tc.name, func(t *testing.T) {
			s := mustOpen(t, file.Config{})
			data := content(3, 100<<10)
			a := mustPut(t, s, data, "image/png")
			path := blobPath(s.Dir(), a.SHA256)
			tc.corrupt(t, path, data)
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			rc, _, err := s.Open(t.Context(), a.SHA256, true)
			if err != nil {
				t.Fatalf("Open(verify): %v", err)
			}
			defer rc.Close()
			var got []byte
			buf := make([]byte, 4096)
			for {
				n, err := rc.Read(buf)
				got = append(got, buf[:n]...)
				if err == nil {
					continue
				}
				if !errors.Is(err, auditshot.ErrBlobCorrupt) {
					t.Fatalf("Read after %d bytes: %v, want ErrBlobCorrupt", len(got), err)
				}
				if len(got) != len(onDisk) {
					t.Fatalf("ErrBlobCorrupt after %d bytes, want it at the end, after %d", len(got), len(onDisk))
				}
				wantCode(t, err, auditshot.EINTERNAL)
				if !strings.Contains(auditshot.ErrorMessage(err), a.SHA256) {
					t.Errorf("message %q does not name the blob", auditshot.ErrorMessage(err))
				}
				break
			}
			if _, err := rc.Read(buf); !errors.Is(err, auditshot.ErrBlobCorrupt) {
				t.Errorf("Read after the end = %v, want ErrBlobCorrupt again", err)
			}

			if got := mustRead(t, s, a.SHA256, false); !bytes.Equal(got, onDisk) {
				t.Errorf("Open without verify returned %d bytes, want the %d on disk", len(got), len(onDisk))
			}
		})
	}
}

func TestStat(t *testing.T) {
	t.Run("MissingSidecar", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		a := mustPut(t, s, []byte("abc"), "text/plain")
		if err := os.Remove(blobPath(s.Dir(), a.SHA256) + ".json"); err != nil {
			t.Fatal(err)
		}
		st, err := s.Stat(t.Context(), a.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if st.SHA256 != a.SHA256 || st.Size != 3 || st.MediaType != "application/octet-stream" {
			t.Errorf("Stat without sidecar = %+v, want size 3, application/octet-stream", st)
		}
		if got := mustRead(t, s, a.SHA256, true); string(got) != "abc" {
			t.Errorf("read %q, want abc", got)
		}
	})
}

// TestBadRequests checks the error contract of every method taking a hash.
func TestBadRequests(t *testing.T) {
	s := mustOpen(t, file.Config{})
	ops := map[string]func(sha string) error{
		"Open": func(sha string) error {
			rc, _, err := s.Open(t.Context(), sha, true)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"Stat":   func(sha string) error { _, err := s.Stat(t.Context(), sha); return err },
		"Delete": func(sha string) error { return s.Delete(t.Context(), sha) },
		"Hold":   func(sha string) error { return s.Hold(t.Context(), sha, true) },
		"Unhold": func(sha string) error { return s.Hold(t.Context(), sha, false) },
		"Held":   func(sha string) error { _, err := s.Held(t.Context(), sha); return err },
	}
	missing := sum([]byte("never stored"))
	bad := []string{"", "abc", strings.ToUpper(missing), missing[:63] + "g", missing + "0", "../../../../etc/passwd" + missing[:42], missing[:60] + "/../"}
	for name, op := range ops {
		t.Run(name+"/ErrInvalid", func(t *testing.T) {
			for _, sha := range bad {
				if err := op(sha); auditshot.ErrorCode(err) != auditshot.EINVALID {
					t.Errorf("%s(%q) = %v, want EINVALID", name, sha, err)
				}
			}
		})
		t.Run(name+"/ErrNotFound", func(t *testing.T) {
			err := op(missing)
			wantCode(t, err, auditshot.ENOTFOUND)
			if !strings.Contains(auditshot.ErrorMessage(err), missing) {
				t.Errorf("message %q does not name the blob", auditshot.ErrorMessage(err))
			}
		})
	}
}

func TestDelete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		a := mustPut(t, s, []byte("expired"), "text/plain")
		b := mustPut(t, s, []byte("kept"), "text/plain")
		if err := s.Delete(t.Context(), a.SHA256); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(t.Context(), a.SHA256); auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
			t.Errorf("Stat after Delete = %v, want ENOTFOUND", err)
		}
		if _, _, err := s.Open(t.Context(), a.SHA256, false); auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
			t.Errorf("Open after Delete = %v, want ENOTFOUND", err)
		}
		wantCode(t, s.Delete(t.Context(), a.SHA256), auditshot.ENOTFOUND)
		if diff := cmp.Diff(files(t, s.Dir()), blobFiles(b.SHA256)); diff != "" {
			t.Errorf("files (-got +want):\n%s", diff)
		}
		// The same content may be stored again.
		if c := mustPut(t, s, []byte("expired"), "text/plain"); c.SHA256 != a.SHA256 {
			t.Errorf("Put after Delete = %s, want %s", c.SHA256, a.SHA256)
		}
	})

	t.Run("ErrForbiddenWhenHeld", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		a := mustPut(t, s, []byte("evidence"), "text/plain")
		if held, err := s.Held(t.Context(), a.SHA256); err != nil || held {
			t.Fatalf("Held before Hold = %t, %v; want false", held, err)
		}
		for range 2 { // placing a hold twice is one hold
			if err := s.Hold(t.Context(), a.SHA256, true); err != nil {
				t.Fatal(err)
			}
		}
		if held, err := s.Held(t.Context(), a.SHA256); err != nil || !held {
			t.Fatalf("Held after Hold = %t, %v; want true", held, err)
		}
		err := s.Delete(t.Context(), a.SHA256)
		wantCode(t, err, auditshot.EFORBIDDEN)
		if !strings.Contains(auditshot.ErrorMessage(err), "legal hold") {
			t.Errorf("message %q does not say why", auditshot.ErrorMessage(err))
		}
		if got := mustRead(t, s, a.SHA256, true); string(got) != "evidence" {
			t.Errorf("held blob reads %q", got)
		}

		// A hold survives reopening the store.
		dir := s.Dir()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, file.Config{Dir: dir})
		wantCode(t, s.Delete(t.Context(), a.SHA256), auditshot.EFORBIDDEN)

		for range 2 {
			if err := s.Hold(t.Context(), a.SHA256, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(t.Context(), a.SHA256); err != nil {
			t.Fatalf("Delete after lifting the hold: %v", err)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("files left: %v", got)
		}
	})
}
