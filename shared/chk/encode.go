package chk

import (
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/communitycube/cube/shared/cap"
)

// Encode produces the cap Tahoe-LAFS would give a file of size bytes read
// from r, using convergent encryption with the given secret, and writes the
// shares to w. Files of at most LiteralThreshold bytes become LIT caps and
// write nothing. It reads the file twice: once to derive the key, once to
// encrypt and encode. With w = Discard it computes the cap alone.
func Encode(r io.ReaderAt, size int64, convergence []byte, p Params, w ShareWriter) (cap.Cap, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if size <= LiteralThreshold {
		return literal(io.NewSectionReader(r, 0, size), size)
	}
	key, err := ConvergentKey(io.NewSectionReader(r, 0, size), size, convergence, p)
	if err != nil {
		return nil, err
	}
	return EncodeWithKey(io.NewSectionReader(r, 0, size), size, key, p, w)
}

// EncodeWithKey encrypts size bytes of plaintext from r with key (for
// example a RandomKey) and encodes them in a single pass. Small files
// become LIT caps, as in Encode.
func EncodeWithKey(r io.Reader, size int64, key Key, p Params, w ShareWriter) (cap.Cap, error) {
	if size <= LiteralThreshold {
		return literal(r, size)
	}
	e, err := NewEncoder(size, p, w)
	if err != nil {
		return nil, err
	}
	// Encrypt in place in the encoder's own segment buffer.
	if _, err := e.ReadFrom(cipher.StreamReader{S: NewCTR(key, 0), R: r}); err != nil {
		return nil, err
	}
	res, err := e.Close()
	if err != nil {
		return nil, err
	}
	return res.ReadCap(key), nil
}

func literal(r io.Reader, size int64) (cap.Cap, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrParams, size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("chk: reading %d-byte literal file: %w", size, err)
	}
	return cap.LIT{Data: data}, nil
}
