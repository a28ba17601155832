package file_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/auditshot/auditshot/file"
)

// BenchmarkPut stores new content each iteration, durably (fsyncs included).
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := mustOpen(b, file.Config{})
			data := content(1, size)
			b.SetBytes(int64(size))
			var i uint64
			for b.Loop() {
				i++
				binary.LittleEndian.PutUint64(data, i) // new content each time
				if _, err := s.Put(b.Context(), bytes.NewReader(data), "application/octet-stream"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutExisting stores content already stored: hashing and a
// temporary file, no rename.
func BenchmarkPutExisting(b *testing.B) {
	s := mustOpen(b, file.Config{})
	data := content(1, 1<<20)
	mustPut(b, s, data, "application/octet-stream")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.Put(b.Context(), bytes.NewReader(data), "application/octet-stream"); err != nil {
			b.Fatal(err)
		}
	}
}
