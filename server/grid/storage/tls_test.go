package storage_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/shared/nurl"
)

func TestIdentityPersistence(t *testing.T) {
	dir := t.TempDir()
	id, err := storage.LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Swissnum) != 52 {
		t.Fatalf("swissnum %q: want 52 base32 characters (32 bytes)", id.Swissnum)
	}
	// No extensions at all, so OpenSSL (and thus Tahoe) classifies the
	// certificate as plainly self-signed.
	if len(id.Leaf.Extensions) != 0 {
		t.Fatalf("certificate has %d extensions", len(id.Leaf.Extensions))
	}
	if id.Leaf.NotAfter.Year() != 9999 {
		t.Fatalf("NotAfter = %v", id.Leaf.NotAfter)
	}
	for _, f := range []string{storage.IdentityKeyFile, storage.IdentitySwissnumFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	again, err := storage.LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.SPKIHash() != id.SPKIHash() || again.Swissnum != id.Swissnum || again.NodeID() != id.NodeID() {
		t.Fatal("identity changed on reload")
	}
	n, err := id.NURL("storage.example", 443)
	if err != nil {
		t.Fatal(err)
	}
	back, err := nurl.Parse(n.String())
	if err != nil || back != n || back.SPKIHash != id.SPKIHash() {
		t.Fatalf("NURL %s: %v", n, err)
	}

	// Half an identity is an error, not a silent replacement.
	if err := os.Remove(filepath.Join(dir, storage.IdentityCertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.LoadOrCreateIdentity(dir); err == nil {
		t.Fatal("identity with a missing certificate accepted")
	}
}

// TestOpenSSLSeesSelfSigned checks the property Tahoe's client depends on:
// OpenSSL's verifier must report our certificate as "self-signed" (code
// 18), one of the few results Tahoe's pinning callback accepts.
func TestOpenSSLSeesSelfSigned(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	g := storagetest.NewGrid(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", g.Nodes[0].NURL.Address(), "-verify_return_error", "-brief")
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	// X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
	if !strings.Contains(string(out), "num=18:") {
		t.Fatalf("openssl s_client output:\n%s", out)
	}
}
