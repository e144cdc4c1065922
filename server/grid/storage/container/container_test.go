package container

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// memFile is an in-memory File.
type memFile struct{ b []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) Size() (int64, error) { return int64(len(m.b)), nil }

// Test vectors built with Python's struct module following the field
// layouts in Tahoe-LAFS's immutable_schema.py, lease.py and
// mutable_schema.py (hashlib.blake2b(digest_size=32) for v2 secrets).
// Renew secret 32×0x01, cancel secret 32×0x02, expiration 1700000000,
// data "0123456789".
const (
	vecImmutableV2 = "000000020000000a000000013031323334353637383900000000f40ceaf86e5776923332b8d8fd3bef849cadb19c6996bc272af1f648d9566a4cd9818087de7244abc1b5fcf28e55e42c7ff9c678c0605181f37ac5d7414a7b956553f100"
	vecImmutableV1 = "000000010000000a000000013031323334353637383900000000010101010101010101010101010101010101010101010101010101010101010102020202020202020202020202020202020202020202020202020202020202026553f100"
)

// vecMutableV2: node id 20×0x09, write enabler 32×0x05, one lease in slot 0.
func vecMutableV2() []byte {
	hdr, _ := hex.DecodeString("5461686f65206d757461626c6520636f6e7461696e65722076320ac35521992509090909090909090909090909090909090909090505050505050505050505050505050505050505050505050505050505050505000000000000000a00000000000001de")
	lease, _ := hex.DecodeString("000000016553f100f40ceaf86e5776923332b8d8fd3bef849cadb19c6996bc272af1f648d9566a4cd9818087de7244abc1b5fcf28e55e42c7ff9c678c0605181f37ac5d7414a7b950909090909090909090909090909090909090909")
	out := append(hdr, lease...)
	out = append(out, make([]byte, 3*MutableLeaseSize)...)
	out = append(out, "0123456789"...)
	return append(out, 0, 0, 0, 0)
}

var (
	renew  = bytes.Repeat([]byte{1}, 32)
	cancel = bytes.Repeat([]byte{2}, 32)
)

func TestReadTahoeImmutable(t *testing.T) {
	for _, vec := range []string{vecImmutableV2, vecImmutableV1} {
		b, _ := hex.DecodeString(vec)
		f := &memFile{b: b}
		if k, _ := DetectFileKind(f); k != KindImmutable {
			t.Fatalf("kind = %v", k)
		}
		c, err := OpenImmutable(f)
		if err != nil {
			t.Fatal(err)
		}
		if c.DataLength() != 10 {
			t.Fatalf("data length %d", c.DataLength())
		}
		buf := make([]byte, 20)
		n, _ := c.ReadData(buf, 3)
		if string(buf[:n]) != "3456789" {
			t.Fatalf("read %q", buf[:n])
		}
		ls, err := c.Leases()
		if err != nil || len(ls) != 1 || ls[0].Expiration != 1700000000 {
			t.Fatalf("leases %+v %v", ls, err)
		}
		if !secretMatches(ls[0].RenewSecret, renew, c.Version() == 2) {
			t.Fatal("renew secret does not match")
		}
		// Renewing with the same secret must not add a lease.
		ls, err = c.AddOrRenewLease(LeaseRequest{RenewSecret: renew, CancelSecret: cancel, Expiration: 1800000000})
		if err != nil || len(ls) != 1 || ls[0].Expiration != 1800000000 {
			t.Fatalf("renew: %+v %v", ls, err)
		}
		// An older expiration never moves a lease back.
		ls, _ = c.AddOrRenewLease(LeaseRequest{RenewSecret: renew, CancelSecret: cancel, Expiration: 5})
		if ls[0].Expiration != 1800000000 {
			t.Fatal("lease moved backwards")
		}
		other := bytes.Repeat([]byte{3}, 32)
		if ls, _ = c.AddOrRenewLease(LeaseRequest{RenewSecret: other, CancelSecret: other, Expiration: 7, Owner: 1}); len(ls) != 2 {
			t.Fatalf("add: %d leases", len(ls))
		}
		c2, err := OpenImmutable(f)
		if err != nil || c2.DataLength() != 10 {
			t.Fatalf("reopen: %v", err)
		}
		if ls, _ := c2.Leases(); len(ls) != 2 || ls[1].Owner != 1 {
			t.Fatalf("reopened leases %+v", ls)
		}
	}
}

func TestCreateImmutableMatchesTahoeLayout(t *testing.T) {
	f := &memFile{}
	c, err := CreateImmutable(f, 10, LeaseRequest{RenewSecret: renew, CancelSecret: cancel, Expiration: 1700000000})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteData([]byte("01234"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteData([]byte("56789"), 5); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteData([]byte("x"), 10); err == nil {
		t.Fatal("write past end accepted")
	}
	if hex.EncodeToString(f.b) != vecImmutableV2 {
		t.Fatalf("layout differs:\n got %x\nwant %s", f.b, vecImmutableV2)
	}
}

func TestReadTahoeMutable(t *testing.T) {
	f := &memFile{b: vecMutableV2()}
	if k, _ := DetectFileKind(f); k != KindMutable {
		t.Fatalf("kind = %v", k)
	}
	m, err := OpenMutable(f)
	if err != nil {
		t.Fatal(err)
	}
	if !m.CheckWriteEnabler(bytes.Repeat([]byte{5}, 32)) || m.CheckWriteEnabler(bytes.Repeat([]byte{6}, 32)) {
		t.Fatal("write enabler check wrong")
	}
	d, _ := m.ReadData(8, 100)
	if string(d) != "89" {
		t.Fatalf("read %q", d)
	}
	if d, _ := m.ReadData(50, 1); len(d) != 0 {
		t.Fatal("read past end returned data")
	}
	ls, _ := m.Leases()
	if len(ls) != 1 || ls[0].NodeID != [20]byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9} {
		t.Fatalf("leases %+v", ls)
	}
}

func TestCreateMutableMatchesTahoeLayout(t *testing.T) {
	f := &memFile{}
	var node [20]byte
	var we [32]byte
	for i := range node {
		node[i] = 9
	}
	for i := range we {
		we[i] = 5
	}
	m, err := CreateMutable(f, node, we)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteData(0, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddOrRenewLease(LeaseRequest{RenewSecret: renew, CancelSecret: cancel, Expiration: 1700000000, Owner: 1, NodeID: node}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.b, vecMutableV2()) {
		t.Fatalf("layout differs:\n got %x\nwant %x", f.b, vecMutableV2())
	}
}

func TestMutableGrowHolesAndExtraLeases(t *testing.T) {
	f := &memFile{}
	m, _ := CreateMutable(f, [20]byte{}, [32]byte{})
	// Six leases: four slots plus two extra records.
	for i := 0; i < 6; i++ {
		s := bytes.Repeat([]byte{byte(10 + i)}, 32)
		if _, err := m.AddOrRenewLease(LeaseRequest{RenewSecret: s, CancelSecret: s, Expiration: uint32(100 + i), Owner: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.WriteData(0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	// Leave a hole; then shrink and regrow to check stale bytes are zeroed.
	if err := m.WriteData(10, []byte("xyz")); err != nil {
		t.Fatal(err)
	}
	if err := m.SetDataLength(2); err != nil {
		t.Fatal(err)
	}
	if err := m.SetDataLength(50); err != nil || m.DataLength() != 2 {
		t.Fatal("new-length grew the share")
	}
	if err := m.WriteData(5, []byte("Q")); err != nil {
		t.Fatal(err)
	}
	m2, err := OpenMutable(f)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := m2.ReadData(0, 100)
	if !bytes.Equal(d, []byte{'a', 'b', 0, 0, 0, 'Q'}) {
		t.Fatalf("data %q", d)
	}
	ls, err := m2.Leases()
	if err != nil || len(ls) != 6 {
		t.Fatalf("leases after growth: %d %v", len(ls), err)
	}
	for i, l := range ls {
		if l.Expiration != uint32(100+i) {
			t.Fatalf("lease %d expiration %d", i, l.Expiration)
		}
	}
	if max, ok := LatestExpiration(ls); !ok || max != 105 {
		t.Fatalf("LatestExpiration = %d %v", max, ok)
	}
	// Big growth past the extra-lease block.
	big := bytes.Repeat([]byte{7}, 100000)
	if err := m2.WriteData(200000, big); err != nil {
		t.Fatal(err)
	}
	m3, err := OpenMutable(f)
	if err != nil {
		t.Fatal(err)
	}
	if ls, _ := m3.Leases(); len(ls) != 6 {
		t.Fatalf("%d leases after big growth", len(ls))
	}
	if d, _ := m3.ReadData(150000, 10); !bytes.Equal(d, make([]byte, 10)) {
		t.Fatal("hole not zero")
	}
}

func TestOpenRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0, 0, 0, 2},
		{0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1}, // one lease, no room
	} {
		if _, err := OpenImmutable(&memFile{b: b}); err == nil {
			t.Errorf("OpenImmutable(%x) accepted", b)
		}
	}
	bad := vecMutableV2()
	bad[92+7] = 0xff // extra-lease offset beyond the file
	if _, err := OpenMutable(&memFile{b: bad}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad extra offset: %v", err)
	}
	bad = vecMutableV2()
	bad[84+7] = 0xff // data length beyond the data area
	if _, err := OpenMutable(&memFile{b: bad}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad data length: %v", err)
	}
}

// FuzzOpenContainer parses arbitrary bytes as both container kinds and
// exercises the read paths. Nothing may panic, and reads may not allocate
// more than the file holds.
func FuzzOpenContainer(f *testing.F) {
	for _, v := range []string{vecImmutableV2, vecImmutableV1} {
		b, _ := hex.DecodeString(v)
		f.Add(b)
	}
	f.Add(vecMutableV2())
	f.Add([]byte{0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = DetectKind(data)
		if c, err := OpenImmutable(&memFile{b: append([]byte(nil), data...)}); err == nil {
			if c.DataLength() < 0 || c.DataLength() > int64(len(data)) {
				t.Fatalf("data length %d for %d-byte file", c.DataLength(), len(data))
			}
			ls, err := c.Leases()
			if err == nil && len(ls)*ImmutableLeaseSize > len(data) {
				t.Fatal("more leases than bytes")
			}
			buf := make([]byte, 16)
			_, _ = c.ReadData(buf, c.DataLength()/2)
			_, _ = c.AddOrRenewLease(LeaseRequest{RenewSecret: renew, CancelSecret: cancel, Expiration: 1})
		}
		if m, err := OpenMutable(&memFile{b: append([]byte(nil), data...)}); err == nil {
			if m.DataLength() > int64(len(data)) {
				t.Fatalf("data length %d for %d-byte file", m.DataLength(), len(data))
			}
			d, err := m.ReadData(0, 1<<40)
			if err == nil && len(d) > len(data) {
				t.Fatal("read more than file")
			}
			_, _ = m.Leases()
			_, _ = m.AddOrRenewLease(LeaseRequest{RenewSecret: renew, CancelSecret: cancel, Expiration: 1, Owner: 1})
			_ = m.WriteData(m.DataLength()+3, []byte("abc"))
			if _, err := OpenMutable(m.f); err != nil {
				t.Fatalf("container unreadable after write: %v", err)
			}
		}
	})
}
