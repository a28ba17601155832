package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditshot/auditshot"
	"github.com/auditshot/auditshot/file"
	"github.com/google/go-cmp/cmp"
)

func TestPut(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC)
		s := mustOpen(t, file.Config{Now: func() time.Time { return now }})
		for _, n := range []int{0, 1, 1000, 128 << 10, 1<<20 + 7} { // empty, small, one chunk, many chunks
			data := content(uint64(n), n)
			a := mustPut(t, s, data, "image/png")
			want := auditshot.Artifact{SHA256: sum(data), Size: int64(n), MediaType: "image/png", CreatedAt: now}
			if diff := cmp.Diff(a, want); diff != "" {
				t.Fatalf("Put(%d bytes) (-got +want):\n%s", n, diff)
			}
			st, err := s.Stat(t.Context(), a.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st, want); diff != "" {
				t.Errorf("Stat (-got +want):\n%s", diff)
			}
			for _, verify := range []bool{true, false} {
				if got := mustRead(t, s, a.SHA256, verify); !bytes.Equal(got, data) {
					t.Errorf("Open(verify=%t) returned %d bytes that differ from the %d stored", verify, len(got), n)
				}
			}
		}
	})

	t.Run("StoredOnce", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		data := []byte("refund approved, $500, customer 42")
		a := mustPut(t, s, data, "text/plain")
		path := blobPath(s.Dir(), a.SHA256)
		before, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		metaBefore, err := os.Stat(path + ".json")
		if err != nil {
			t.Fatal(err)
		}
		b := mustPut(t, s, data, "text/plain")
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("second Put (-got +want):\n%s", diff)
		}
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		metaAfter, err := os.Stat(path + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
			t.Errorf("second Put rewrote the content: inode or modification time changed")
		}
		if !os.SameFile(metaBefore, metaAfter) || !metaBefore.ModTime().Equal(metaAfter.ModTime()) {
			t.Errorf("second Put rewrote the sidecar: inode or modification time changed")
		}
		if diff := cmp.Diff(files(t, s.Dir()), blobFiles(a.SHA256)); diff != "" {
			t.Errorf("files (-got +want):\n%s", diff)
		}
	})

	t.Run("ReadOnly", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		a := mustPut(t, s, []byte("<html></html>"), "text/html")
		for _, p := range []string{blobPath(s.Dir(), a.SHA256), blobPath(s.Dir(), a.SHA256) + ".json"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o444 {
				t.Errorf("%s has mode %v, want 0444", p, got)
			}
		}
	})

	// The first media type of some content wins: the second Put returns
	// the stored artifact and changes nothing.
	t.Run("FirstMediaTypeWins", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		data := []byte(`{"a":1}`)
		a := mustPut(t, s, data, "application/json")
		b := mustPut(t, s, data, "text/plain; charset=utf-8")
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("Put with another media type (-got +want):\n%s", diff)
		}
		st, err := s.Stat(t.Context(), a.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if st.MediaType != "application/json" {
			t.Errorf("Stat media type = %q, want the first, application/json", st.MediaType)
		}
	})

	t.Run("ErrInvalidMediaType", func(t *testing.T) {
		s := mustOpen(t, file.Config{})
		for _, mt := range []string{"", "not a media type", "image/" + strings.Repeat("x", 300)} {
			_, err := s.Put(t.Context(), strings.NewReader("x"), mt)
			wantCode(t, err, auditshot.EINVALID)
		}
		if got := files(t, s.Dir()); len(got) != 0 {
			t.Errorf("files left: %v", got)
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		s := mustOpen(t, file.Config{MaxBlobSize: 1024})
		a := mustPut(t, s, content(1, 1024), "application/octet-stream")
		_, err := s.Put(t.Context(), bytes.NewReader(content(2, 1025)), "application/octet-stream")
		wantCode(t, err, auditshot.EINVALID)
		if msg := auditshot.ErrorMessage(err); !strings.Contains(msg, "1024 bytes") {
			t.Errorf("message %q does not name the limit", msg)
		}
		if diff := cmp.Diff(files(t, s.Dir()), blobFiles(a.SHA256)); diff != "" {
			t.Errorf("files (-got +want):\n%s", diff)
		}
	})

	t.Run("DefaultMaxBlobSize", func(t *testing.T) {
		if file.DefaultMaxBlobSize != 2<<30 {
			t.Errorf("DefaultMaxBlobSize = %d, want 2 GiB", file.DefaultMaxBlobSize)
		}
	})
}

// failingReader returns n bytes of data, then err.
type failingReader struct {
	data []byte
	n    int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	m := min(len(p), r.n, len(r.data))
	copy(p, r.data[:m])
	r.data, r.n = r.data[m:], r.n-m
	return m, nil
}

// cancellingReader returns its data in chunks and calls cancel after the
// first.
type cancellingReader struct {
	data   []byte
	cancel func()
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	m := min(len(p), 1000, len(r.data))
	copy(p, r.data[:m])
	r.data = r.data[m:]
	r.cancel()
	return m, nil
}

func TestPutFailure(t *testing.T) {
	errBroken := errors.New("connection reset")
	data := content(7, 300<<10)
	for _, tc := range []struct {
		name   string
		reader func(cancel func()) io.Reader
		code   string
		is     error
	}{
		{"ReaderError", func(func()) io.Reader { return &failingReader{data: data, n: 200 << 10, err: errBroken} }, auditshot.EINVALID, errBroken},
		{"ReaderAppError", func(func()) io.Reader {
			return &failingReader{data: data, n: 10, err: auditshot.Errorf(auditshot.EQUOTA, "quota exceeded")}
		}, auditshot.EQUOTA, nil},
		{"ReaderUnexpectedEOF", func(func()) io.Reader { return &failingReader{data: data, n: 5, err: io.ErrUnexpectedEOF} }, auditshot.EINVALID, io.ErrUnexpectedEOF},
		{"Cancelled", func(cancel func()) io.Reader { cancel(); return bytes.NewReader(data) }, auditshot.EUNAVAILABLE, context.Canceled},
		{"CancelledMidway", func(cancel func()) io.Reader { return &cancellingReader{data: data, cancel: cancel} }, auditshot.EUNAVAILABLE, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, file.Config{})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := s.Put(ctx, tc.reader(cancel), "application/octet-stream")
			wantCode(t, err, tc.code)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if got := files(t, s.Dir()); len(got) != 0 {
				t.Errorf("files left after a failed Put: %v", got)
			}
			if _, err := s.Stat(t.Context(), sum(data)); auditshot.ErrorCode(err) != auditshot.ENOTFOUND {
				t.Errorf("Stat of the content = %v, want ENOTFOUND", err)
			}
		})
	}
}

func TestPutDeadline(t *testing.T) {
	s := mustOpen(t, file.Config{})
	ctx, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()
	_, err := s.Put(ctx, strings.NewReader("late"), "text/plain")
	wantCode(t, err, auditshot.ETIMEOUT)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if got := files(t, s.Dir()); len(got) != 0 {
		t.Errorf("files left: %v", got)
	}
}

func TestPutConcurrent(t *testing.T) {
	s := mustOpen(t, file.Config{})
	const workers = 16
	shared := content(99, 200<<10)
	var wg sync.WaitGroup
	got := make([]auditshot.Artifact, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			data := shared
			if i%2 == 1 {
				data = content(uint64(i), 50<<10+i)
			}
			got[i], errs[i] = s.Put(t.Context(), bytes.NewReader(data), fmt.Sprintf("application/x-test-%d", i))
		})
	}
	wg.Wait()
	var shas []string
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		shas = append(shas, got[i].SHA256)
		if i%2 == 0 && got[i] != got[0] {
			t.Errorf("Put %d of the shared content returned %+v, Put 0 returned %+v", i, got[i], got[0])
		}
	}
	if got[0].SHA256 != sum(shared) {
		t.Errorf("shared content stored as %s, want %s", got[0].SHA256, sum(shared))
	}
	if diff := cmp.Diff(files(t, s.Dir()), blobFiles(shas...)); diff != "" {
		t.Errorf("files (-got +want):\n%s", diff)
	}
	for _, a := range got {
		if b := mustRead(t, s, a.SHA256, true); int64(len(b)) != a.Size {
			t.Errorf("blob %s: read %d bytes, want %d", a.SHA256, len(b), a.Size)
		}
	}
}
