// Package cubetest starts real `cube run` nodes for tests outside the node's
// own packages (the CLI, shared/drive): the binary under test, on a loopback
// port, with an administrator, stopped by its PID when the test ends.
package cubetest

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Password is the administrator's password (strong enough for the node's rule).
const Password = "Quartz-Lantern-Meadow-71"

// Admin is the administrator's name.
const Admin = "admin"

// Binary is bin/cube when `make test` built it (CUBE_BIN), else a fresh build.
func Binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CUBE_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "cube")
	cmd := exec.Command("go", "build", "-o", out, "github.com/communitycube/cube/cmd/cube")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building cube: %v", err)
	}
	return out
}

// Node is a running node.
type Node struct {
	Bin  string // the cube binary
	Dir  string // the test's directory
	Data string // the node's data directory
	Log  string // the node's standard output and error
	URL  string
	// Stop stops the node (SIGTERM, then SIGKILL after 30 s) and waits for
	// it; it is also called when the test ends.
	Stop func()
}

var runningRE = regexp.MustCompile(`msg="CommunityCube node running" url=(\S+)`)

// Start starts a node and creates its administrator (Admin, Password).
// Skipped with -short.
func Start(t *testing.T) *Node {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a node: skipped in -short mode")
	}
	n := &Node{Bin: Binary(t), Dir: t.TempDir()}
	n.Data, n.Log = filepath.Join(n.Dir, "data"), filepath.Join(n.Dir, "node.log")
	f, err := os.Create(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(n.Bin, "run", "--addr", "127.0.0.1:0", "--data", n.Data)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	n.Stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(n.Stop)
	for start := time.Now(); n.URL == ""; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(n.Log)
		if m := runningRE.FindSubmatch(b); m != nil {
			n.URL = string(m[1])
			break
		}
		select {
		case <-done:
			t.Fatalf("the node exited:\n%s", b)
		default:
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("the node did not start:\n%s", b)
		}
	}
	resp, err := http.Post(n.URL+"/api/v1/setup", "application/json", strings.NewReader(`{"name":"`+Admin+`","password":"`+Password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("setup: %s", resp.Status)
	}
	return n
}
