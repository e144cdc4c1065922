package upload

import (
	"context"
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// UploadPlaintext encrypts and uploads a file, for the CLI and the node.
// With a non-nil convergence secret the key is convergent (Tahoe's
// default: the same file, secret and parameters give the same cap, so
// re-uploads deduplicate) and the file is read twice; with nil the key is
// random and the file is read once. Files of up to chk.LiteralThreshold
// bytes become LIT caps and touch no server (the Result is then nil).
// It returns the read cap.
func UploadPlaintext(ctx context.Context, b broker.Broker, r io.ReaderAt, size int64, p Params, convergence []byte, opts *Options) (cap.Cap, *Result, error) {
	if size < 0 {
		return nil, nil, fmt.Errorf("upload: negative size %d", size)
	}
	if size <= chk.LiteralThreshold {
		data := make([]byte, size)
		if _, err := io.ReadFull(io.NewSectionReader(r, 0, size), data); err != nil {
			return nil, nil, fmt.Errorf("upload: reading %d-byte file: %w", size, err)
		}
		return cap.LIT{Data: data}, nil, nil
	}
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	var key chk.Key
	var err error
	if convergence != nil {
		key, err = chk.ConvergentKey(io.NewSectionReader(r, 0, size), size, convergence, p.Chk())
	} else {
		key, err = chk.RandomKey()
	}
	if err != nil {
		return nil, nil, err
	}
	ct := cipher.StreamReader{S: chk.NewCTR(key, 0), R: io.NewSectionReader(r, 0, size)}
	res, err := Upload(ctx, b, chk.StorageIndex(key), ct, size, p, opts)
	if err != nil {
		return nil, nil, err
	}
	return res.Encoding.ReadCap(key), res, nil
}
