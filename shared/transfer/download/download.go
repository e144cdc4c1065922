// Package download reads a file version's ciphertext from the node
// (GET versions/{vid}/content with Range, and versions/{vid}/proof),
// checks it against the read cap (UEB hash, crypttext hash tree, every
// segment), and decrypts it (a transfer.Cipher: WebCrypto in the browser, Go elsewhere): a tampered or truncated file is
// an error, never wrong bytes. Portable: the browser and the CLI use it.
//
// CONTRACT SKELETON: signatures are fixed; bodies are being written.
package download

import (
	"context"
	"errors"
	"io"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/transfer"
)

// ErrTampered is wrapped by every verification failure.
var ErrTampered = errors.New("the file does not match its cap: it was tampered with or damaged")

// Reader is a verified, decrypting view of one version.
type Reader struct{}

// Open fetches and checks the proof of version versionID against rc.
// cipher nil means transfer.GoCipher(rc.Key).
func Open(ctx context.Context, c *api.Client, versionID string, rc cap.CHK, cipher transfer.Cipher) (*Reader, error) {
	return nil, errors.New("download: not implemented yet")
}

// Size is the plaintext size.
func (r *Reader) Size() int64 { return 0 }

// ReadAt reads plaintext at off, fetching and checking whole segments
// (kept in a small cache) as needed: seeking in video works.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) { return 0, io.EOF }

// WriteTo streams the whole plaintext with read-ahead, retrying broken
// requests from where they stopped.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	return 0, errors.New("download: not implemented yet")
}
