package chk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/netstring"
)

// Key is an AES-128 file key.
type Key = [cap.KeySize]byte

// RandomKey returns a fresh random key. Files encrypted with it do not
// deduplicate with other uploads of the same content, but need only one
// pass over the data.
func RandomKey() (Key, error) {
	var k Key
	_, err := rand.Read(k[:])
	return k, err
}

// convergentHasher returns the hasher whose output (truncated to 16 bytes)
// is the convergent key. Its tag commits to the convergence secret and to
// k, n and the effective segment size, so that different encodings of the
// same file get different keys (and storage indexes).
func convergentHasher(convergence []byte, k, n int, segSize int64) *hashtree.Hasher {
	tag := []byte(tagConvergentKeyBase)
	tag = netstring.Append(tag, convergence)
	tag = netstring.Append(tag, fmt.Appendf(nil, "%d,%d,%d", k, n, segSize))
	return hashtree.NewHasher(string(tag))
}

// ConvergentKey derives the key that Tahoe-LAFS would choose for a file of
// size bytes read from r, with the given convergence secret and parameters.
// It reads exactly size bytes. Anyone who knows the secret and can guess the
// whole content can confirm the guess, which is why the secret exists.
func ConvergentKey(r io.Reader, size int64, convergence []byte, p Params) (Key, error) {
	var key Key
	if err := p.Validate(); err != nil {
		return key, err
	}
	h := convergentHasher(convergence, p.K, p.N, p.SegmentSize(size))
	n, err := io.CopyBuffer(h, io.LimitReader(r, size), make([]byte, 64<<10))
	if err != nil {
		return key, err
	}
	if n != size {
		return key, fmt.Errorf("chk: read %d bytes for the key, expected %d: %w", n, size, io.ErrUnexpectedEOF)
	}
	sum := h.Sum()
	copy(key[:], sum[:])
	return key, nil
}

// StorageIndex returns the storage index of the file encrypted with key.
func StorageIndex(key Key) [cap.StorageIndexSize]byte { return cap.StorageIndexFromKey(key) }

// NewCTR returns the AES-128-CTR keystream of the file, positioned at byte
// offset off. The counter block is the 128-bit big-endian block number,
// starting from zero at the beginning of the file (Tahoe's all-zero IV).
func NewCTR(key Key, off int64) cipher.Stream {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // impossible: the key is always 16 bytes
	}
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[8:], uint64(off/aes.BlockSize))
	s := cipher.NewCTR(block, iv[:])
	if skip := off % aes.BlockSize; skip != 0 {
		var junk [aes.BlockSize]byte
		s.XORKeyStream(junk[:skip], junk[:skip])
	}
	return s
}
