package files

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/broker"
	"github.com/communitycube/cube/server/grid/broker/brokertest"
	"github.com/communitycube/cube/server/grid/storage/storagetest"
	"github.com/communitycube/cube/server/grid/storage/wire"
	"github.com/communitycube/cube/server/grid/upload"
	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
)

// TestGridAndLeases places a file on an in-process grid, makes it a
// version, reads it back through Grid and renews its lease.
func TestGridAndLeases(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	root := f.keys(uid)
	g := storagetest.NewGrid(t, 2)
	b := brokertest.New(t, g)
	secret := broker.LeaseSecret(rnd(32))
	gr := &Grid{Broker: b, LeaseSecret: secret}

	ct := rnd(100 << 10)
	var si wire.StorageIndex
	rand.Read(si[:])
	res, err := upload.Upload(f.ctx, b, si, bytes.NewReader(ct), int64(len(ct)),
		upload.Params{K: 1, N: 2, Happy: 2, MaxSegmentSize: 16 << 10}, &upload.Options{LeaseSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.BeginUpload(f.ctx, uid, si, int64(len(ct))); err != nil {
		t.Fatal(err)
	}
	if err := f.s.FinishUpload(f.ctx, uid, si, res.VerifyCap().String(), res.Encoding.UEB); err != nil {
		t.Fatal(err)
	}
	n, err := f.s.CreateNode(f.ctx, uid, api.CreateNodeRequest{ID: newID(), Parent: root, Kind: api.KindFile, NameHMAC: rnd(32), Meta: rnd(5),
		Mode: api.ModeSecure, Version: &api.NewVersionBody{ID: newID(), StorageIndex: si.String(), Meta: rnd(5)}})
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := f.s.VersionCap(f.ctx, uid, n.Current.ID)
	if err != nil || !ok || v != res.VerifyCap() {
		t.Fatalf("VersionCap %v %v", ok, err)
	}
	r, err := gr.OpenCiphertext(f.ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(r, 0, v.Size))
	r.Close()
	if err != nil || !bytes.Equal(got, ct) {
		t.Fatalf("ciphertext read back: %d bytes, %v", len(got), err)
	}
	p, err := gr.Proof(f.ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chk.CheckProof(v, p.UEB, p.SegmentHashBytes()); err != nil {
		t.Fatal(err)
	}

	lr := &LeaseRenewer{Store: f.s, Leaser: gr, Interval: 24 * time.Hour}
	if next, err := lr.NextRun(f.ctx); err != nil || !next.Equal(f.clock.now()) {
		t.Fatalf("first run due %v, %v", next, err)
	}
	st, err := lr.RunOnce(f.ctx)
	if err != nil || st.Files != 1 || st.Renewed != 1 || st.Failed != 0 {
		t.Fatalf("renewal %+v %v", st, err)
	}
	if next, _ := lr.NextRun(f.ctx); !next.Equal(f.clock.now().Truncate(time.Second).Add(24 * time.Hour)) {
		t.Fatalf("next run %v", next)
	}
}

func TestPurgeUploads(t *testing.T) {
	f := newFixture(t)
	uid := f.user("ann")
	finished, _ := f.uploaded(uid, 100)
	var live, dead wire.StorageIndex
	rand.Read(live[:])
	rand.Read(dead[:])
	f.s.BeginUpload(f.ctx, uid, live, 100)
	f.s.BeginUpload(f.ctx, uid, dead, 100)
	alive := func(si wire.StorageIndex) bool { return si == live }
	if n, err := f.s.PurgeUploads(f.ctx, alive, UploadKeep); err != nil || n != 0 {
		t.Fatalf("young uploads purged: %d %v", n, err)
	}
	f.clock.add(2 * time.Hour)
	if n, err := f.s.PurgeUploads(f.ctx, alive, UploadKeep); err != nil || n != 1 {
		t.Fatalf("dead upload: %d %v", n, err)
	}
	f.clock.add(UploadKeep)
	if n, err := f.s.PurgeUploads(f.ctx, alive, UploadKeep); err != nil || n != 1 {
		t.Fatalf("old finished upload: %d %v", n, err)
	}
	fw, _ := wire.ParseStorageIndex(finished)
	if _, err := f.s.GetUpload(f.ctx, uid, fw); err == nil {
		t.Fatal("the finished upload is still there")
	}
	if _, err := f.s.GetUpload(f.ctx, uid, live); err != nil {
		t.Fatalf("the live upload: %v", err)
	}
	if f.used(uid) != 100 {
		t.Fatalf("used %d", f.used(uid))
	}
}
