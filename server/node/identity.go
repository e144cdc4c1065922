package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/communitycube/cube/server/grid/storage"
)

// PrivateDir holds a node's secrets inside its data directory (mode 0700).
const PrivateDir = "private"

// Identity is everything secret that makes a node itself: the Ed25519 key
// that signs its announcements, the TLS identity of its grid listener (with
// the storage swissnum), the swissnums of its other roles, and the
// convergence secret of its uploads.
type Identity struct {
	Key                ed25519.PrivateKey
	TLS                *storage.Identity
	IntroducerSwissnum string
	HelperSwissnum     string
	ControlSwissnum    string // for local tools: `cube status`
	ConvergenceSecret  []byte
	// LeaseSecret is the master secret of the leases this node's uploads
	// add; per-server lease secrets derive from it.
	LeaseSecret []byte
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NodeID is "v0-" and the base32 public key, as Tahoe-LAFS writes server ids.
func (id *Identity) NodeID() string {
	return "v0-" + b32.EncodeToString(id.Key.Public().(ed25519.PublicKey))
}

// PermutationSeed is what the node announces for server selection: the
// first 20 bytes of SHA-256 of its public key (docs/grid.md).
func (id *Identity) PermutationSeed() []byte {
	sum := sha256.Sum256(id.Key.Public().(ed25519.PublicKey))
	return sum[:20]
}

// LoadOrCreateIdentity reads the node's secrets from DIR/private, creating
// whatever is missing (files with mode 0600).
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	pdir := filepath.Join(dir, PrivateDir)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(filepath.Join(pdir, "node.key"))
	if err != nil {
		return nil, err
	}
	tlsID, err := storage.LoadOrCreateIdentity(pdir)
	if err != nil {
		return nil, err
	}
	id := &Identity{Key: key, TLS: tlsID}
	for _, s := range []struct {
		file string
		dst  *string
	}{{"introducer-swissnum", &id.IntroducerSwissnum}, {"helper-swissnum", &id.HelperSwissnum}, {"control-swissnum", &id.ControlSwissnum}} {
		if *s.dst, err = loadOrCreateSecret(filepath.Join(pdir, s.file), storage.NewSwissnum); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		file string
		dst  *[]byte
	}{{"convergence", &id.ConvergenceSecret}, {"lease-secret", &id.LeaseSecret}} {
		enc, err := loadOrCreateSecret(filepath.Join(pdir, s.file), randomBase32)
		if err != nil {
			return nil, err
		}
		if *s.dst, err = b32.DecodeString(enc); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(pdir, s.file), err)
		}
	}
	return id, nil
}

func randomBase32() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return b32.EncodeToString(b[:]), nil
}

func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "ED25519 PRIVATE KEY" || len(blk.Bytes) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s is not a node key", path)
		}
		return ed25519.NewKeyFromSeed(blk.Bytes), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return key, writeSecret(path, pem.EncodeToMemory(&pem.Block{Type: "ED25519 PRIVATE KEY", Bytes: key.Seed()}))
}

func loadOrCreateSecret(path string, gen func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := string(b)
		for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
			s = s[:len(s)-1]
		}
		if s == "" {
			return "", fmt.Errorf("%s is empty", path)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	s, err := gen()
	if err != nil {
		return "", err
	}
	return s, writeSecret(path, []byte(s+"\n"))
}

func writeSecret(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
