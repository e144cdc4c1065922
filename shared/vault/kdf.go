package vault

import (
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// KDFParams is the cost of the password derivation, Argon2id (RFC 9106,
// version 0x13). The salt is not a parameter: it is always drawn fresh.
type KDFParams struct {
	MemoryKiB uint32 // m
	Time      uint32 // t, passes
	Lanes     uint8  // p, parallelism
}

// DefaultKDFParams: 64 MiB, 3 passes, 1 lane (docs/files.md).
var DefaultKDFParams = KDFParams{MemoryKiB: 64 << 10, Time: 3, Lanes: 1}

// Salt sizes: SaltSize is what this code draws; stored salts of
// minSaltSize..maxSaltSize bytes are accepted.
const (
	SaltSize    = 16
	minSaltSize = 16
	maxSaltSize = 64
)

// kdfLimits are the accepted parameters (docs/spec/keys.md §2). The floor
// follows OWASP's Argon2id minimums (19 MiB with 2 passes, or more memory
// with fewer passes: memory × passes ≥ 38 MiB); the ceiling keeps a hostile
// node from exhausting the client. Tests lower the floor to run quickly.
var kdfLimits = struct {
	minMemKiB, maxMemKiB uint32
	minTime, maxTime     uint32
	minCostKiB           uint64 // memory × passes
	maxLanes             uint8
}{19 << 10, 1 << 20, 1, 10, 38 << 10, 16}

// Validate reports (ErrKDFParams) whether p is acceptable: memory 19 MiB to
// 1 GiB, 1 to 10 passes, memory × passes at least 38 MiB, 1 to 16 lanes.
func (p KDFParams) Validate() error {
	l := kdfLimits
	switch {
	case p.MemoryKiB < l.minMemKiB:
		return fmt.Errorf("%w: memory %d KiB is below the minimum %d KiB", ErrKDFParams, p.MemoryKiB, l.minMemKiB)
	case p.MemoryKiB > l.maxMemKiB:
		return fmt.Errorf("%w: memory %d KiB is above the maximum %d KiB", ErrKDFParams, p.MemoryKiB, l.maxMemKiB)
	case p.Time < l.minTime || p.Time > l.maxTime:
		return fmt.Errorf("%w: %d passes (allowed: %d to %d)", ErrKDFParams, p.Time, l.minTime, l.maxTime)
	case uint64(p.MemoryKiB)*uint64(p.Time) < l.minCostKiB:
		return fmt.Errorf("%w: memory × passes = %d KiB is below the minimum %d KiB", ErrKDFParams, uint64(p.MemoryKiB)*uint64(p.Time), l.minCostKiB)
	case p.Lanes < 1 || p.Lanes > l.maxLanes:
		return fmt.Errorf("%w: %d lanes (allowed: 1 to %d)", ErrKDFParams, p.Lanes, l.maxLanes)
	}
	return nil
}

// idKey is Argon2id; the vector test memoises it.
var idKey = argon2.IDKey

// passwordKey derives the key a password wraps: Argon2id over the password
// in Unicode NFC, 32 bytes. The caller has validated p and the salt.
func passwordKey(password string, salt []byte, p KDFParams) (Key, error) {
	if password == "" {
		return Key{}, ErrEmptyPassword
	}
	pw := []byte(norm.NFC.String(password))
	defer clear(pw)
	out := idKey(pw, salt, p.Time, p.MemoryKiB, p.Lanes, KeySize)
	defer clear(out)
	return Key(out), nil
}

// storedKDF is the KDF as stored: parameters and salt.
type storedKDF struct {
	params KDFParams
	salt   []byte
}

const algArgon2id = "argon2id"

func newStoredKDF(p KDFParams) (storedKDF, error) {
	if err := p.Validate(); err != nil {
		return storedKDF{}, err
	}
	s := storedKDF{params: p, salt: make([]byte, SaltSize)}
	random(s.salt)
	return s, nil
}

func (s storedKDF) check() error {
	if n := len(s.salt); n < minSaltSize || n > maxSaltSize {
		return fmt.Errorf("%w: salt of %d bytes", ErrCorrupt, n)
	}
	return nil
}

// derive validates the stored parameters (they come from the node) and
// derives the password key.
func (s storedKDF) derive(password string) (Key, error) {
	if err := s.check(); err != nil {
		return Key{}, err
	}
	if err := s.params.Validate(); err != nil {
		return Key{}, err
	}
	return passwordKey(password, s.salt, s.params)
}

// cbor is the KDF map: {"alg": "argon2id", "m": uint, "p": uint, "salt": bstr, "t": uint}.
func (s storedKDF) cbor() *cborMap {
	var m cborMap
	m.addText("alg", algArgon2id)
	m.addBytes("salt", s.salt)
	m.addUint("m", uint64(s.params.MemoryKiB))
	m.addUint("t", uint64(s.params.Time))
	m.addUint("p", uint64(s.params.Lanes))
	return &m
}

func readKDF(r *cborReader) (storedKDF, error) {
	var s storedKDF
	var alg string
	seen := 0
	err := r.fields("kdf", 5, func(key string) error {
		var err error
		var n uint64
		switch key {
		case "alg":
			alg, err = r.text(key, 32)
		case "salt":
			s.salt, err = r.bytes(key, maxSaltSize)
		case "m":
			n, err = r.uint(key, math.MaxUint32)
			s.params.MemoryKiB = uint32(n)
		case "t":
			n, err = r.uint(key, math.MaxUint32)
			s.params.Time = uint32(n)
		case "p":
			n, err = r.uint(key, math.MaxUint8)
			s.params.Lanes = uint8(n)
		default:
			return r.unknown("kdf", key)
		}
		seen++
		return err
	})
	if err != nil {
		return s, err
	}
	if seen != 5 {
		return s, fmt.Errorf("%w: kdf: missing fields", ErrCorrupt)
	}
	if alg != algArgon2id {
		return s, fmt.Errorf("%w: password derivation %q", ErrVersion, alg)
	}
	return s, s.check()
}

// LockItem protects key, the key of node nodeID, with the item's own
// password. It returns the lock (the KDF parameters and a fresh salt, for the
// node's "lock" column) and key wrapped under the password key (the node's
// "wrapped_key" column, in place of the wrap under the parent folder).
func LockItem(key Key, nodeID, password string, p KDFParams) (lock, wrapped []byte, err error) {
	s, err := newStoredKDF(p)
	if err != nil {
		return nil, nil, err
	}
	pk, err := passwordKey(password, s.salt, p)
	if err != nil {
		return nil, nil, err
	}
	defer pk.Zero()
	return s.cbor().encode(), Wrap(pk, key, lockSlot(nodeID)), nil
}

// UnlockItem recovers the key LockItem protected. A wrong password gives
// ErrWrongPassword; a lock with unacceptable parameters ErrKDFParams
// (checked before any work).
func UnlockItem(lock, wrapped []byte, nodeID, password string) (Key, error) {
	if len(lock) > 256 {
		return Key{}, fmt.Errorf("%w: lock of %d bytes", ErrCorrupt, len(lock))
	}
	r := &cborReader{b: lock}
	s, err := readKDF(r)
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return Key{}, err
	}
	if err := checkWrapped(wrapped); err != nil { // before the expensive derivation
		return Key{}, err
	}
	pk, err := s.derive(password)
	if err != nil {
		return Key{}, err
	}
	defer pk.Zero()
	k, err := Unwrap(pk, wrapped, lockSlot(nodeID))
	if errors.Is(err, ErrCorrupt) {
		return Key{}, ErrWrongPassword
	}
	return k, err
}
