// Package tesseradiff holds a differential test, and nothing else: the same
// entries appended to auditshot's ledger math in memory (package ledger, over
// x/mod/sumdb/tlog), to the SQLite store (package sqlite) and to a Tessera
// POSIX log (github.com/transparency-dev/tessera, an independent
// implementation of the same RFC 6962 / c2sp.org/tlog-tiles log) MUST give
// the same root hashes and the same inclusion and consistency proofs, and
// every proof MUST verify with transparency-dev/merkle against every log's
// root.
//
// Tessera is a test-only dependency of auditshot: only this package's
// tests and the ledger benchmark (internal/benchledger) import it.
package tesseradiff
