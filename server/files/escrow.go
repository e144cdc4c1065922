package files

import (
	"encoding/hex"
	"sync"
	"time"
)

// Escrow holds the escrow keys of unlocked sessions (POST unlock), in
// process memory only: never in the database, on disk or in a log. An entry
// is keyed by the hash of the session's token and dropped when the session
// ends (sign-out, password change, recovery, a disabled account) or
// expires; a dropped key is overwritten with zeros. Safe for concurrent use.
type Escrow struct {
	mu sync.Mutex
	m  map[string]*escrowEntry
}

type escrowEntry struct {
	user    int64
	key     []byte
	expires time.Time
}

// NewEscrow returns an empty Escrow.
func NewEscrow() *Escrow { return &Escrow{m: map[string]*escrowEntry{}} }

func escrowID(tokenHash []byte) string { return hex.EncodeToString(tokenHash) }

// Put keeps a copy of key for the session whose token hashes to tokenHash,
// until expires.
func (e *Escrow) Put(tokenHash []byte, user int64, expires time.Time, key []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := escrowID(tokenHash)
	if old := e.m[id]; old != nil {
		clear(old.key)
	}
	e.m[id] = &escrowEntry{user: user, key: append([]byte(nil), key...), expires: expires}
}

// Get returns a copy of the session's escrow key, if it is unlocked.
func (e *Escrow) Get(tokenHash []byte, now time.Time) ([]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := escrowID(tokenHash)
	en := e.m[id]
	if en == nil {
		return nil, false
	}
	if !now.Before(en.expires) {
		clear(en.key)
		delete(e.m, id)
		return nil, false
	}
	return append([]byte(nil), en.key...), true
}

// GetOrCreate returns a copy of the session's key, first making one with
// gen if the session has none (or it expired): the same value for the same
// session on every call, even concurrent ones.
func (e *Escrow) GetOrCreate(tokenHash []byte, user int64, expires, now time.Time, gen func() ([]byte, error)) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := escrowID(tokenHash)
	if en := e.m[id]; en != nil {
		if now.Before(en.expires) && en.user == user {
			return append([]byte(nil), en.key...), nil
		}
		clear(en.key)
		delete(e.m, id)
	}
	key, err := gen()
	if err != nil {
		return nil, err
	}
	e.m[id] = &escrowEntry{user: user, key: key, expires: expires}
	return append([]byte(nil), key...), nil
}

// Unlocked reports whether the user has an unlocked session.
func (e *Escrow) Unlocked(user int64, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, en := range e.m {
		if en.user == user && now.Before(en.expires) {
			return true
		}
	}
	return false
}

// Drop forgets the session's key.
func (e *Escrow) Drop(tokenHash []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := escrowID(tokenHash)
	if en := e.m[id]; en != nil {
		clear(en.key)
		delete(e.m, id)
	}
}

// DropUser forgets the keys of every session of user except keep's (a
// token hash, or nil).
func (e *Escrow) DropUser(user int64, keep []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := ""
	if keep != nil {
		k = escrowID(keep)
	}
	for id, en := range e.m {
		if en.user == user && id != k {
			clear(en.key)
			delete(e.m, id)
		}
	}
}

// Sweep forgets the keys of expired sessions and of those alive says have
// ended (nil: only expiry counts). It returns how many it forgot.
func (e *Escrow) Sweep(now time.Time, alive func(tokenHash []byte) bool) int {
	e.mu.Lock()
	ids := make([]string, 0, len(e.m))
	for id := range e.m {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	n := 0
	for _, id := range ids {
		th, _ := hex.DecodeString(id)
		e.mu.Lock()
		en := e.m[id]
		e.mu.Unlock()
		if en == nil {
			continue
		}
		if now.Before(en.expires) && (alive == nil || alive(th)) {
			continue
		}
		e.mu.Lock()
		if cur := e.m[id]; cur == en {
			clear(en.key)
			delete(e.m, id)
			n++
		}
		e.mu.Unlock()
	}
	return n
}

// Len is the number of unlocked sessions.
func (e *Escrow) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.m)
}
