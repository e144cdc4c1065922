package node

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// A browser that trusts ca.pem reaches the node by its LAN address over
// HTTPS with full verification.
func TestLocalTLSVerifiesWithItsCA(t *testing.T) {
	dir := t.TempDir()
	files, err := CreateLocalTLS(dir, []string{"127.0.0.1", "cube.lan"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(files.KeyFile); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode())
	}
	r := start(t, Config{Data: dir + "/data", TLSCert: files.CertFile, TLSKey: files.KeyFile})
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(files.CAFile)
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(r.url + "/api/v1/state")
	if err != nil {
		t.Fatalf("verified HTTPS: %v", err)
	}
	resp.Body.Close()
	// Without the CA, verification fails (the certificate is not public).
	if _, err := http.Get(r.url + "/api/v1/state"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unverified client: %v", err)
	}
	// A second call keeps the CA (phones need to install it only once).
	caBefore, _ := os.ReadFile(files.CAFile)
	if _, err := CreateLocalTLS(dir, []string{"10.0.0.7"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	caAfter, _ := os.ReadFile(files.CAFile)
	if string(caBefore) != string(caAfter) {
		t.Fatal("the CA was replaced")
	}
}
