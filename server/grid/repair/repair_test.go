package repair_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/download"
	"github.com/communitycube/cube/server/grid/repair"
	"github.com/communitycube/cube/server/grid/storage"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
)

// testParams are 3-of-10 with Tahoe's 128 KiB segments, so that a 1 MiB
// file has the several segments these tests corrupt one of.
var testParams = func() upload.Params {
	p := upload.DefaultParams
	p.MaxSegmentSize = chk.DefaultMaxSegmentSize
	return p
}()

var secret = broker.LeaseSecret(bytes.Repeat([]byte{9}, 32))

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 3))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, b broker.Broker, data []byte) cap.CHK {
	t.Helper()
	c, _, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(data), int64(len(data)), testParams, nil,
		&upload.Options{LeaseSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return c.(cap.CHK)
}

func fetch(b broker.Broker, c cap.CHK) ([]byte, error) {
	var buf bytes.Buffer
	_, err := download.Download(context.Background(), b, c, &buf, &download.Options{ReadTimeout: 2 * time.Second})
	return buf.Bytes(), err
}

func opts(o repair.Options) *repair.Options {
	o.LeaseSecret = secret
	o.ReadTimeout = 5 * time.Second
	o.QueryTimeout = 5 * time.Second
	return &o
}

func TestCheckHealthy(t *testing.T) {
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	c := put(t, b, randomData(1, 700<<10))
	for _, verify := range []bool{false, true} {
		rep, err := repair.Check(context.Background(), b, c.Verifier(), opts(repair.Options{Verify: verify, Happy: 7}))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Healthy || !rep.Recoverable || rep.GoodShares != 10 || rep.Happiness != 10 || len(rep.Corrupt) != 0 || len(rep.Missing()) != 0 {
			t.Errorf("verify=%v: %+v", verify, rep)
		}
		if len(rep.Servers) != 10 || !strings.HasPrefix(rep.Summary, "Healthy: 10 shares (enc 3-of-10)") {
			t.Errorf("verify=%v: %s", verify, rep.Summary)
		}
	}
}

// corrupt flips a byte of the share a node holds for si, in the block of
// the given segment, and returns the share number.
func corrupt(t *testing.T, n *storagetest.Node, si wire.StorageIndex, lay chk.Layout, seg int) int {
	t.Helper()
	dir := filepath.Join(n.StorageDir(), "shares", si.Prefix(), si.String())
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("node %d: %v %v", n.Index, ents, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ents[0].Name()), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off := 12 + lay.Data + int64(seg)*lay.BlockSize + 7
	var bb [1]byte
	f.ReadAt(bb[:], off)
	bb[0] ^= 1
	f.WriteAt(bb[:], off)
	var sh int
	for _, ch := range ents[0].Name() {
		sh = sh*10 + int(ch-'0')
	}
	return sh
}

func TestVerifyFindsCorruptionAndRepairFixesIt(t *testing.T) {
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	data := randomData(2, 1<<20)
	c := put(t, b, data)
	v := c.Verifier()
	si := wire.StorageIndex(v.StorageIndex)
	lay, _ := testParams.Chk().Layout(int64(len(data)))
	bad := corrupt(t, g.Nodes[4], si, lay, 5) // the last segment

	light, err := repair.Check(context.Background(), b, v, opts(repair.Options{}))
	if err != nil || !light.Healthy {
		t.Fatalf("a light check cannot see corruption: %+v %v", light, err)
	}
	rep, err := repair.Check(context.Background(), b, v, opts(repair.Options{Verify: true}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Healthy || !rep.Recoverable || rep.GoodShares != 9 || len(rep.Corrupt) != 1 {
		t.Fatalf("verify: %s %+v", rep.Summary, rep.Corrupt)
	}
	cs := rep.Corrupt[0]
	if cs.Shnum != bad || cs.Reported != nil || !strings.Contains(cs.Reason, "data block (segment 5)") {
		t.Errorf("corrupt share %+v", cs)
	}
	reports, _ := g.Nodes[4].Server().CorruptionReports()
	if len(reports) != 1 || int(reports[0].ShareNumber) != bad {
		t.Errorf("node 4 advisories: %+v", reports)
	}
	if got := rep.Missing(); len(got) != 1 || got[0] != bad {
		t.Errorf("missing %v", got)
	}
	t.Log(rep.Summary)

	res, err := repair.Repair(context.Background(), b, v, opts(repair.Options{Verify: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Attempted || !res.Successful || res.Post.GoodShares != 10 || res.Post.Happiness != 10 {
		t.Fatalf("repair: pre %s, post %s", res.Pre.Summary, res.Post.Summary)
	}
	t.Logf("after repair: %s; uploaded %v", res.Post.Summary, res.Upload.Layout)
	// A verifying check agrees (the corrupt copy is still on node 4 and is
	// reported again, but every share has a good copy).
	after, err := repair.Check(context.Background(), b, v, opts(repair.Options{Verify: true}))
	if err != nil || after.GoodShares != 10 || after.Happiness != 10 {
		t.Errorf("after repair: %+v %v", after, err)
	}
	if got, err := fetch(b, c); err != nil || !bytes.Equal(got, data) {
		t.Errorf("download after repair: %v", err)
	}
}

func TestRepairAfterLosingServers(t *testing.T) {
	g := storagetest.NewGrid(t, 14)
	first := brokertest.New(t, g, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	data := randomData(3, 1<<20+3)
	c := put(t, first, data)
	v := c.Verifier()
	all := brokertest.New(t, g)
	down := []int{1, 3, 5, 7}
	for _, i := range down {
		brokertest.Stop(g, i, first, all)
	}
	rep, err := repair.Check(context.Background(), all, v, opts(repair.Options{Happy: 7}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Healthy || !rep.Recoverable || rep.GoodShares != 6 || rep.Happiness != 6 || len(rep.Missing()) != 4 {
		t.Fatalf("check with 4 servers down: %s", rep.Summary)
	}
	answered := 0
	for _, s := range rep.Servers {
		if s.Responded {
			answered++
		} else if s.Error == "" {
			t.Errorf("server %s: no answer and no error", s.ID)
		}
	}
	if answered != 10 {
		t.Errorf("%d servers answered", answered)
	}
	t.Log(rep.Summary)

	res, err := repair.Repair(context.Background(), all, v, opts(repair.Options{Happy: 7}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Successful || res.Post.GoodShares != 10 || res.Post.Happiness != 10 {
		t.Fatalf("repair: %s -> %s", res.Pre.Summary, res.Post.Summary)
	}
	// The missing shares went to the four new servers.
	for _, r := range res.Upload.Servers {
		if len(r.Uploaded) == 0 {
			continue
		}
		var s *broker.Server
		for _, x := range all.Servers() {
			if x.ID() == r.ID {
				s = x
			}
		}
		if n := brokertest.NodeOf(g, s); n.Index < 10 {
			t.Errorf("share %v uploaded to old node %d", r.Uploaded, n.Index)
		}
	}
	t.Log(res.Post.Summary)
	// The old servers come back: still healthy, now with spare copies.
	for _, i := range down {
		g.Nodes[i].Start()
	}
	time.Sleep(60 * time.Millisecond) // past the test broker's backoff
	back, err := repair.Check(context.Background(), all, v, opts(repair.Options{Verify: true, Happy: 7}))
	if err != nil || !back.Healthy || back.Happiness != 10 || len(back.Layout) != 14 {
		t.Fatalf("servers back: %+v %v", back, err)
	}
	again, err := repair.Repair(context.Background(), all, v, opts(repair.Options{Happy: 7}))
	if err != nil || again.Attempted {
		t.Errorf("repair of a healthy file: %+v %v", again, err)
	}
	if got, err := fetch(all, c); err != nil || !bytes.Equal(got, data) {
		t.Errorf("download: %v", err)
	}
}

func TestRepairUnrecoverable(t *testing.T) {
	g := storagetest.NewGrid(t, 10)
	b := brokertest.New(t, g)
	c := put(t, b, randomData(4, 100<<10))
	for i := range 8 {
		brokertest.Stop(g, i, b)
	}
	res, err := repair.Repair(context.Background(), b, c.Verifier(), opts(repair.Options{}))
	if !errors.Is(err, repair.ErrUnrecoverable) || res.Pre.Recoverable || res.Attempted {
		t.Fatalf("err %v res %+v", err, res)
	}
	if !strings.HasPrefix(res.Pre.Summary, "Unrecoverable: 2 shares") {
		t.Error(res.Pre.Summary)
	}
}

func TestHappyMakesCrowdedFilesUnhealthy(t *testing.T) {
	g := storagetest.NewGrid(t, 6)
	b := brokertest.New(t, g)
	c, _, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(randomData(5, 5000)), 5000,
		upload.Params{K: 3, Happy: 6, N: 10, MaxSegmentSize: 1 << 17}, nil, &upload.Options{LeaseSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	v := c.(cap.CHK).Verifier()
	tahoe, _ := repair.Check(context.Background(), b, v, opts(repair.Options{}))
	strict, _ := repair.Check(context.Background(), b, v, opts(repair.Options{Happy: 7}))
	if !tahoe.Healthy || strict.Healthy || strict.Happiness != 6 {
		t.Errorf("tahoe rule: %s; happy 7: %s", tahoe.Summary, strict.Summary)
	}
}

func TestLeaseRenewalKeepsFilesAlive(t *testing.T) {
	const day = 24 * time.Hour
	g := storagetest.NewGrid(t, 4)
	b := brokertest.New(t, g)
	p := upload.Params{K: 2, Happy: 3, N: 4, MaxSegmentSize: 1 << 17}
	up := func(seed uint64) cap.CHK {
		c, _, err := upload.UploadPlaintext(context.Background(), b, bytes.NewReader(randomData(seed, 3000)), 3000, p, nil,
			&upload.Options{LeaseSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		return c.(cap.CHK)
	}
	kept, dropped := up(6), up(7)

	g.Clock.Advance(20 * day)
	rep, err := repair.AddLease(context.Background(), b, kept.Verifier(), secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Servers {
		if !s.LeaseRenewed || s.LeaseError != "" {
			t.Errorf("lease on %s: %+v", s.ID, s)
		}
	}
	g.Clock.Advance(20 * day) // day 40: the first leases ran out on day 31
	var deleted int
	for _, n := range g.Nodes {
		exp, err := storage.NewLeaseExpirer(n.Server(), storage.ExpiryPolicy{Mode: storage.ExpiryAge})
		if err != nil {
			t.Fatal(err)
		}
		st, err := exp.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		deleted += st.Deleted
	}
	if deleted != 4 {
		t.Errorf("%d shares expired, want the 4 of the unrenewed file", deleted)
	}
	if rep, _ := repair.Check(context.Background(), b, kept.Verifier(), opts(repair.Options{})); !rep.Healthy {
		t.Errorf("renewed file: %s", rep.Summary)
	}
	if rep, _ := repair.Check(context.Background(), b, dropped.Verifier(), opts(repair.Options{})); rep.GoodShares != 0 {
		t.Errorf("unrenewed file: %s", rep.Summary)
	}
	if _, err := fetch(b, kept); err != nil {
		t.Error(err)
	}
	// Renewal found the lease the upload created (same derived secrets)
	// instead of adding one; another client's secret adds a second lease.
	si := wire.StorageIndex(kept.StorageIndex())
	if n := leaseCounts(t, g, si); n != 1 {
		t.Errorf("%d leases per share after renewal, want 1", n)
	}
	other := opts(repair.Options{AddLease: true})
	other.LeaseSecret = bytes.Repeat([]byte{1}, 32)
	if _, err := repair.Check(context.Background(), b, kept.Verifier(), other); err != nil {
		t.Fatal(err)
	}
	if n := leaseCounts(t, g, si); n != 2 {
		t.Errorf("%d leases per share after another client's lease, want 2", n)
	}
	if _, err := repair.Check(context.Background(), b, kept.Verifier(), &repair.Options{AddLease: true}); err == nil {
		t.Error("AddLease without a secret accepted")
	}
}

// leaseCounts returns the lease count of si's shares (from the immutable
// container header), failing unless all shares agree.
func leaseCounts(t *testing.T, g *storagetest.Grid, si wire.StorageIndex) int {
	t.Helper()
	count := -1
	for _, n := range g.Nodes {
		dir := filepath.Join(n.StorageDir(), "shares", si.Prefix(), si.String())
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || len(b) < 12 {
				t.Fatal(err)
			}
			c := int(binary.BigEndian.Uint32(b[8:12]))
			if count >= 0 && c != count {
				t.Fatalf("lease counts differ: %d and %d", count, c)
			}
			count = c
		}
	}
	return count
}
