package container

import (
	"encoding/binary"
	"io"
	"math"
)

// Immutable container layout (all fields big-endian):
//
//	0x00  4  container version: 1 (cleartext lease secrets) or 2 (hashed)
//	0x04  4  share data length, saturated at 2^32-1; unused since Tahoe 1.3
//	         and never trusted when reading
//	0x08  4  number of lease records
//	0x0c  A  share data
//	A+0x0c   lease records, 72 bytes each:
//	         owner(4) renew-secret(32) cancel-secret(32) expiration(4)
//
// The data length A is derived from the file size: size - 12 - 72*leases.
const (
	ImmutableHeaderSize = 0x0c
	ImmutableLeaseSize  = 72
	// ImmutableVersion is the version CreateImmutable writes.
	ImmutableVersion = 2
)

// Immutable is an open immutable share container.
type Immutable struct {
	f         File
	version   uint32
	numLeases uint32
	dataLen   int64
}

// CreateImmutable initialises an empty file as a version-2 container for a
// share of exactly size bytes, with one lease. The data region is left as a
// hole (sparse on most file systems) for the uploader to fill; the lease is
// written after it so that the file is parseable at every moment.
func CreateImmutable(f File, size int64, lease LeaseRequest) (*Immutable, error) {
	if size < 0 || size > math.MaxInt64-ImmutableHeaderSize-ImmutableLeaseSize {
		return nil, corrupt("invalid share size %d", size)
	}
	c := &Immutable{f: f, version: ImmutableVersion, dataLen: size}
	var hdr [ImmutableHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[0:], ImmutableVersion)
	binary.BigEndian.PutUint32(hdr[4:], uint32(min(size, math.MaxUint32)))
	binary.BigEndian.PutUint32(hdr[8:], 0)
	if err := writeFull(f, hdr[:], 0); err != nil {
		return nil, err
	}
	if err := c.appendLease(c.newLease(lease)); err != nil {
		return nil, err
	}
	return c, nil
}

// OpenImmutable parses an existing immutable container.
func OpenImmutable(f File) (*Immutable, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size < ImmutableHeaderSize {
		return nil, corrupt("immutable container shorter than its header")
	}
	var hdr [ImmutableHeaderSize]byte
	if err := readFull(f, hdr[:], 0); err != nil {
		return nil, err
	}
	version := binary.BigEndian.Uint32(hdr[0:])
	if version != 1 && version != 2 {
		return nil, corrupt("unknown immutable container version %d", version)
	}
	n := binary.BigEndian.Uint32(hdr[8:])
	leaseBytes := int64(n) * ImmutableLeaseSize
	if leaseBytes > size-ImmutableHeaderSize {
		return nil, corrupt("lease count %d does not fit in %d-byte file", n, size)
	}
	return &Immutable{f: f, version: version, numLeases: n, dataLen: size - ImmutableHeaderSize - leaseBytes}, nil
}

// Version returns the container version (1 or 2).
func (c *Immutable) Version() uint32 { return c.version }

// DataLength returns the share data length.
func (c *Immutable) DataLength() int64 { return c.dataLen }

// DataOffset is where share data starts within the file.
func (c *Immutable) DataOffset() int64 { return ImmutableHeaderSize }

// DataReader returns a reader for n bytes of share data at off, clipped to
// the data length.
func (c *Immutable) DataReader(off, n int64) *io.SectionReader {
	off, n = clip(off, n, c.dataLen)
	return io.NewSectionReader(c.f, ImmutableHeaderSize+off, n)
}

// ReadData reads share data into p at off. Reads past the end of the data
// are truncated, like io.ReaderAt with io.EOF.
func (c *Immutable) ReadData(p []byte, off int64) (int, error) {
	return c.DataReader(off, int64(len(p))).ReadAt(p, 0)
}

// WriteData writes share data at off; it must lie within the data region.
func (c *Immutable) WriteData(p []byte, off int64) error {
	if off < 0 || off > c.dataLen || int64(len(p)) > c.dataLen-off {
		return corrupt("write [%d,+%d) outside %d-byte share", off, len(p), c.dataLen)
	}
	return writeFull(c.f, p, ImmutableHeaderSize+off)
}

func (c *Immutable) hashed() bool { return c.version >= 2 }

func (c *Immutable) leaseOffset(i uint32) int64 {
	return ImmutableHeaderSize + c.dataLen + int64(i)*ImmutableLeaseSize
}

// Leases returns all lease records.
func (c *Immutable) Leases() ([]Lease, error) {
	if c.numLeases == 0 {
		return nil, nil
	}
	buf := make([]byte, int64(c.numLeases)*ImmutableLeaseSize)
	if err := readFull(c.f, buf, c.leaseOffset(0)); err != nil {
		return nil, err
	}
	out := make([]Lease, c.numLeases)
	for i := range out {
		out[i] = decodeImmutableLease(buf[i*ImmutableLeaseSize:])
	}
	return out, nil
}

func decodeImmutableLease(b []byte) Lease {
	var l Lease
	l.Owner = binary.BigEndian.Uint32(b[0:])
	copy(l.RenewSecret[:], b[4:36])
	copy(l.CancelSecret[:], b[36:68])
	l.Expiration = binary.BigEndian.Uint32(b[68:])
	return l
}

func encodeImmutableLease(l Lease) []byte {
	b := make([]byte, ImmutableLeaseSize)
	binary.BigEndian.PutUint32(b[0:], l.Owner)
	copy(b[4:36], l.RenewSecret[:])
	copy(b[36:68], l.CancelSecret[:])
	binary.BigEndian.PutUint32(b[68:], l.Expiration)
	return b
}

func (c *Immutable) newLease(r LeaseRequest) Lease {
	return Lease{
		Owner:        r.Owner,
		RenewSecret:  storedForm(r.RenewSecret, c.hashed()),
		CancelSecret: storedForm(r.CancelSecret, c.hashed()),
		Expiration:   r.Expiration,
	}
}

// appendLease writes the record first and the count second, so a crash in
// between loses at most the new lease.
func (c *Immutable) appendLease(l Lease) error {
	if c.numLeases == math.MaxUint32 {
		return corrupt("too many leases")
	}
	if err := writeFull(c.f, encodeImmutableLease(l), c.leaseOffset(c.numLeases)); err != nil {
		return err
	}
	var cnt [4]byte
	binary.BigEndian.PutUint32(cnt[:], c.numLeases+1)
	if err := writeFull(c.f, cnt[:], 8); err != nil {
		return err
	}
	c.numLeases++
	return nil
}

// AddOrRenewLease renews the lease whose renew secret matches (moving its
// expiration forward only, never back) or, if none matches, appends a new
// lease. It returns the resulting lease list.
func (c *Immutable) AddOrRenewLease(r LeaseRequest) ([]Lease, error) {
	leases, err := c.Leases()
	if err != nil {
		return nil, err
	}
	for i, l := range leases {
		if secretMatches(l.RenewSecret, r.RenewSecret, c.hashed()) {
			if r.Expiration > l.Expiration {
				l.Expiration = r.Expiration
				if err := writeFull(c.f, encodeImmutableLease(l), c.leaseOffset(uint32(i))); err != nil {
					return nil, err
				}
				leases[i] = l
			}
			return leases, nil
		}
	}
	nl := c.newLease(r)
	if err := c.appendLease(nl); err != nil {
		return nil, err
	}
	return append(leases, nl), nil
}

// clip limits [off, off+n) to [0, length).
func clip(off, n, length int64) (int64, int64) {
	if off < 0 {
		off = 0
	}
	if n < 0 {
		n = 0
	}
	if off >= length {
		return length, 0
	}
	if n > length-off {
		n = length - off
	}
	return off, n
}
