package bundle

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/auditshot/auditshot/ledger"
)

// FormatVersion is the value of the manifest's "format" member for bundles
// this package writes and verifies.
const FormatVersion = "auditshot.dev/bundle@v1"

// File names and directories of a bundle (DESIGN.md, "Evidence bundle").
const (
	ManifestFile   = "manifest.json"     // written last; lists every other file
	CheckpointFile = "checkpoint"        // the signed checkpoint covering every entry
	RangeProofFile = "range.proof"       // completeness of an exported range
	KeysDir        = "keys/"             // verifier keys, "<fingerprint>.vkey"
	EntriesDir     = "entries/"          // raw entry bytes, named by EntryName
	ProofsDir      = "proofs/"           // inclusion proofs, named by ProofName
	BlobsDir       = "blobs/sha256/"     // artifacts, named by their hex SHA-256
	ProofExt       = ".tlog-proof"       // the extension of inclusion proofs
	KeyExt         = ".vkey"             // the extension of verifier keys
	indexDigits    = 20                  // digits of a zero-padded entry index
	anchorsDir     = "anchors/"          // RFC 3161 time anchors (see AnchorName)
	reportPrefix   = "report."           // report.html, report.pdf and later reports (hash only)
	maxManifest    = 256 << 20           // largest manifest Verify reads
	maxSmallFile   = ledger.MaxProofSize // largest checkpoint, key or proof file
	maxEntryFile   = ledger.MaxEntrySize // largest entry file
	sha256HexChars = 64                  // length of a hex SHA-256
)

// Manifest is the content of manifest.json. It is not signed: it binds the
// files together by hash, while the checkpoint signature and the proofs bind
// the entries to the log, and the entries bind the blobs.
type Manifest struct {
	// Format is FormatVersion.
	Format string `json:"format"`
	// Origin is the log the entries belong to; the checkpoint MUST be of
	// this origin.
	Origin string `json:"origin"`
	// Selection is what was exported (for example runs, or an index range),
	// as the exporter describes it. It is informational and not verified.
	Selection json.RawMessage `json:"selection,omitempty"`
	// Range is the exported index range, when the export is a range; the
	// bundle then MUST hold range.proof for it.
	Range *Range `json:"range,omitempty"`
	// Files lists every file of the bundle but manifest.json, once each,
	// sorted by path. Anchor files are verified with the auditor's TSA
	// roots; other files under anchors/ are reserved for later versions,
	// and report.* are the human report (ReportHTMLFile, ReportPDFFile):
	// Verify checks their hashes but not their content.
	Files []File `json:"files"`
}

// Range is a half-open range [Start, End) of log indexes.
type Range struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// File is a manifest line: a file of the bundle with its SHA-256 and size.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// EntryName returns the path of entry index in a bundle, for example
// "entries/00000000000000000042".
func EntryName(index int64) string { return EntriesDir + padIndex(index) }

// ProofName returns the path of the inclusion proof of entry index.
func ProofName(index int64) string { return ProofsDir + padIndex(index) + ProofExt }

// padIndex writes a non-negative index with indexDigits digits.
func padIndex(index int64) string {
	s := strconv.FormatInt(index, 10)
	if len(s) >= indexDigits || index < 0 {
		return s
	}
	return strings.Repeat("0", indexDigits-len(s)) + s
}

// BlobName returns the path of the blob with the given hex SHA-256.
func BlobName(sha256 string) string { return BlobsDir + sha256 }

// kind is the role of a path in a bundle.
type kind int

const (
	kindUnknown kind = iota
	kindManifest
	kindCheckpoint
	kindRange
	kindKey
	kindEntry
	kindProof
	kindBlob
	kindAnchor
	kindReserved
)

// classify returns the role of a bundle path and, for entries and proofs,
// the index it names, or for blobs the hash.
func classify(p string) (k kind, index int64, sha string) {
	switch {
	case p == ManifestFile:
		return kindManifest, 0, ""
	case p == CheckpointFile:
		return kindCheckpoint, 0, ""
	case p == RangeProofFile:
		return kindRange, 0, ""
	case strings.HasPrefix(p, KeysDir):
		name := strings.TrimPrefix(p, KeysDir)
		if strings.HasSuffix(name, KeyExt) && len(name) > len(KeyExt) && !strings.Contains(name, "/") {
			return kindKey, 0, ""
		}
	case strings.HasPrefix(p, EntriesDir):
		if i, ok := parseIndex(strings.TrimPrefix(p, EntriesDir)); ok {
			return kindEntry, i, ""
		}
	case strings.HasPrefix(p, ProofsDir):
		name, ok := strings.CutSuffix(strings.TrimPrefix(p, ProofsDir), ProofExt)
		if i, ok2 := parseIndex(name); ok && ok2 {
			return kindProof, i, ""
		}
	case strings.HasPrefix(p, BlobsDir):
		if h := strings.TrimPrefix(p, BlobsDir); isHexSHA256(h) {
			return kindBlob, 0, h
		}
	case strings.HasPrefix(p, anchorsDir):
		if _, _, ok := parseAnchorName(p); ok {
			return kindAnchor, 0, ""
		}
		if len(p) > len(anchorsDir) {
			return kindReserved, 0, ""
		}
	case strings.HasPrefix(p, reportPrefix) && !strings.Contains(p, "/"):
		return kindReserved, 0, ""
	}
	return kindUnknown, 0, ""
}

// parseIndex parses a zero-padded index of exactly indexDigits digits.
func parseIndex(s string) (int64, bool) {
	if len(s) != indexDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func isHexSHA256(s string) bool {
	if len(s) != sha256HexChars {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// checkPath reports why p is not an acceptable path inside a bundle: it
// MUST be a clean, relative, slash-separated path without "." or ".."
// elements, backslashes or control characters.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("absolute path %q", p)
	case strings.Contains(p, "\\"):
		return fmt.Errorf("path %q contains a backslash", p)
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("path %q contains a control character", p)
	case !fs.ValidPath(p):
		return fmt.Errorf("path %q is not clean (\"..\", \".\" or empty elements)", p)
	}
	return nil
}
