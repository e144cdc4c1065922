package chk

import (
	"errors"
	"fmt"
)

// Region names a part of a share file.
type Region int

// Share regions, for error reports.
const (
	RegionHeader          Region = iota // version and offset table
	RegionUEB                           // URI extension block and its length
	RegionShareHashes                   // share hash chain
	RegionBlockHashes                   // block hash tree
	RegionCrypttextHashes               // crypttext hash tree
	RegionBlock                         // a data block
)

func (r Region) String() string {
	switch r {
	case RegionHeader:
		return "header"
	case RegionUEB:
		return "URI extension block"
	case RegionShareHashes:
		return "share hash chain"
	case RegionBlockHashes:
		return "block hash tree"
	case RegionCrypttextHashes:
		return "crypttext hash tree"
	case RegionBlock:
		return "data block"
	}
	return fmt.Sprintf("Region(%d)", int(r))
}

// CorruptShareError reports that share Shnum failed validation. Offset and
// Length locate the bad bytes in the share (for an advise-corrupt report to
// the server); Segment is the segment number for RegionBlock and the hash
// tree regions, else -1.
type CorruptShareError struct {
	Shnum   int
	Region  Region
	Segment int
	Offset  int64
	Length  int64
	Err     error
}

func (e *CorruptShareError) Error() string {
	seg := ""
	if e.Segment >= 0 {
		seg = fmt.Sprintf(" (segment %d)", e.Segment)
	}
	return fmt.Sprintf("chk: share %d corrupt in %s%s at [%d,+%d): %v", e.Shnum, e.Region, seg, e.Offset, e.Length, e.Err)
}

func (e *CorruptShareError) Unwrap() error { return e.Err }

// ShareReadError reports that share Shnum could not be read (missing,
// server down, truncated...). It says nothing about the share's integrity.
type ShareReadError struct {
	Shnum int
	Err   error
}

func (e *ShareReadError) Error() string {
	return fmt.Sprintf("chk: share %d unreadable: %v", e.Shnum, e.Err)
}

func (e *ShareReadError) Unwrap() error { return e.Err }

var (
	// ErrNotEnoughShares is returned (joined with each share's own error)
	// when fewer than k usable shares remain.
	ErrNotEnoughShares = errors.New("chk: not enough good shares")
	// ErrCiphertextHash means k shares that each verified decoded to
	// ciphertext that contradicts the UEB. Only a faulty or malicious
	// uploader can cause it; no share is to blame.
	ErrCiphertextHash = errors.New("chk: decoded ciphertext does not match the crypttext hash tree")
)
