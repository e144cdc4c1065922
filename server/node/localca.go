package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// LocalTLS is what CreateLocalTLS writes: a certificate authority that only
// this node uses (install ca.pem on your phone and computers once), and a
// server certificate for the node's LAN names and addresses, signed by it.
// Browsers then give the node a secure context (service worker, WebCrypto,
// installable PWA) on the LAN without any public name.
type LocalTLS struct {
	CAFile, CertFile, KeyFile string
}

// CreateLocalTLS creates (or, if the CA exists, reuses) the local CA in
// dir/tls and issues a fresh server certificate for hosts (IP addresses or
// names). The CA key stays in dir/tls/ca-key.pem, readable by the owner only.
func CreateLocalTLS(dir string, hosts []string, now time.Time) (LocalTLS, error) {
	if len(hosts) == 0 {
		return LocalTLS{}, errors.New("give at least one host name or address")
	}
	tdir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tdir, 0o700); err != nil {
		return LocalTLS{}, err
	}
	out := LocalTLS{
		CAFile:   filepath.Join(tdir, "ca.pem"),
		CertFile: filepath.Join(tdir, "cert.pem"),
		KeyFile:  filepath.Join(tdir, "key.pem"),
	}
	caKeyFile := filepath.Join(tdir, "ca-key.pem")
	caCert, caKey, err := loadCA(out.CAFile, caKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		caCert, caKey, err = newCA(out.CAFile, caKeyFile, now)
	}
	if err != nil {
		return LocalTLS{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return LocalTLS{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"CommunityCube node"}},
		NotBefore:    now.Add(-time.Hour),
		// Apple platforms refuse server certificates valid for more than 825 days.
		NotAfter:    now.Add(825 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return LocalTLS{}, err
	}
	if err := writePEM(out.CertFile, "CERTIFICATE", der, 0o644); err != nil {
		return LocalTLS{}, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return LocalTLS{}, err
	}
	return out, writePEM(out.KeyFile, "EC PRIVATE KEY", kder, 0o600)
}

func newCA(certFile, keyFile string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "CommunityCube local CA (" + host + ")", Organization: []string{"CommunityCube"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// It can only sign server certificates for this node's own use.
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", kder, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func loadCA(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kp.Bytes)
	return cert, key, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

func writePEM(name, typ string, der []byte, mode os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// LANAddresses lists this machine's non-loopback IP addresses, the names a
// phone on the same network would use to reach the node.
func LANAddresses() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, ipn.IP.String())
	}
	return out
}
