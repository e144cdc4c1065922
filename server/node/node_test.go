package node

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/api"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type running struct {
	url  string
	logs *syncBuffer
	stop func() error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	urls := make(chan string, 1)
	cfg.Ready = func(r Running) { urls <- r.WebURL }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case u := <-urls:
		r := &running{url: u, logs: logs}
		var once sync.Once
		var err error
		r.stop = func() error {
			once.Do(func() { cancel(); err = <-done })
			return err
		}
		t.Cleanup(func() { r.stop() })
		return r
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("node did not start")
	}
	return nil
}

func TestRunServesAndStops(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Data: dir})
	resp, err := http.Get(r.url + "/api/v1/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("state: %d %v", resp.StatusCode, resp.Header)
	}
	// A second node on the same directory is refused.
	err = Run(context.Background(), Config{Addr: "127.0.0.1:0", Data: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second node on the same data: %v", err)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := http.Get(r.url + "/api/v1/state"); err == nil {
		t.Fatal("still serving after stop")
	}
	if !strings.Contains(r.logs.String(), "shutting down") {
		t.Fatal("no shutdown in the log")
	}
	// The lock is released: the directory can be served again.
	start(t, Config{Data: dir})
}

// Logs have one line per request and no secret: no password, no session
// token, no CSRF token, no query string.
func TestLogsHoldNoSecrets(t *testing.T) {
	r := start(t, Config{Data: t.TempDir()})
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	c := &api.Client{Base: r.url, Transport: api.HTTPTransport{Client: hc}}
	ctx := context.Background()
	const pw = "Marker-Password-Zebra-8841"
	st, err := c.Setup(ctx, "admin", pw)
	if err != nil {
		t.Fatal(err)
	}
	c.Login(ctx, "admin", pw+"wrong")
	if _, err := c.Login(ctx, "admin", pw); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(r.url + "/api/v1/state?token=query-secret-77")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.Logout(ctx)
	r.stop()
	logs := r.logs.String()
	secrets := []string{pw, "query-secret-77", st.CSRFToken, c.CSRF}
	u, _ := http.NewRequest("GET", r.url, nil)
	for _, k := range jar.Cookies(u.URL) {
		secrets = append(secrets, k.Value)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log contains a secret %q", s)
		}
	}
	if n := strings.Count(logs, "msg=request "); n < 5 {
		t.Errorf("%d request lines, want one per request:\n%s", n, logs)
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	r := start(t, Config{Data: filepath.Join(dir, "data"), TLSCert: certFile, TLSKey: keyFile})
	if !strings.HasPrefix(r.url, "https://") {
		t.Fatalf("url %s", r.url)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Post(r.url+"/api/v1/setup", "application/json", strings.NewReader(`{"name":"admin","password":"Quartz-Lantern-Meadow-71"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie && !c.Secure {
			t.Fatal("session cookie without Secure over TLS")
		}
	}
	// Half a TLS configuration is refused with a clear error.
	err = Run(context.Background(), Config{Addr: "127.0.0.1:0", Data: t.TempDir(), TLSCert: certFile, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "tls_key") {
		t.Fatalf("cert without key: %v", err)
	}
}
