// Package integration runs a whole grid as separate `cube` processes on
// loopback: an introducer, ten storage nodes and a helper node. It is the
// proof that the parts work together as a user would run them.
package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/communitycube/cube/shared/cap"
)

// cubeBinary is bin/cube when `make test` built it (CUBE_BIN), else a fresh build.
func cubeBinary(t *testing.T) string {
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

type grid struct {
	t      *testing.T
	bin    string
	dir    string
	mu     sync.Mutex
	procs  map[string]*exec.Cmd
	intro  string
	helper string // data dir of the helper node
}

func freePorts(t *testing.T, n int) []int {
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func (g *grid) cube(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("cube %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (g *grid) mustCube(args ...string) string {
	g.t.Helper()
	start := time.Now()
	defer func() { g.t.Logf("%.1fs cube %s", time.Since(start).Seconds(), args[0]) }()
	out, err := g.cube(args...)
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}

func (g *grid) start(name string) {
	g.t.Helper()
	log, err := os.OpenFile(filepath.Join(g.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		g.t.Fatal(err)
	}
	cmd := exec.Command(g.bin, "run", "--data", filepath.Join(g.dir, name))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	go func() { cmd.Wait(); log.Close() }()
	g.mu.Lock()
	g.procs[name] = cmd
	g.mu.Unlock()
}

// kill stops a node abruptly (SIGKILL, by PID): no chance to clean up.
func (g *grid) kill(name string) {
	g.mu.Lock()
	cmd := g.procs[name]
	delete(g.procs, name)
	g.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill()
		for cmd.ProcessState == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (g *grid) killAll() {
	g.mu.Lock()
	names := make([]string, 0, len(g.procs))
	for n := range g.procs {
		names = append(names, n)
	}
	g.mu.Unlock()
	for _, n := range names {
		g.kill(n)
	}
}

// waitConnected waits until the helper node sees want connected servers.
func (g *grid) waitConnected(want int) {
	g.t.Helper()
	start := time.Now()
	defer func() { g.t.Logf("%.1fs waiting for %d servers", time.Since(start).Seconds(), want) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := g.cube("status", "--node", g.helper)
		if err == nil && strings.Contains(out, fmt.Sprintf("%d connected", want)) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	out, _ := g.cube("status", "--node", g.helper)
	g.t.Fatalf("the helper node never saw %d connected servers:\n%s", want, out)
}

func newGrid(t *testing.T) *grid {
	if testing.Short() {
		t.Skip("multi-process grid test skipped in -short mode")
	}
	g := &grid{t: t, bin: cubeBinary(t), dir: t.TempDir(), procs: map[string]*exec.Cmd{}}
	t.Cleanup(g.killAll)
	ports := freePorts(t, 12)
	g.intro = strings.TrimSpace(g.mustCube("create-introducer", "--data", filepath.Join(g.dir, "introducer"), "--listen", fmt.Sprintf("127.0.0.1:%d", ports[0])))
	for i := 1; i <= 10; i++ {
		g.mustCube("create-node", "--data", filepath.Join(g.dir, fmt.Sprintf("storage%d", i)), "--listen", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--introducer", g.intro, "--storage", "--nickname", fmt.Sprintf("storage%d", i), "--reserved-space", "0")
	}
	g.helper = filepath.Join(g.dir, "helper")
	g.mustCube("create-node", "--data", g.helper, "--listen", fmt.Sprintf("127.0.0.1:%d", ports[11]), "--introducer", g.intro, "--helper", "--nickname", "helper")
	g.start("introducer")
	for i := 1; i <= 10; i++ {
		g.start(fmt.Sprintf("storage%d", i))
	}
	g.start("helper")
	// The CLI asks the helper node for its servers; it must be answering.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(g.helper, "private", "nurls.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("helper node did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.waitConnected(10)
	return g
}

// sharesOf lists, per storage node, the share files of a storage index.
func (g *grid) sharesOf(si string) map[string][]string {
	out := map[string][]string{}
	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("storage%d", i)
		root := filepath.Join(g.dir, name, "storage", "shares")
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == si {
				out[name] = append(out[name], p)
			}
			return nil
		})
	}
	return out
}

func (g *grid) setReserved(name, reserved string) {
	g.t.Helper()
	p := filepath.Join(g.dir, name, "node.json")
	var c map[string]any
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &c); err != nil {
		g.t.Fatal(err)
	}
	c["storage"].(map[string]any)["reserved_space"] = reserved
	b, _ = json.MarshalIndent(c, "", "  ")
	os.WriteFile(p, b, 0o600)
}

func randomFile(t *testing.T, dir string, size int) (string, []byte) {
	data := make([]byte, size)
	rand.Read(data)
	p := filepath.Join(dir, "file-"+strconv.Itoa(size))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

func siOf(t *testing.T, readCap string) string {
	c, err := cap.ParseCHK(readCap)
	if err != nil {
		t.Fatalf("%q: %v", readCap, err)
	}
	si := c.StorageIndex()
	return cap.EncodeBase32(si[:])
}

func TestGridOfProcesses(t *testing.T) {
	g := newGrid(t)
	work := t.TempDir()

	// Put 64 MiB through the helper: 3-of-10 on ten distinct servers.
	file, data := randomFile(t, work, 64<<20)
	readCap := strings.TrimSpace(g.mustCube("put", "--node", g.helper, file))
	if !strings.HasPrefix(readCap, "URI:CHK:") || !strings.HasSuffix(readCap, ":3:10:67108864") {
		t.Fatalf("cap %q", readCap)
	}
	si := siOf(t, readCap)
	shares := g.sharesOf(si)
	if len(shares) != 10 {
		t.Fatalf("shares on %d servers, want 10: %v", len(shares), shares)
	}
	status := g.mustCube("status", "--node", g.helper)
	for _, want := range []string{"roles: helper", "10 known, 10 connected", "storage10", "1 completed"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}

	// Without a helper: the CLI learns the servers from the introducer and
	// stores the shares itself; any client reads them back.
	direct, directData := randomFile(t, work, 5<<20+3)
	directCap := strings.TrimSpace(g.mustCube("put", "--node", g.intro, "--config", filepath.Join(work, "client"), direct))
	if n := len(g.sharesOf(siOf(t, directCap))); n != 10 {
		t.Fatalf("direct upload: shares on %d servers", n)
	}
	directOut := filepath.Join(work, "direct.out")
	g.mustCube("get", "--node", g.helper, directCap, directOut)
	if got, _ := os.ReadFile(directOut); !bytes.Equal(got, directData) {
		t.Fatal("direct upload came back different")
	}

	// Kill three storage nodes: the file still comes back, byte-identical.
	for _, n := range []string{"storage1", "storage2", "storage3"} {
		g.kill(n)
	}
	out := filepath.Join(work, "out")
	g.mustCube("get", "--node", g.helper, readCap, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("file differs after losing three servers")
	}

	// Flip bytes in the shares of four live nodes: exactly three good shares
	// remain. The get still succeeds; the corruption is reported to the
	// servers holding the bad shares.
	corrupted := []string{"storage4", "storage5", "storage6", "storage7"}
	for _, n := range corrupted {
		p := shares[n][0]
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1000; i < 1016; i++ {
			b[i] ^= 0xff
		}
		os.WriteFile(p, b, 0o600)
	}
	os.Remove(out)
	g.mustCube("get", "--node", g.helper, readCap, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("file differs with corrupted shares")
	}
	// A verifying check reads every share and reports each bad one.
	report, _ := g.cube("check", "--node", g.helper, "--verify", readCap)
	if !strings.Contains(report, "corrupt") {
		t.Fatalf("verify did not find the corruption:\n%s", report)
	}
	for _, n := range corrupted {
		ents, _ := os.ReadDir(filepath.Join(g.dir, n, "storage", "corruption-advisories"))
		if len(ents) == 0 {
			t.Errorf("%s holds a corrupt share but received no corruption advisory", n)
		}
	}

	// Restart the killed nodes: their shares are served again; repair
	// replaces the corrupt shares and the file is healthy and verified.
	for _, n := range []string{"storage1", "storage2", "storage3"} {
		g.start(n)
	}
	g.waitConnected(10)
	rep := g.mustCube("check", "--node", g.helper, "--verify", "--repair", readCap)
	if !strings.Contains(rep, "after repair") {
		t.Fatalf("repair did not run:\n%s", rep)
	}
	rep = g.mustCube("check", "--node", g.helper, "--verify", readCap)
	if !strings.HasPrefix(rep, "Healthy") {
		t.Fatalf("after repair:\n%s", rep)
	}
	for _, n := range []string{"storage1", "storage2", "storage3"} {
		if !strings.Contains(rep, n) {
			t.Errorf("restarted %s does not serve its share:\n%s", n, rep)
		}
	}
	os.Remove(out)
	g.mustCube("get", "--node", g.helper, readCap, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("file differs after repair")
	}

	// Fill one node's disk (reserve more than it has): a new upload goes
	// to the other nine.
	g.kill("storage10")
	g.setReserved("storage10", "1000TB")
	g.start("storage10")
	g.waitConnected(10)
	small, smallData := randomFile(t, work, 1<<20)
	cap2 := strings.TrimSpace(g.mustCube("put", "--node", g.helper, small))
	where := g.sharesOf(siOf(t, cap2))
	if _, ok := where["storage10"]; ok || len(where) < 7 {
		t.Fatalf("with storage10 full, shares went to %v", where)
	}
	os.Remove(out)
	g.mustCube("get", "--node", g.helper, cap2, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, smallData) {
		t.Fatal("second file differs")
	}

	// Fill three more: six servers cannot make seven happy. The upload fails
	// with a clear error and leaves no share, complete or partial, anywhere.
	for _, n := range []string{"storage7", "storage8", "storage9"} {
		g.kill(n)
		g.setReserved(n, "1000TB")
		g.start(n)
	}
	g.waitConnected(10)
	third, _ := randomFile(t, work, 3<<20)
	failStart := time.Now()
	o, err := g.cube("put", "--node", g.helper, third)
	t.Logf("%.1fs failing put: %v", time.Since(failStart).Seconds(), err)
	if err == nil {
		t.Fatalf("upload to six usable servers with happy=7 succeeded: %s", o)
	}
	if !strings.Contains(err.Error(), "happ") && !strings.Contains(err.Error(), "server") {
		t.Fatalf("unclear error: %v", err)
	}
	// Whatever storage index it was, only the two stored files may be on disk.
	known := map[string]bool{si: true, siOf(t, cap2): true, siOf(t, directCap): true}
	for i := 1; i <= 10; i++ {
		root := filepath.Join(g.dir, fmt.Sprintf("storage%d", i), "storage", "shares")
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if !known[filepath.Base(filepath.Dir(p))] {
					t.Errorf("a failed upload left %s", p)
				}
			}
			return nil
		})
	}
}
