//go:build js && wasm

// Package aesctr encrypts and decrypts (the same operation) a file's
// content with AES-128-CTR exactly as shared/chk.NewCTR does: the counter
// block is the 128-bit big-endian number of the 16-byte block, counted from
// zero at the start of the file (Tahoe-LAFS's all-zero IV). Any chunk can be
// processed on its own, at any byte offset.
//
// It uses the browser's WebCrypto (crypto.subtle), which runs natively and
// off the wasm thread, and falls back to Go (shared/chk.NewCTR) where
// crypto.subtle does not exist (a page served over plain HTTP from a LAN
// address is not a secure context), where importing the key failed, or if an
// encryption ever fails. Both give identical output.
//
// New and XORKeyStreamAt block until the browser answers: call them on a
// goroutine of their own, never inside a JavaScript callback.
package aesctr

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/wasm/fetch"
	"github.com/hack-pad/safejs"
)

const (
	// minSubtle is the smallest input handed to WebCrypto: below it a
	// promise round trip costs more than Go's AES.
	minSubtle = 4 << 10
	// maxSubtle bounds one WebCrypto call (and the JavaScript buffers it
	// needs); larger inputs are split.
	maxSubtle = 4 << 20
)

// Cipher is the AES-128-CTR keystream of one file. It is safe for concurrent
// use.
type Cipher struct {
	key       chk.Key
	subtle    safejs.Value // crypto.subtle
	cryptoKey safejs.Value // the imported CryptoKey
	web       atomic.Bool  // WebCrypto usable
	minSubtle int
}

// New returns the cipher of the file encrypted with key, importing the key
// into WebCrypto once when it can.
func New(key chk.Key) *Cipher {
	c := &Cipher{key: key, minSubtle: minSubtle}
	c.web.Store(c.importKey() == nil)
	return c
}

// NewGo returns a cipher that never uses WebCrypto.
func NewGo(key chk.Key) *Cipher { return &Cipher{key: key} }

// WebCrypto reports whether c currently uses crypto.subtle.
func (c *Cipher) WebCrypto() bool { return c.web.Load() }

// Available reports whether the page has WebCrypto (crypto.subtle): not
// in a page served over plain HTTP from a LAN address, which is not a
// secure context.
func Available() bool {
	_, err := subtleCrypto()
	return err == nil
}

func subtleCrypto() (safejs.Value, error) {
	crypto, err := safejs.Global().Get("crypto")
	if err != nil || crypto.IsUndefined() || crypto.IsNull() {
		return safejs.Undefined(), errNoSubtle
	}
	subtle, err := crypto.Get("subtle")
	if err != nil || subtle.IsUndefined() || subtle.IsNull() {
		return safejs.Undefined(), errNoSubtle
	}
	return subtle, nil
}

func (c *Cipher) importKey() error {
	subtle, err := subtleCrypto()
	if err != nil {
		return err
	}
	raw, err := fetch.Bytes(c.key[:])
	if err != nil {
		return err
	}
	alg, err := safejs.ValueOf(map[string]any{"name": "AES-CTR"})
	if err != nil {
		return err
	}
	usages, err := safejs.ValueOf([]any{"encrypt"})
	if err != nil {
		return err
	}
	p, err := subtle.Call("importKey", "raw", raw, alg, false, usages)
	if err != nil {
		return err
	}
	k, err := fetch.Await(p)
	if err != nil {
		return err
	}
	c.subtle, c.cryptoKey = subtle, k
	return nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoSubtle = constError("aesctr: crypto.subtle is not available")

// XORKeyStreamAt XORs src, which sits at byte offset off of the file, with
// the keystream into dst (which may be src itself; it must be at least as
// long). Encryption and decryption are the same operation.
func (c *Cipher) XORKeyStreamAt(dst, src []byte, off int64) {
	if len(dst) < len(src) {
		panic("aesctr: output smaller than input")
	}
	if len(src) >= c.minSubtle && c.web.Load() {
		for len(src) > 0 {
			n := min(len(src), maxSubtle)
			if err := c.subtleXOR(dst[:n], src[:n], off); err != nil {
				// Never seen in practice; keep going in Go rather than fail
				// a transfer.
				c.web.Store(false)
				break
			}
			dst, src, off = dst[n:], src[n:], off+int64(n)
		}
		if len(src) == 0 {
			return
		}
	}
	chk.NewCTR(c.key, off).XORKeyStream(dst[:len(src)], src)
}

// subtleXOR runs one crypto.subtle.encrypt. WebCrypto counts whole blocks
// from the counter it is given, so a chunk that starts inside a block is
// preceded by skip padding bytes, whose output is dropped.
func (c *Cipher) subtleXOR(dst, src []byte, off int64) error {
	skip := int(off % 16)
	u8, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return err
	}
	in, err := u8.New(skip + len(src))
	if err != nil {
		return err
	}
	view := in
	if skip > 0 {
		if view, err = in.Call("subarray", skip); err != nil {
			return err
		}
	}
	if _, err := safejs.CopyBytesToJS(view, src); err != nil {
		return err
	}
	var ctr [16]byte
	binary.BigEndian.PutUint64(ctr[8:], uint64(off/16))
	counter, err := fetch.Bytes(ctr[:])
	if err != nil {
		return err
	}
	// length 64: the low 64 bits count blocks, enough for 256 EiB; with the
	// high half zero this is the same as the 128-bit counter of chk.NewCTR.
	alg, err := safejs.ValueOf(map[string]any{"name": "AES-CTR", "length": 64})
	if err != nil {
		return err
	}
	if err := alg.Set("counter", counter); err != nil {
		return err
	}
	p, err := c.subtle.Call("encrypt", alg, c.cryptoKey, in)
	if err != nil {
		return err
	}
	out, err := fetch.Await(p)
	if err != nil {
		return err
	}
	res, err := u8.New(out, skip, len(src))
	if err != nil {
		return err
	}
	n, err := safejs.CopyBytesToGo(dst, res)
	if err != nil {
		return err
	}
	if n != len(src) {
		return constError("aesctr: WebCrypto returned a short result")
	}
	return nil
}

// SHA256 returns SHA-256(prefix ‖ data) computed by crypto.subtle.digest
// (transfer.SHA256er): natively and off the page's thread, where Go's
// SHA-256 in wasm runs under 100 MB/s on it. Small inputs stay in Go (the
// copy and the promise cost more than they save); ok is false when
// WebCrypto is unusable, and the caller hashes in Go.
func (c *Cipher) SHA256(prefix, data []byte) (sum [32]byte, ok bool) {
	if len(data) < c.minSubtle || !c.web.Load() {
		return sum, false
	}
	u8, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return sum, false
	}
	in, err := u8.New(len(prefix) + len(data))
	if err != nil {
		return sum, false
	}
	if _, err := safejs.CopyBytesToJS(in, prefix); err != nil {
		return sum, false
	}
	rest, err := in.Call("subarray", len(prefix))
	if err != nil {
		return sum, false
	}
	if _, err := safejs.CopyBytesToJS(rest, data); err != nil {
		return sum, false
	}
	p, err := c.subtle.Call("digest", "SHA-256", in)
	if err != nil {
		return sum, false
	}
	out, err := fetch.Await(p)
	if err != nil {
		return sum, false
	}
	res, err := u8.New(out)
	if err != nil {
		return sum, false
	}
	if n, err := safejs.CopyBytesToGo(sum[:], res); err != nil || n != len(sum) {
		return [32]byte{}, false
	}
	return sum, true
}
