package storage

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/nurl"
)

// File names of a node's storage identity inside its directory.
const (
	IdentityCertFile     = "storage-tls.crt"
	IdentityKeyFile      = "storage-tls.key"
	IdentitySwissnumFile = "storage-swissnum"
)

// Identity is a storage node's TLS certificate and key plus the swissnum
// clients must present. Together with a host and port they make the node's
// NURL. Clients authenticate the node by the SHA-256 hash of the
// certificate's public key (SPKI), so the certificate may be regenerated
// with the same key without changing the NURL.
type Identity struct {
	Certificate tls.Certificate
	Leaf        *x509.Certificate
	Swissnum    string
}

// swissnumEncoding spells swissnums in lowercase unpadded base32, which is
// URL-safe and unambiguous (Tahoe's Foolscap swissnums look the same).
var swissnumEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSwissnum returns a fresh swissnum encoding 32 random bytes.
func NewSwissnum() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return swissnumEncoding.EncodeToString(b[:]), nil
}

// LoadOrCreateIdentity loads the identity stored in dir, creating whatever
// is missing: a self-signed ECDSA P-256 certificate and key, and a swissnum.
// Files are written atomically with mode 0600. If only one of the
// certificate and key exists, it fails rather than silently replacing the
// node's identity.
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, IdentityCertFile)
	keyPath := filepath.Join(dir, IdentityKeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		certPEM, keyPEM, err := newSelfSignedCert()
		if err != nil {
			return nil, err
		}
		// Key first: a crash between the two leaves only a key, which the
		// check above then reports instead of overwriting.
		if err := writeFileAtomic(keyPath, keyPEM); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(certPath, certPEM); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("storage: %s: need both %s and %s, or neither", dir, IdentityCertFile, IdentityKeyFile)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("storage: loading TLS identity: %w", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}

	swissPath := filepath.Join(dir, IdentitySwissnumFile)
	b, err := os.ReadFile(swissPath)
	if errors.Is(err, fs.ErrNotExist) {
		sw, err := NewSwissnum()
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(swissPath, []byte(sw+"\n")); err != nil {
			return nil, err
		}
		b = []byte(sw)
	} else if err != nil {
		return nil, err
	}
	sw := strings.TrimSpace(string(b))
	if sw == "" || len(sw) > nurl.MaxSwissnumLen {
		return nil, fmt.Errorf("storage: %s is empty or too long", swissPath)
	}
	return &Identity{Certificate: cert, Leaf: leaf, Swissnum: sw}, nil
}

// newSelfSignedCert makes a certificate with no extensions at all. That is
// what Tahoe's own (Foolscap) node certificates look like, and it matters:
// Tahoe's client only accepts OpenSSL's "self-signed" verification results,
// and OpenSSL treats a certificate as self-signed only if any keyUsage
// extension allows certificate signing. The validity runs to 9999-12-31,
// RFC 5280's "no well-defined expiration date"; the pinned key, not the
// dates, is what identifies the node.
func newSelfSignedCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "CommunityCube storage node"},
		NotBefore:    time.Now().Add(-time.Hour).UTC(),
		NotAfter:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to path via a synced temporary file and a
// rename, then syncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// SPKIHash returns the hash clients pin.
func (id *Identity) SPKIHash() string { return nurl.SPKIHash(id.Leaf) }

// NodeID derives the 20-byte node id recorded in mutable containers from
// the public key, so it is stable across certificate renewals.
func (id *Identity) NodeID() [20]byte {
	sum := sha256.Sum256(id.Leaf.RawSubjectPublicKeyInfo)
	var out [20]byte
	copy(out[:], sum[:])
	return out
}

// NURL returns the node's NURL for the address clients should dial.
func (id *Identity) NURL(host string, port uint16) (nurl.NURL, error) {
	return nurl.New(id.Leaf, host, port, id.Swissnum)
}

// TLSConfig returns a server TLS configuration presenting the identity.
// Client certificates are not requested: clients are authorized by the
// swissnum.
func (id *Identity) TLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Certificate},
		MinVersion:   tls.VersionTLS12,
	}
}
