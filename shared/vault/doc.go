// Package vault is CommunityCube's client-side key hierarchy: the account's
// keys and their wrapping under the password and the recovery key, node
// (folder and file) keys, sealed metadata, name HMACs, items with their own
// password, and sealed boxes to a public key. The browser (Go compiled to
// WebAssembly) and the cube CLI use it; the node only stores what it
// produces. The design is docs/files.md; every byte is specified in
// docs/spec/keys.md, whose test vectors TestSpecVectors checks.
//
// The account:
//
//	b, u, rk, err := vault.NewAccount(password, vault.DefaultKDFParams) // show rk.String() once
//	data, _ := b.MarshalBinary()                                       // api.Keys.Bundle
//	b, _ = vault.ParseBundle(data)
//	u, err = b.Unlock(password)              // ErrWrongPassword
//	u, err = b.UnlockWithRecovery(rk)        // ErrWrongRecoveryKey
//	b, err = u.ChangePassword(b, newPassword, vault.DefaultKDFParams)
//
// The tree: each node has a random Key. A child's key is wrapped under its
// parent's (Wrap with NodeKeySlot); the child's FolderMeta or FileMeta is
// sealed under the parent's MetaKey (SealMeta with MetaSlot) and its name
// hashed with the parent's key (NameHMAC); a file's VersionMetas are sealed
// under the file's own MetaKey (VersionSlot).
//
// # Secrets in memory
//
// Keys are arrays, and the package clears its own copies of derived keys,
// password bytes and plaintext keys when done, and Unlocked.Zero clears an
// account's keys. Go does not let this be complete: strings (passwords, a
// recovery key's text) are immutable and cannot be cleared; the garbage
// collector may have copied values while moving stacks; the AEAD and
// X25519 implementations keep private copies of keys that cannot be
// reached; Argon2id's 64 MiB work area is freed but not cleared; and in
// the browser the JavaScript side holds its own copies. Zeroing narrows
// the window in which a memory dump reveals keys; it does not close it.
package vault
