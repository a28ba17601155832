// Package archtest holds no code, only tests that keep the module's
// architecture as DESIGN.md draws it: every package has a doc comment, and
// project imports point one way, cmd -> adapters -> {ledger, bundle} ->
// auditshot, with adapters never importing each other.
package archtest
