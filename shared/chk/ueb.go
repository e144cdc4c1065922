package chk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/hashtree"
	"github.com/communitycube/cube/shared/netstring"
)

// Hash tags of the CHK format (each hash is SHA-256d over netstring(tag)
// followed by the data).
const (
	tagBlock             = "allmydata_encoded_subshare_v1"
	tagUEB               = "allmydata_uri_extension_v1"
	tagCrypttext         = "allmydata_crypttext_v1"
	tagCrypttextSegment  = "allmydata_crypttext_segment_v1"
	tagConvergentKeyBase = "allmydata_immutable_content_to_key_with_added_secret_v1+"
)

// codecName is the only erasure code Tahoe has ever used ("Classic
// Reed-Solomon", i.e. zfec).
const codecName = "crs"

// ErrUEB is wrapped by errors about a malformed URI extension block.
var ErrUEB = errors.New("chk: malformed URI extension block")

// UEB is the URI extension block: the per-file metadata, identical in every
// share, whose hash is in the cap.
type UEB struct {
	Size              int64
	SegmentSize       int64
	NumSegments       int
	K, N              int           // needed_shares, total_shares
	CodecName         string        // "crs"
	CodecParams       string        // "<segment size>-<k>-<n>"
	TailCodecParams   string        // "<padded tail size>-<k>-<n>"
	CrypttextHash     hashtree.Hash // hash of the whole ciphertext
	CrypttextRootHash hashtree.Hash // root of the crypttext hash tree
	ShareRootHash     hashtree.Hash // root of the share hash tree
	// HasCrypttextHash reports whether a parsed UEB carried crypttext_hash
	// (always true for UEBs this package writes).
	HasCrypttextHash bool

	present map[string]bool // keys a parsed UEB carried; nil means all
}

func (u *UEB) has(key string) bool { return u.present == nil || u.present[key] }

// newUEB fills the fields that follow from the layout alone.
func newUEB(l *Layout) *UEB {
	padTail := nextMultiple(l.TailSegmentSize, int64(l.K))
	return &UEB{
		Size: l.Size, SegmentSize: l.SegmentSize, NumSegments: l.NumSegments, K: l.K, N: l.N,
		CodecName:        codecName,
		CodecParams:      fmt.Sprintf("%d-%d-%d", l.SegmentSize, l.K, l.N),
		TailCodecParams:  fmt.Sprintf("%d-%d-%d", padTail, l.K, l.N),
		HasCrypttextHash: true,
	}
}

// Marshal serialises u: for each key in byte order, "key:" then the value as
// a netstring. Numbers are decimal; hashes are raw 32-byte strings.
func (u *UEB) Marshal() []byte {
	num := func(v int64) []byte { return strconv.AppendInt(nil, v, 10) }
	fields := []struct {
		key string
		val []byte
	}{ // already in sorted key order
		{"codec_name", []byte(u.CodecName)},
		{"codec_params", []byte(u.CodecParams)},
		{"crypttext_hash", u.CrypttextHash[:]},
		{"crypttext_root_hash", u.CrypttextRootHash[:]},
		{"needed_shares", num(int64(u.K))},
		{"num_segments", num(int64(u.NumSegments))},
		{"segment_size", num(u.SegmentSize)},
		{"share_root_hash", u.ShareRootHash[:]},
		{"size", num(u.Size)},
		{"tail_codec_params", []byte(u.TailCodecParams)},
		{"total_shares", num(int64(u.N))},
	}
	var b []byte
	for _, f := range fields {
		if !u.HasCrypttextHash && f.key == "crypttext_hash" {
			continue
		}
		b = append(b, f.key...)
		b = append(b, ':')
		b = netstring.Append(b, f.val)
	}
	return b
}

// UEBHash returns the hash of a serialised UEB, as stored in caps.
func UEBHash(ueb []byte) hashtree.Hash { return hashtree.TaggedHash(tagUEB, ueb) }

// ParseUEB decodes a serialised UEB. Unknown keys are ignored (old Tahoe
// versions wrote plaintext hashes); segment_size, crypttext_root_hash and
// share_root_hash are required; the other known keys are checked when
// present. It does not check the UEB against a cap: see checkAgainst.
func ParseUEB(b []byte) (*UEB, error) {
	kv := map[string][]byte{}
	for len(b) > 0 {
		colon := slices.Index(b, ':')
		if colon < 1 {
			return nil, fmt.Errorf("%w: missing key", ErrUEB)
		}
		key := string(b[:colon])
		if strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != "" {
			return nil, fmt.Errorf("%w: bad key %q", ErrUEB, key)
		}
		val, rest, err := netstring.Parse(b[colon+1:])
		if err != nil {
			return nil, fmt.Errorf("%w: value of %q: %w", ErrUEB, key, err)
		}
		if _, dup := kv[key]; dup {
			return nil, fmt.Errorf("%w: duplicate key %q", ErrUEB, key)
		}
		kv[key] = val
		b = rest
	}
	u := &UEB{present: map[string]bool{}}
	for k := range kv {
		u.present[k] = true
	}
	hash := func(key string, dst *hashtree.Hash, required bool) (bool, error) {
		v, ok := kv[key]
		if !ok {
			if required {
				return false, fmt.Errorf("%w: missing %s", ErrUEB, key)
			}
			return false, nil
		}
		if len(v) != hashtree.HashSize {
			return false, fmt.Errorf("%w: %s has %d bytes", ErrUEB, key, len(v))
		}
		copy(dst[:], v)
		return true, nil
	}
	number := func(key string, required bool) (int64, bool, error) {
		v, ok := kv[key]
		if !ok {
			if required {
				return 0, false, fmt.Errorf("%w: missing %s", ErrUEB, key)
			}
			return 0, false, nil
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != string(v) {
			return 0, false, fmt.Errorf("%w: %s=%q is not a canonical number", ErrUEB, key, v)
		}
		return n, true, nil
	}
	var err error
	if _, err = hash("crypttext_root_hash", &u.CrypttextRootHash, true); err != nil {
		return nil, err
	}
	if _, err = hash("share_root_hash", &u.ShareRootHash, true); err != nil {
		return nil, err
	}
	if u.HasCrypttextHash, err = hash("crypttext_hash", &u.CrypttextHash, false); err != nil {
		return nil, err
	}
	if u.SegmentSize, _, err = number("segment_size", true); err != nil {
		return nil, err
	}
	var v int64
	if u.Size, _, err = number("size", false); err != nil {
		return nil, err
	}
	// Clamp before narrowing to int: the values are only compared.
	if v, _, err = number("num_segments", false); err != nil {
		return nil, err
	}
	u.NumSegments = int(min(v, 1<<40))
	if v, _, err = number("needed_shares", false); err != nil {
		return nil, err
	}
	u.K = int(min(v, 1<<20))
	if v, _, err = number("total_shares", false); err != nil {
		return nil, err
	}
	u.N = int(min(v, 1<<20))
	u.CodecName = string(kv["codec_name"])
	u.CodecParams = string(kv["codec_params"])
	u.TailCodecParams = string(kv["tail_codec_params"])
	return u, nil
}

// checkAgainst verifies that an authentic UEB (its hash matched the cap)
// describes the file the cap names, and returns the layout it implies.
// Tahoe ignores the redundant fields; we insist they agree, because a UEB
// that contradicts its own cap can only come from a broken encoder.
func (u *UEB) checkAgainst(v *cap.Verifier) (Layout, error) {
	bad := func(format string, a ...any) (Layout, error) {
		return Layout{}, fmt.Errorf("%w: %s", ErrUEB, fmt.Sprintf(format, a...))
	}
	if u.SegmentSize < 1 || u.SegmentSize > maxDecodeSegmentSize {
		return bad("segment size %d outside [1, %d]", u.SegmentSize, maxDecodeSegmentSize)
	}
	l, err := NewLayout(v.Size, v.K, v.N, u.SegmentSize)
	if err != nil {
		return bad("%v", err)
	}
	if u.has("size") && u.Size != v.Size {
		return bad("size %d, cap says %d", u.Size, v.Size)
	}
	if u.has("num_segments") && u.NumSegments != l.NumSegments {
		return bad("num_segments %d, expected %d", u.NumSegments, l.NumSegments)
	}
	if u.has("needed_shares") && u.K != v.K || u.has("total_shares") && u.N != v.N {
		return bad("shares %d-of-%d, cap says %d-of-%d", u.K, u.N, v.K, v.N)
	}
	want := newUEB(&l)
	if u.has("codec_name") && u.CodecName != codecName {
		return bad("unknown codec %q", u.CodecName)
	}
	if u.has("codec_params") && u.CodecParams != want.CodecParams {
		return bad("codec_params %q, expected %q", u.CodecParams, want.CodecParams)
	}
	if u.has("tail_codec_params") && u.TailCodecParams != want.TailCodecParams {
		return bad("tail_codec_params %q, expected %q", u.TailCodecParams, want.TailCodecParams)
	}
	return l, nil
}
