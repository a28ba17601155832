// Package ledger is the pure log math and formats of auditshot's evidence
// ledger: the canonical encoding of entries, RFC 6962 (SHA-256) Merkle
// hashing over tlog's stored-hash layout, checkpoints as C2SP signed notes,
// and inclusion, consistency and range (completeness) proofs with their
// text formats. The store, the ledger service and the offline verifier
// (`auditshot verify`) all use it, so that what is written and what is
// checked are the same code.
//
// It does no I/O and holds no state: stores supply hashes through
// HashReader, callers supply signers and verifiers.
//
// The invariants a log built on this package MUST keep:
//
//   - An entry is stored as the bytes Marshal returned and hashed with
//     LeafHash over exactly those bytes; it is never re-serialised. Parse
//     accepts only those bytes, so any other spelling of the same JSON is
//     refused rather than silently hashed differently.
//   - Leaves are only ever appended. Appending leaf n stores the hashes
//     StoredHashes returns at StoredHashIndex(0, n) onwards and changes no
//     earlier hash.
//   - A checkpoint of size n carries TreeHash(n) and is signed by the log's
//     key; verifiers accept it only with OpenCheckpoint.
//
// Formats (each has golden files under testdata/ so that it cannot drift
// silently): entries are canonical JSON (below, and Entry for the members),
// checkpoints follow c2sp.org/tlog-checkpoint, inclusion proofs
// c2sp.org/tlog-proof, and consistency and range proofs the line formats
// described at ConsistencyProof and RangeProof.
//
// # Canonical JSON
//
// An encoded entry is the one canonical JSON spelling of its value, and a
// canonical document MUST satisfy all of:
//
//   - No whitespace outside strings: none between tokens, none before or
//     after the value.
//   - Object members sorted by key, comparing the keys' UTF-8 bytes (which
//     is Unicode code point order); no key appears twice.
//   - Strings are valid UTF-8. Only '"', '\' and the control characters
//     U+0000..U+001F are escaped: as \", \\, \b, \f, \n, \r, \t, and
//     \u00xx (lowercase hex) for the other control characters. Everything
//     else, including '<', '>', '&', U+007F, U+2028 and U+2029, is literal
//     UTF-8. (This is the string form of RFC 8785.)
//   - Numbers are integers in [-(2^53-1), 2^53-1], written as 0 or as an
//     optional '-' and digits without leading zeros: no fraction, no
//     exponent, no -0. Fractional or larger values MUST be carried as
//     strings (for example "amount":"500.00"), so that every reader,
//     JavaScript's included, sees the same value; NaN and infinities do not
//     exist in JSON and so cannot occur.
//   - Objects and arrays nest at most 64 deep.
//
// Marshal writes this form; Parse accepts nothing else.
package ledger
