package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Hasher hashes passwords with Argon2id and encodes them as PHC strings
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so parameters can be raised
// later without breaking stored hashes: Verify reports when a hash should be
// redone with the current parameters.
type Hasher struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
	// slots bounds how many hashes run at once: each holds MemoryKiB of RAM,
	// and a burst of logins must not exhaust the machine.
	slots chan struct{}
}

// NewHasher returns a Hasher with the given cost; see docs/accounts.md.
func NewHasher(time, memoryKiB uint32, threads uint8) *Hasher {
	n := runtime.NumCPU()
	if n < 2 {
		n = 2
	}
	return &Hasher{Time: time, MemoryKiB: memoryKiB, Threads: threads, slots: make(chan struct{}, n)}
}

// DefaultHasher is the node's cost: 64 MiB, 3 passes, 2 lanes (RFC 9106's
// second recommended option, with the lanes matched to a small server).
func DefaultHasher() *Hasher { return NewHasher(3, 64*1024, 2) }

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of password under a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.Time, h.MemoryKiB, h.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.MemoryKiB, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("stored password hash is malformed")

type phc struct {
	m, t uint32
	p    uint8
	salt []byte
	key  []byte
}

func parsePHC(s string) (phc, error) {
	var out phc
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return out, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return out, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &out.m, &out.t, &out.p); err != nil {
		return out, errBadHash
	}
	var err error
	if out.salt, err = b64.DecodeString(parts[4]); err != nil {
		return out, errBadHash
	}
	if out.key, err = b64.DecodeString(parts[5]); err != nil || len(out.key) == 0 {
		return out, errBadHash
	}
	if out.t == 0 || out.p == 0 || out.m < 8*uint32(out.p) {
		return out, errBadHash
	}
	return out, nil
}

// Verify reports whether password matches the PHC string, and whether the
// hash used other parameters than h (so the caller can store a fresh hash).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), p.salt, p.t, p.m, p.p, uint32(len(p.key)))
	ok = subtle.ConstantTimeCompare(key, p.key) == 1
	stale = p.m != h.MemoryKiB || p.t != h.Time || p.p != h.Threads || len(p.key) != keyLen
	return ok, stale, nil
}
