// Package visualdiff compares the "before" and "after" screenshots of an
// agent's action and fingerprints screenshots with perceptual hashes, so that
// an auditor can see at a glance what an action changed on the page.
//
// Diff compares two images pixel by pixel with a perceptual colour distance
// (the YIQ distance of pixelmatch), so JPEG noise and faint antialiasing do
// not count as changes. Changed pixels are grouped into regions (bounding
// boxes of connected changed areas, nearby changes merged) and drawn onto a
// faded copy of the after image, the diff artifact a capture stores.
//
// PHash and DHash compute 64-bit perceptual hashes; Distance is the number of
// bits in which two hashes differ: 0 for the same picture, up to about 8 for
// the same page re-encoded or slightly re-rendered, more for different pages.
//
// Like package ledger, visualdiff is pure computation: it does no I/O, holds
// no state and is safe for concurrent use.
package visualdiff
