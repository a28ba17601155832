package bundle

import (
	"maps"
	"slices"

	"github.com/auditshot/auditshot/ledger"
)

// checkRange checks the completeness of a range export.
func (v *verifier) checkRange() {
	v.rep.Range = v.m.Range
	rb, ok := v.small[RangeProofFile]
	if !ok {
		if v.m.Range != nil {
			v.problem(ErrRange, RangeProofFile, NoIndex, "", nil, "manifest states range [%d, %d) but the range proof is missing or unreadable", v.m.Range.Start, v.m.Range.End)
		}
		return
	}
	rp, err := ledger.ParseRangeProof(rb)
	if err != nil {
		v.problem(ErrRange, RangeProofFile, NoIndex, "", err, "%v", err)
		return
	}
	v.rep.Range = &Range{Start: rp.Start, End: rp.End}
	if m := v.m.Range; m != nil && (m.Start != rp.Start || m.End != rp.End) {
		v.problem(ErrRange, ManifestFile, NoIndex, "", nil, "manifest states range [%d, %d), the proof [%d, %d)", m.Start, m.End, rp.Start, rp.End)
	}
	if v.cp != nil && rp.Size != v.cp.Size {
		v.problem(ErrRange, RangeProofFile, NoIndex, "", nil, "proof is for a tree of %d entries, the checkpoint of %d", rp.Size, v.cp.Size)
		return
	}
	complete := true
	next := rp.Start
	for _, i := range v.idx {
		switch {
		case i < rp.Start || i >= rp.End:
			v.problem(ErrRange, EntryName(i), i, "", nil, "entry outside the exported range [%d, %d)", rp.Start, rp.End)
			complete = false
			continue
		case i > next:
			v.missing(next, i)
			complete = false
		}
		next = i + 1
	}
	if next < rp.End {
		v.missing(next, rp.End)
		complete = false
	}
	if !complete || v.cp == nil {
		return
	}
	// Complete: v.idx is exactly [rp.Start, rp.End), and v.leaves their
	// leaf hashes.
	if err := ledger.VerifyRange(rp.Start, rp.End, rp.Size, v.leaves, rp.Hashes, v.cp.Hash); err != nil {
		v.problem(ErrRange, RangeProofFile, NoIndex, "", err, "%v", err)
		return
	}
	v.rep.RangeComplete = true
}

// missing reports entries [from, to) missing from a range export.
func (v *verifier) missing(from, to int64) {
	if to-from == 1 {
		v.problem(ErrRange, EntryName(from), from, "", nil, "entry missing from the exported range")
		return
	}
	v.problem(ErrRange, EntryName(from), from, "", nil, "entries %d to %d missing from the exported range", from, to-1)
}

// checkBlobs checks every artifact the entries refer to.
func (v *verifier) checkBlobs() {
	gone := map[string]bool{}
	for _, e := range v.entries {
		for _, s := range Tombstoned(e) {
			gone[s] = true
		}
	}
	referenced, reported, tomb := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, i := range slices.Sorted(maps.Keys(v.entries)) {
		e := v.entries[i]
		if e.Type == ledger.TypeTombstone {
			continue
		}
		for _, a := range e.Artifacts {
			referenced[a.SHA256] = true
			got, ok := v.blobs[a.SHA256]
			switch {
			case !ok && gone[a.SHA256]:
				tomb[a.SHA256] = true
			case reported[a.SHA256]:
			case !ok:
				reported[a.SHA256] = true
				v.problem(ErrBlob, BlobName(a.SHA256), i, a.SHA256, nil, "artifact missing from the bundle (and no tombstone records its deletion)")
			case got.SHA256 != a.SHA256:
				reported[a.SHA256] = true
				v.problem(ErrBlob, BlobName(a.SHA256), i, a.SHA256, nil, "content has SHA-256 %s", got.SHA256)
			case got.Size != a.Size:
				reported[a.SHA256] = true
				v.problem(ErrBlob, BlobName(a.SHA256), i, a.SHA256, nil, "content is %d bytes, the entry says %d", got.Size, a.Size)
			}
		}
	}
	for _, sha := range slices.Sorted(maps.Keys(v.blobs)) {
		switch {
		case !referenced[sha] && !gone[sha]:
			v.layout(BlobName(sha), "blob not referred to by any entry of the bundle")
		case !reported[sha] && v.blobs[sha].SHA256 == sha:
			v.rep.Blobs++
		}
	}
	v.rep.Tombstoned = len(tomb)
}
