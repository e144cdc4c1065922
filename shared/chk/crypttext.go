package chk

import "github.com/communitycube/cube/shared/hashtree"

// NewCrypttextHasher returns a hasher for the UEB's crypttext_hash, the hash
// of the whole ciphertext (tag "allmydata_crypttext_v1", docs/spec/chk.md
// §7.2): write the whole ciphertext to it, in order, and take Sum. An
// uploader that sends ciphertext to a helper computes it while it encrypts,
// gives it at finish, and checks the returned UEB carries the same value.
func NewCrypttextHasher() *hashtree.Hasher { return hashtree.NewHasher(tagCrypttext) }
