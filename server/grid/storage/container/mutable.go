package container

import (
	"crypto/subtle"
	"encoding/binary"
	"io"
)

// Mutable container layout (all integers big-endian):
//
//	  0  32  magic: "Tahoe mutable container v1\n" + 75 09 44 03 8e, or
//	          "Tahoe mutable container v2\n" + c3 55 21 99 25
//	 32  20  node id of the server that recorded the write enabler
//	 52  32  write enabler
//	 84   8  share data length
//	 92   8  offset E of the extra-lease area
//	100 368  four lease slots of 92 bytes: owner(4) expiration(4)
//	          renew-secret(32) cancel-secret(32) node-id(20); owner 0 = empty
//	468   *  share data; the data area extends to E (it may be larger than
//	          the data length, containers never shrink)
//	  E   4  number of extra lease records
//	E+4   *  extra lease records, 92 bytes each
//
// The v2 magic's five trailing bytes are the first five bytes of Tahoe's
// tagged SHA-256d hash of the readable part under the tag
// "allmydata_mutable_container_header"; v2 stores lease secrets hashed with
// BLAKE2b-256.
const (
	MutableHeaderSize = 100
	MutableLeaseSize  = 92
	MutableLeaseSlots = 4
	MutableDataOffset = MutableHeaderSize + MutableLeaseSlots*MutableLeaseSize // 468

	offNodeID       = 32
	offWriteEnabler = 52
	offDataLength   = 84
	offExtraLeases  = 92
)

// Magic strings of the two mutable container versions.
var (
	MutableMagicV1 = [32]byte{'T', 'a', 'h', 'o', 'e', ' ', 'm', 'u', 't', 'a', 'b', 'l', 'e', ' ', 'c', 'o', 'n', 't', 'a', 'i', 'n', 'e', 'r', ' ', 'v', '1', '\n', 0x75, 0x09, 0x44, 0x03, 0x8e}
	MutableMagicV2 = [32]byte{'T', 'a', 'h', 'o', 'e', ' ', 'm', 'u', 't', 'a', 'b', 'l', 'e', ' ', 'c', 'o', 'n', 't', 'a', 'i', 'n', 'e', 'r', ' ', 'v', '2', '\n', 0xc3, 0x55, 0x21, 0x99, 0x25}
)

// Mutable is an open mutable share container.
type Mutable struct {
	f            File
	version      int
	writeEnabler [32]byte
	nodeID       [20]byte
	dataLen      int64
	extraOff     int64
	numExtra     uint32
}

// CreateMutable initialises an empty file as a version-2 mutable container
// with no data and no leases.
func CreateMutable(f File, nodeID [20]byte, writeEnabler [32]byte) (*Mutable, error) {
	buf := make([]byte, MutableDataOffset+4)
	copy(buf[0:], MutableMagicV2[:])
	copy(buf[offNodeID:], nodeID[:])
	copy(buf[offWriteEnabler:], writeEnabler[:])
	binary.BigEndian.PutUint64(buf[offDataLength:], 0)
	binary.BigEndian.PutUint64(buf[offExtraLeases:], MutableDataOffset)
	// The four lease slots and the extra-lease count are already zero.
	if err := writeFull(f, buf, 0); err != nil {
		return nil, err
	}
	return &Mutable{f: f, version: 2, writeEnabler: writeEnabler, nodeID: nodeID, extraOff: MutableDataOffset}, nil
}

// OpenMutable parses an existing mutable container, validating every
// offset against the file size.
func OpenMutable(f File) (*Mutable, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size < MutableDataOffset+4 {
		return nil, corrupt("mutable container shorter than its header")
	}
	hdr := make([]byte, MutableHeaderSize)
	if err := readFull(f, hdr, 0); err != nil {
		return nil, err
	}
	m := &Mutable{f: f}
	var magic [32]byte
	copy(magic[:], hdr)
	switch magic {
	case MutableMagicV1:
		m.version = 1
	case MutableMagicV2:
		m.version = 2
	default:
		return nil, corrupt("bad mutable container magic")
	}
	copy(m.nodeID[:], hdr[offNodeID:])
	copy(m.writeEnabler[:], hdr[offWriteEnabler:])
	dataLen := binary.BigEndian.Uint64(hdr[offDataLength:])
	extraOff := binary.BigEndian.Uint64(hdr[offExtraLeases:])
	if extraOff < MutableDataOffset || extraOff > uint64(size)-4 {
		return nil, corrupt("extra-lease offset %d outside %d-byte file", extraOff, size)
	}
	if dataLen > extraOff-MutableDataOffset {
		return nil, corrupt("data length %d overlaps extra leases at %d", dataLen, extraOff)
	}
	m.dataLen, m.extraOff = int64(dataLen), int64(extraOff)
	var cnt [4]byte
	if err := readFull(f, cnt[:], m.extraOff); err != nil {
		return nil, err
	}
	m.numExtra = binary.BigEndian.Uint32(cnt[:])
	if int64(m.numExtra)*MutableLeaseSize > size-m.extraOff-4 {
		return nil, corrupt("%d extra leases do not fit in file", m.numExtra)
	}
	return m, nil
}

// Version returns the container version (1 or 2).
func (m *Mutable) Version() int { return m.version }

// NodeID returns the id of the node that recorded the write enabler.
func (m *Mutable) NodeID() [20]byte { return m.nodeID }

// DataLength returns the share data length.
func (m *Mutable) DataLength() int64 { return m.dataLen }

// CheckWriteEnabler compares we with the stored write enabler in constant
// time.
func (m *Mutable) CheckWriteEnabler(we []byte) bool {
	return len(we) == len(m.writeEnabler) && subtle.ConstantTimeCompare(we, m.writeEnabler[:]) == 1
}

// DataReader returns a reader for n bytes of share data at off, clipped to
// the data length.
func (m *Mutable) DataReader(off, n int64) *io.SectionReader {
	off, n = clip(off, n, m.dataLen)
	return io.NewSectionReader(m.f, MutableDataOffset+off, n)
}

// ReadData returns up to size bytes of share data at off; reads beyond the
// end of the data are truncated (possibly to nothing), as the protocol
// requires for test and read vectors. The allocation is bounded by the data
// length; callers passing client-chosen sizes should bound size themselves.
func (m *Mutable) ReadData(off, size uint64) ([]byte, error) {
	if off >= uint64(m.dataLen) {
		return []byte{}, nil
	}
	n := uint64(m.dataLen) - off
	if size < n {
		n = size
	}
	buf := make([]byte, n)
	if err := readFull(m.f, buf, MutableDataOffset+int64(off)); err != nil {
		return nil, err
	}
	return buf, nil
}

// Capacity is the size of the data area before the extra leases.
func (m *Mutable) Capacity() int64 { return m.extraOff - MutableDataOffset }

func (m *Mutable) extraBlockLen() int64 { return 4 + int64(m.numExtra)*MutableLeaseSize }

// GrowthFor returns how many bytes the file would grow by if data were
// written up to end (for space accounting before writing).
func (m *Mutable) GrowthFor(end int64) int64 {
	if end <= m.Capacity() {
		return 0
	}
	return end - m.Capacity()
}

// WriteData writes data at off, growing the share as needed. Bytes between
// the old end of data and off read back as zeros afterwards, as the
// protocol's "fills-holes-with-zero-bytes" promises.
func (m *Mutable) WriteData(off int64, data []byte) error {
	if off < 0 || int64(len(data)) > (1<<62)-off {
		return corrupt("write offset out of range")
	}
	end := off + int64(len(data))
	if end >= m.dataLen {
		if end > m.Capacity() {
			if err := m.moveExtraLeases(MutableDataOffset + end); err != nil {
				return err
			}
		}
		if off > m.dataLen {
			if err := writeZeros(m.f, MutableDataOffset+m.dataLen, off-m.dataLen); err != nil {
				return err
			}
		}
	}
	if err := writeFull(m.f, data, MutableDataOffset+off); err != nil {
		return err
	}
	if end > m.dataLen {
		if err := m.writeDataLength(end); err != nil {
			return err
		}
	}
	return nil
}

// SetDataLength truncates the share data to n if n is shorter than the
// current data; longer values are ignored, as in Tahoe ("new-length" only
// shrinks). The container itself is not shrunk.
func (m *Mutable) SetDataLength(n int64) error {
	if n < 0 || n >= m.dataLen {
		return nil
	}
	return m.writeDataLength(n)
}

func (m *Mutable) writeDataLength(n int64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	if err := writeFull(m.f, b[:], offDataLength); err != nil {
		return err
	}
	m.dataLen = n
	return nil
}

// moveExtraLeases relocates the extra-lease block to newOff. The block is
// written at its new home before the header points there, so a crash
// leaves the old, still-referenced copy intact unless the two overlap (a
// growth of less than the block's size), the same window Tahoe has.
func (m *Mutable) moveExtraLeases(newOff int64) error {
	block := make([]byte, m.extraBlockLen())
	if err := readFull(m.f, block, m.extraOff); err != nil {
		return err
	}
	if err := writeFull(m.f, block, newOff); err != nil {
		return err
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(newOff))
	if err := writeFull(m.f, b[:], offExtraLeases); err != nil {
		return err
	}
	m.extraOff = newOff
	return nil
}

func (m *Mutable) hashed() bool { return m.version >= 2 }

func (m *Mutable) slotOffset(i uint32) int64 {
	if i < MutableLeaseSlots {
		return MutableHeaderSize + int64(i)*MutableLeaseSize
	}
	return m.extraOff + 4 + int64(i-MutableLeaseSlots)*MutableLeaseSize
}

func (m *Mutable) numSlots() uint32 { return MutableLeaseSlots + m.numExtra }

func decodeMutableLease(b []byte) Lease {
	var l Lease
	l.Owner = binary.BigEndian.Uint32(b[0:])
	l.Expiration = binary.BigEndian.Uint32(b[4:])
	copy(l.RenewSecret[:], b[8:40])
	copy(l.CancelSecret[:], b[40:72])
	copy(l.NodeID[:], b[72:92])
	return l
}

func encodeMutableLease(l Lease) []byte {
	b := make([]byte, MutableLeaseSize)
	binary.BigEndian.PutUint32(b[0:], l.Owner)
	binary.BigEndian.PutUint32(b[4:], l.Expiration)
	copy(b[8:40], l.RenewSecret[:])
	copy(b[40:72], l.CancelSecret[:])
	copy(b[72:92], l.NodeID[:])
	return b
}

// slots returns every lease slot, empty ones included, in slot order.
func (m *Mutable) slots() ([]Lease, error) {
	out := make([]Lease, 0, m.numSlots())
	buf := make([]byte, MutableLeaseSlots*MutableLeaseSize)
	if err := readFull(m.f, buf, MutableHeaderSize); err != nil {
		return nil, err
	}
	for i := 0; i < MutableLeaseSlots; i++ {
		out = append(out, decodeMutableLease(buf[i*MutableLeaseSize:]))
	}
	if m.numExtra > 0 {
		buf = make([]byte, int64(m.numExtra)*MutableLeaseSize)
		if err := readFull(m.f, buf, m.extraOff+4); err != nil {
			return nil, err
		}
		for i := 0; i < int(m.numExtra); i++ {
			out = append(out, decodeMutableLease(buf[i*MutableLeaseSize:]))
		}
	}
	return out, nil
}

// Leases returns the occupied lease slots.
func (m *Mutable) Leases() ([]Lease, error) {
	all, err := m.slots()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, l := range all {
		if l.Owner != 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// AddOrRenewLease renews the lease whose renew secret matches (forward
// only) or stores a new one in the first empty slot, appending an extra
// lease record if all slots are taken. r.Owner must not be 0 (0 marks an
// empty slot; it is forced to 1). It returns the resulting leases.
func (m *Mutable) AddOrRenewLease(r LeaseRequest) ([]Lease, error) {
	all, err := m.slots()
	if err != nil {
		return nil, err
	}
	empty := -1
	for i, l := range all {
		if l.Owner == 0 {
			if empty < 0 {
				empty = i
			}
			continue
		}
		if secretMatches(l.RenewSecret, r.RenewSecret, m.hashed()) {
			if r.Expiration > l.Expiration {
				l.Expiration = r.Expiration
				if err := writeFull(m.f, encodeMutableLease(l), m.slotOffset(uint32(i))); err != nil {
					return nil, err
				}
				all[i] = l
			}
			return m.occupied(all), nil
		}
	}
	owner := r.Owner
	if owner == 0 {
		owner = 1
	}
	nl := Lease{
		Owner:        owner,
		RenewSecret:  storedForm(r.RenewSecret, m.hashed()),
		CancelSecret: storedForm(r.CancelSecret, m.hashed()),
		Expiration:   r.Expiration,
		NodeID:       r.NodeID,
	}
	if empty >= 0 {
		if err := writeFull(m.f, encodeMutableLease(nl), m.slotOffset(uint32(empty))); err != nil {
			return nil, err
		}
		all[empty] = nl
		return m.occupied(all), nil
	}
	// Append an extra lease: record first, then the count.
	if err := writeFull(m.f, encodeMutableLease(nl), m.slotOffset(m.numSlots())); err != nil {
		return nil, err
	}
	var cnt [4]byte
	binary.BigEndian.PutUint32(cnt[:], m.numExtra+1)
	if err := writeFull(m.f, cnt[:], m.extraOff); err != nil {
		return nil, err
	}
	m.numExtra++
	return m.occupied(append(all, nl)), nil
}

func (m *Mutable) occupied(all []Lease) []Lease {
	out := make([]Lease, 0, len(all))
	for _, l := range all {
		if l.Owner != 0 {
			out = append(out, l)
		}
	}
	return out
}
