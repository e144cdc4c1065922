package api

import (
	"context"
	"net/http"
)

// SessionKeyRequest is the (empty) body of POST session/key.
type SessionKeyRequest struct{}

// SessionKey is the answer of POST session/key: 32 random bytes the node
// keeps in memory for this session only (never on disk), the same on every
// call within the session, dropped at sign-out or when the session ends,
// and forgotten when the node restarts. The browser seals its unlocked keys
// in sessionStorage under it, so a reload need not ask the password again;
// a new key (another session, or a restarted node) means the sealed keys
// cannot be opened and the password is asked again.
type SessionKey struct {
	Key []byte `json:"key"`
}

// SessionKey returns this session's key (see SessionKey).
func (c *Client) SessionKey(ctx context.Context) ([]byte, error) {
	var k SessionKey
	err := c.Do(ctx, http.MethodPost, Prefix+"session/key", SessionKeyRequest{}, &k)
	return k.Key, err
}
