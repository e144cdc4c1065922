package helper

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/communitycube/cube/server/grid/storage/wire"
)

// The staging directory holds, per upload session, named after the
// storage index (26 base32 characters):
//
//	<si>.spec   the begin request (CBOR); its presence is what makes the
//	            session exist, so it is written last on creation (atomic
//	            rename) and removed first on deletion
//	<si>.data   the ciphertext received so far
//	<si>.ack    how many bytes of .data were acknowledged (two checksummed
//	            slots, rewritten in place after every chunk)
//	<si>.done   the result of a finished upload (CBOR), kept for a while
//	            so a retried finish gets the same answer after a restart
//
// Why a separate acknowledged length rather than the length of .data: after
// a crash, a file system may keep a size update whose data blocks never
// reached the disk (XFS and others can show zeros there). The data is
// fsync'd before the ack record is written, and the ack record before the
// uploader hears of it, so on restart .data is cut back to the acknowledged
// length and every byte kept is one the uploader sent.
const (
	extSpec = ".spec"
	extData = ".data"
	extAck  = ".ack"
	extDone = ".done"
	tmpPre  = ".tmp-"
)

// Ack record: two slots in different 4 KiB blocks, written alternately, so
// a write torn by a crash can only damage the slot being replaced. A slot is
// magic, sequence number, acknowledged length and CRC-32C of those 20 bytes.
const (
	ackSlotOffset = 4096
	ackSlotLen    = 24
	ackMagic      = "CCha"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func encodeAckSlot(seq uint64, acked int64) []byte {
	b := make([]byte, 0, ackSlotLen)
	b = append(b, ackMagic...)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(acked))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func decodeAckSlot(b []byte) (seq uint64, acked int64, ok bool) {
	if len(b) < ackSlotLen || string(b[:4]) != ackMagic {
		return 0, 0, false
	}
	if crc32.Checksum(b[:20], crcTable) != binary.BigEndian.Uint32(b[20:24]) {
		return 0, 0, false
	}
	a := binary.BigEndian.Uint64(b[12:20])
	if a > wire.MaxOffset {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(b[4:12]), int64(a), true
}

// readAck returns the newest valid slot of an ack file (0, 0 if none).
func readAck(f *os.File) (seq uint64, acked int64, err error) {
	buf := make([]byte, ackSlotLen)
	found := false
	for i := range 2 {
		n, err := f.ReadAt(buf, int64(i)*ackSlotOffset)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		if s, a, ok := decodeAckSlot(buf[:n]); ok && (!found || s > seq) {
			seq, acked, found = s, a, true
		}
	}
	return seq, acked, nil
}

// writeAck records acked durably in the slot that seq selects.
func writeAck(f *os.File, seq uint64, acked int64) error {
	if _, err := f.WriteAt(encodeAckSlot(seq, acked), int64(seq%2)*ackSlotOffset); err != nil {
		return err
	}
	return f.Sync()
}

func (s *Service) path(si wire.StorageIndex, ext string) string {
	return filepath.Join(s.dir, si.String()+ext)
}

// writeFileAtomic writes data to path through a synced temporary file and
// a rename, then syncs the directory, so path is either absent, old or
// complete after a crash.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPre+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes renames, creations and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		// Some file systems cannot sync directories; nothing better to do.
		return err
	}
	return nil
}

// removeFiles deletes the given files of si (missing ones are fine) and
// syncs the directory.
func (s *Service) removeFiles(si wire.StorageIndex, exts ...string) error {
	var errs []error
	for _, ext := range exts {
		if err := os.Remove(s.path(si, ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, syncDir(s.dir))
	return errors.Join(errs...)
}

// isDiskFull reports whether err means the file system is out of space or
// over quota.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// stagingErr turns a write failure into the error the uploader sees.
func stagingErr(err error) error {
	if isDiskFull(err) {
		return fmt.Errorf("%w: staging disk full", ErrInsufficientStorage)
	}
	return err
}

// scan lists the storage indexes that have a file with extension ext, and
// removes leftover temporary files.
func (s *Service) scan() (specs, done, others map[wire.StorageIndex]bool, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, nil, err
	}
	specs, done, others = map[wire.StorageIndex]bool{}, map[wire.StorageIndex]bool{}, map[wire.StorageIndex]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPre) {
			os.Remove(filepath.Join(s.dir, name))
			continue
		}
		base, ext, ok := strings.Cut(name, ".")
		if !ok {
			continue
		}
		si, err := wire.ParseStorageIndex(base)
		if err != nil {
			continue // not ours
		}
		switch "." + ext {
		case extSpec:
			specs[si] = true
		case extDone:
			done[si] = true
		case extData, extAck:
			others[si] = true
		}
	}
	return specs, done, others, nil
}
