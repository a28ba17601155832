package bundle_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/auditshot/auditshot/bundle"
)

// FuzzVerify checks that Verify never panics and always returns a Report,
// on random bytes and on mutations of valid bundles.
func FuzzVerify(f *testing.F) {
	l := newTestLog(f)
	cp := l.checkpoint(logSize)
	f.Add(write(f, l.contents(logSize, cp, 1, 12)))
	f.Add(write(f, l.rangeContents(4, 7, logSize, cp)))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	vkey := l.vkey
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := bundle.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: []string{vkey}})
		if rep == nil {
			t.Fatal("nil Report")
		}
		if (err == nil) != rep.OK() {
			t.Fatalf("error %v but OK() = %v", err, rep.OK())
		}
		_ = rep.Summary()
	})
}

// FuzzVerifyMember replaces one member of a valid range bundle with fuzzed
// bytes, optionally with the manifest fixed up, so that the fuzzer reaches
// the manifest, proof, entry and checkpoint checks behind the zip layer.
func FuzzVerifyMember(f *testing.F) {
	l := newTestLog(f)
	cp := l.checkpoint(logSize)
	files := unzip(f, write(f, l.rangeContents(4, 8, logSize, cp)))
	for i, m := range files {
		f.Add(uint8(i), true, m.data)
	}
	f.Add(uint8(len(files)-1), false, []byte(`{"format":"auditshot.dev/bundle@v1","files":[{"path":"../x","sha256":"","size":-1}]}`))
	vkey := l.vkey
	f.Fuzz(func(t *testing.T, which uint8, fix bool, data []byte) {
		fs := slices.Clone(files)
		fs[int(which)%len(fs)].data = data
		b := rezip(t, fs, fix && fs[int(which)%len(fs)].name != bundle.ManifestFile)
		rep, err := bundle.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), bundle.VerifyOptions{Keys: []string{vkey}})
		if rep == nil || (err == nil) != rep.OK() {
			t.Fatalf("report %v, error %v", rep, err)
		}
		// The manifest is unsigned: its selection and spelling may change.
		if err == nil && fs[int(which)%len(fs)].name != bundle.ManifestFile && !bytes.Equal(data, files[int(which)%len(files)].data) {
			t.Fatalf("a changed %s verified:\n%s", fs[int(which)%len(fs)].name, rep.Summary())
		}
	})
}
