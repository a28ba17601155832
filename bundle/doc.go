// Package bundle writes and verifies auditshot evidence bundles: zip
// archives an auditor takes away and checks offline, without trusting
// whoever runs auditshot (DESIGN.md, "Evidence bundle").
//
// A bundle holds:
//
//	manifest.json      format version, origin, selection, range, every other file with its SHA-256 and size (written last)
//	checkpoint         the signed note covering every included entry
//	keys/              verifier keys (note vkey text), named "<fingerprint>.vkey"
//	entries/           the raw entry bytes, one file per entry, named by zero-padded index (EntryName)
//	proofs/            inclusion proofs (c2sp.org/tlog-proof), the entry's name + ".tlog-proof" (ProofName)
//	range.proof        completeness of an exported index range, when the export is a range
//	blobs/sha256/      the artifacts the entries refer to, named by hex SHA-256 (BlobName)
//	anchors/           RFC 3161 tokens over earlier checkpoints (<n>.tst), those checkpoints
//	                   (<n>.checkpoint) and their consistency proofs to the bundle's checkpoint
//	report.html        the human report: cover (scope, period, checkpoint, key), each run
//	                   (agent, timeline, before/after images), other entries, how to verify
//	report.pdf         the same report printed, when WriteOptions.PrintPDF is set
//
// With the TSA's root certificates (VerifyOptions.TSARoots) Verify checks
// every anchor and that each entry's claimed time lies in the window the
// anchors allow, so back-dating is detected.
//
// The human report is generated from the entries being written. report.html
// is self-contained (inline CSS, no script, a Content-Security-Policy that
// forbids fetches) and shows the bundle's own blobs by relative path, so it
// opens from the unzipped folder; all entry data is escaped text. It is the
// same bytes for the same contents and Generator. report.pdf is whatever
// WriteOptions.PrintPDF returns for a variant with the images inlined, so it
// is not reproducible byte for byte. Verify checks both reports' manifest
// hashes and lists them as unchecked: the report is a reading aid, the
// entries are the evidence.
//
// The manifest is not signed. Trust comes from the checkpoint's signature by
// a key the auditor holds, the proofs that bind each entry to it, and the
// hashes in the entries that bind the blobs; the manifest only makes any
// added, removed or altered file visible by name.
//
// Writing, verifying and printing the outcome (as `auditshot verify BUNDLE
// [--key VKEY]` does):
//
//	err := bundle.Write(ctx, zipFile, bundle.Contents{
//		Origin:     origin,
//		Checkpoint: signedCheckpoint,
//		Keys:       []string{logVKey},
//		Entries:    entries, // {Index, Bytes, Proof} from the store
//		Range:      rangeProof, // nil unless a range was exported
//		Selection:  json.RawMessage(`{"runs":["run_1"]}`),
//		Blobs:      func(ctx context.Context, sha string) (io.ReadCloser, error) { ... },
//	}, bundle.WriteOptions{Progress: bar})
//
//	rep, err := bundle.Verify(ctx, f, size, bundle.VerifyOptions{Keys: keysFromFlag})
//	fmt.Print(rep.Summary())
//	if err != nil { // errors.Is(err, bundle.ErrFailed): the bundle does not verify; exit 1
//		...
//	}
//
// CheckConsistency compares two checkpoints an auditor holds and reports a
// forked history (ErrFork).
package bundle
