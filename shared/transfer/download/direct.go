package download

import (
	"github.com/communitycube/cube/shared/chk"
)

// Direct is everything a reader outside this process needs to fetch,
// check and decrypt a version on its own: in the browser, the service
// worker streams downloads and videos this way, so that the bytes go from
// the network through WebCrypto to the download manager without passing
// through the page's (wasm's) single thread, which made that thread the
// bottleneck (see docs/BENCHMARKS.md).
//
// The segment hashes were checked against the cap when the Reader was
// opened (Open); the other reader only has to check each segment against
// them before decrypting it. docs/files.md ("Downloads") describes the
// algorithm.
type Direct struct {
	// URL of the version's ciphertext (GET with Range) and the headers to
	// send with it besides the same-origin session cookie.
	URL    string
	Header map[string]string
	// Size of the file; segment i is the ciphertext bytes
	// [i*SegmentSize, min((i+1)*SegmentSize, Size)).
	Size        int64
	SegmentSize int64
	// HashPrefix and SegmentHashes: segment i is intact if and only if
	// SHA-256(SHA-256(HashPrefix ‖ ciphertext)) equals SegmentHashes[i].
	HashPrefix    []byte
	SegmentHashes [][32]byte
	// Key is the AES-128 key; the cipher is AES-CTR with a 128-bit
	// big-endian counter starting at zero for the file's first byte, so
	// byte o is in counter block o/16.
	Key chk.Key
}

// Locator is a Source that can say where a version's ciphertext is
// (*api.Client and api.Routes are).
type Locator interface {
	ContentRequest(vid string) (url string, header map[string]string)
}

// Direct returns what a reader outside this process needs to read the
// version itself; false when the Source cannot say where the content is.
func (r *Reader) Direct() (Direct, bool) {
	loc, ok := r.c.(Locator)
	if !ok {
		return Direct{}, false
	}
	url, header := loc.ContentRequest(r.vid)
	hashes := make([][32]byte, len(r.proof.SegmentHashes))
	for i, h := range r.proof.SegmentHashes {
		hashes[i] = h
	}
	return Direct{
		URL:           url,
		Header:        header,
		Size:          r.size,
		SegmentSize:   r.proof.Layout.SegmentSize,
		HashPrefix:    chk.SegmentHashPrefix(),
		SegmentHashes: hashes,
		Key:           r.key,
	}, true
}
