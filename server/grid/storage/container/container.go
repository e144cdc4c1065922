// Package container reads and writes share container files in the on-disk
// formats used by Tahoe-LAFS storage servers, so that a CommunityCube
// storage node can serve shares written by Tahoe and vice versa.
//
// A container wraps the share bytes a client uploaded with the server's own
// bookkeeping: a header and the leases (who wants the share kept, and until
// when). There are two families:
//
//   - Immutable containers (versions 1 and 2): a 12-byte header, the share
//     data, then 72-byte lease records. Version 2 stores lease secrets hashed
//     with BLAKE2b-256 instead of in the clear.
//   - Mutable containers (versions 1 and 2, distinguished by a 32-byte magic
//     string): a 100-byte header holding the write enabler, four 92-byte
//     lease slots, the share data, then a count of extra leases and the extra
//     lease records. Version 2 hashes lease secrets like immutable v2.
//
// All integers are big-endian. Layout details are in
// docs/spec/storage-protocol.md. The package works on any random-access File
// (a disk file, or whatever a future object-store backend provides) and does
// no locking or syncing: callers serialize access and decide when to sync.
//
// Parsing is defensive: every length and offset read from a file is checked
// against the file size before use, so a corrupt or hostile file yields an
// error rather than a panic or a huge allocation (see the fuzz test).
package container

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/blake2b"
)

// File is the random-access storage a container lives in.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Size returns the current size of the file in bytes.
	Size() (int64, error)
}

// Kind says which container family a file holds.
type Kind int

// Container kinds.
const (
	KindUnknown Kind = iota
	KindImmutable
	KindMutable
)

func (k Kind) String() string {
	switch k {
	case KindImmutable:
		return "immutable"
	case KindMutable:
		return "mutable"
	}
	return "unknown"
}

// ErrCorrupt is wrapped by errors about malformed container files.
var ErrCorrupt = errors.New("container: corrupt share container")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// DetectKind classifies a container by its first 32 bytes (fewer bytes are
// allowed; they just classify as unknown more often). Mutable containers are
// recognised by their magic; anything whose first four bytes are immutable
// version 1 or 2 is immutable, which is the same rule Tahoe uses.
func DetectKind(header []byte) Kind {
	if len(header) >= len(MutableMagicV1) {
		var m [32]byte
		copy(m[:], header)
		if m == MutableMagicV1 || m == MutableMagicV2 {
			return KindMutable
		}
	}
	if len(header) >= 4 {
		switch binary.BigEndian.Uint32(header) {
		case 1, 2:
			return KindImmutable
		}
	}
	return KindUnknown
}

// DetectFileKind reads the start of f and classifies it.
func DetectFileKind(f File) (Kind, error) {
	buf := make([]byte, 32)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return KindUnknown, err
	}
	return DetectKind(buf[:n]), nil
}

// Lease is one lease record as stored. For version-2 containers the secrets
// are BLAKE2b-256 hashes of what the client sent; for version 1 they are the
// client's values.
type Lease struct {
	// Owner is the owner number; 0 marks an empty slot in mutable
	// containers, and is what Tahoe records for leases added at immutable
	// allocation time.
	Owner        uint32
	RenewSecret  [32]byte
	CancelSecret [32]byte
	// Expiration is in seconds since the Unix epoch (a 32-bit field in both
	// formats).
	Expiration uint32
	// NodeID is the 20-byte identifier of the server that accepted the
	// lease (mutable containers only).
	NodeID [20]byte
}

// ExpiresAt returns the expiration as a time.
func (l Lease) ExpiresAt() time.Time { return time.Unix(int64(l.Expiration), 0) }

// HashSecret is the one-way function version-2 containers apply to lease
// secrets before storing them, so that reading a server's disk does not
// reveal secrets usable against other servers.
func HashSecret(secret []byte) [32]byte { return blake2b.Sum256(secret) }

// storedForm converts a client secret into what a container of the given
// hashing mode stores.
func storedForm(secret []byte, hashed bool) [32]byte {
	if hashed {
		return HashSecret(secret)
	}
	var out [32]byte
	copy(out[:], secret)
	return out
}

// secretMatches compares a client secret against a stored one in constant
// time.
func secretMatches(stored [32]byte, secret []byte, hashed bool) bool {
	if !hashed && len(secret) != 32 {
		return false
	}
	s := storedForm(secret, hashed)
	return subtle.ConstantTimeCompare(stored[:], s[:]) == 1
}

// LeaseRequest describes a lease a client asked for, with cleartext secrets.
type LeaseRequest struct {
	RenewSecret  []byte
	CancelSecret []byte
	Expiration   uint32
	Owner        uint32
	NodeID       [20]byte
}

// LatestExpiration returns the latest expiration among leases and whether
// there was any lease at all.
func LatestExpiration(leases []Lease) (uint32, bool) {
	var max uint32
	for _, l := range leases {
		if l.Expiration > max {
			max = l.Expiration
		}
	}
	return max, len(leases) > 0
}

// ExpirationFor converts a time to the 32-bit lease expiration field,
// saturating at the field's limits (the format runs out in 2106).
func ExpirationFor(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	if s > int64(^uint32(0)) {
		return ^uint32(0)
	}
	return uint32(s)
}

func readFull(f File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func writeFull(f File, p []byte, off int64) error {
	n, err := f.WriteAt(p, off)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	return err
}

var zeros [64 << 10]byte

// writeZeros fills [off, off+n) with zero bytes without allocating n bytes.
func writeZeros(f File, off, n int64) error {
	for n > 0 {
		c := int64(len(zeros))
		if n < c {
			c = n
		}
		if err := writeFull(f, zeros[:c], off); err != nil {
			return err
		}
		off += c
		n -= c
	}
	return nil
}
