package helper_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/communitycube/cube/server/grid/helper"
	"github.com/communitycube/cube/server/grid/storage/wire"
)

// TestCrashRecovery edits the staging directory the way a crash can leave
// it and checks what a restarted service makes of it.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	placer := &fakePlacer{}
	open := func() *helper.Service {
		t.Helper()
		// No early placement: every chunk is then synced and recorded in
		// its own ack slot, which the torn-slot case below relies on.
		s, err := helper.New(helper.Config{Dir: dir, Placer: placer, Logger: quiet, SweepInterval: -1, StallTimeout: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := context.Background()
	f := newFile(t, 10000)
	data := filepath.Join(dir, f.si.String()+".data")
	ack := filepath.Join(dir, f.si.String()+".ack")

	s := open()
	if _, err := s.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < 3000; off += 1000 {
		if _, err := s.WriteChunk(ctx, f.si, off, bytes.NewReader(f.cipher[off:off+1000]), 1000); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	// Bytes that reached the file but were never acknowledged (here:
	// garbage, as a file system may show after a crash), a session whose
	// creation was cut short, and a temporary file.
	appendFile(t, data, bytes.Repeat([]byte{0}, 500))
	orphan := wire.StorageIndex{9}
	for _, ext := range []string{".data", ".ack"} {
		appendFile(t, filepath.Join(dir, orphan.String()+ext), []byte("x"))
	}
	appendFile(t, filepath.Join(dir, ".tmp-"+f.si.String()+".spec-123"), []byte("x"))

	s = open()
	if st := mustStatus(t, s, f.si); st.Received != 3000 {
		t.Fatalf("after restart %d bytes held, want 3000", st.Received)
	}
	if fi, _ := os.Stat(data); fi.Size() != 3000 {
		t.Fatalf("unacknowledged bytes kept: file is %d bytes", fi.Size())
	}
	want := []string{f.si.String() + ".ack", f.si.String() + ".data", f.si.String() + ".spec"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("staging directory holds %v, want %v", got, want)
	}
	s.Close()

	// A crash tore the newest ack slot (seq 3, the slot at offset 4096):
	// the previous one (2000 bytes) is used, and the file cut back to it.
	b, err := os.ReadFile(ack)
	if err != nil {
		t.Fatal(err)
	}
	b[4096+10] ^= 0xff
	if err := os.WriteFile(ack, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = open()
	if st := mustStatus(t, s, f.si); st.Received != 2000 {
		t.Fatalf("with a torn ack slot %d bytes held, want 2000", st.Received)
	}
	// The upload carries on from there; the crypttext hash, not tracked
	// across the restart, is recomputed from the file at finish.
	if _, err := s.WriteChunk(ctx, f.si, 1500, bytes.NewReader(f.cipher[1500:]), int64(len(f.cipher))-1500); err != nil {
		t.Fatal(err)
	}
	p, err := s.Finish(ctx, f.si)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	s.Close()

	// A crash after the result was recorded but before the ciphertext was
	// deleted: the result wins.
	for _, ext := range []string{".spec", ".data", ".ack"} {
		appendFile(t, filepath.Join(dir, f.si.String()+ext), []byte("stale"))
	}
	s = open()
	defer s.Close()
	st := mustStatus(t, s, f.si)
	if st.State != helper.StateStored || st.Result.VerifyCap != p.VerifyCap {
		t.Fatalf("status %+v", st)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{f.si.String() + ".done"}) {
		t.Fatalf("staging directory holds %v", got)
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestFinishOutlivesRequest: a finish whose caller gives up still places the
// file, and a helper closed during a placement keeps the ciphertext for the
// next start.
func TestFinishOutlivesRequest(t *testing.T) {
	dir := t.TempDir()
	placer := &fakePlacer{}
	open := func() *helper.Service {
		t.Helper()
		s, err := helper.New(helper.Config{Dir: dir, Placer: placer, Logger: quiet, SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f := newFile(t, 50000)
	s := open()
	ctx := context.Background()
	// The placer blocks from the start (the placement begins early, with
	// Begin).
	placer.set(nil, make(chan struct{}))
	if _, err := s.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteChunk(ctx, f.si, 0, bytes.NewReader(f.cipher), int64(len(f.cipher))); err != nil {
		t.Fatal(err)
	}

	// Closed while placing: the placement is cancelled, the data stays.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.Finish(short, f.si); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("finish with a short deadline: %v", err)
	}
	if st := mustStatus(t, s, f.si); st.State != helper.StatePlacing {
		t.Fatalf("state %s while the placer is blocked", st.State)
	}
	s.Close()
	s = open()
	defer s.Close()
	if st := mustStatus(t, s, f.si); st.State != helper.StateReceiving || st.Received != st.Size {
		t.Fatalf("after a restart during placement: %+v", st)
	}

	// The caller gives up, the placement goes on.
	gate := make(chan struct{})
	placer.set(nil, gate)
	short, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.Finish(short, f.si); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("finish with a short deadline: %v", err)
	}
	close(gate)
	p, err := s.Finish(ctx, f.si) // waits for the running placement
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	if placer.Calls() != 2 {
		t.Fatalf("placer called %d times, want 2 (one cancelled by Close)", placer.Calls())
	}
}

// copyDir snapshots a staging directory as a crash would leave it: the
// files as they are, whatever the running helper has not recorded yet.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// While an early placement consumes the staged bytes, they are acknowledged
// without being synced; a crash then loses the unrecorded tail, and the
// restarted helper says so, so the uploader resends it.
func TestLazySyncWhilePlacingEarly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gate := make(chan struct{})
	placer := &fakePlacer{gate: gate}
	s, err := helper.New(helper.Config{Dir: dir, Placer: placer, Logger: quiet, SweepInterval: -1, SyncDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := newFile(t, 10000)
	if _, err := s.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < 3000; off += 1000 {
		if _, err := s.WriteChunk(ctx, f.si, off, bytes.NewReader(f.cipher[off:off+1000]), 1000); err != nil {
			t.Fatal(err)
		}
	}
	if st := mustStatus(t, s, f.si); st.Received != 3000 {
		t.Fatalf("held %d, want 3000", st.Received)
	}
	// The early placement started at Begin, so the chunks were only
	// written, not recorded.
	crashed := copyDir(t, dir)
	c, err := helper.New(helper.Config{Dir: crashed, Placer: &fakePlacer{}, Logger: quiet, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, c, f.si); st.Received != 0 {
		t.Fatalf("after a crash %d bytes held, want the 0 recorded", st.Received)
	}
	if _, err := c.WriteChunk(ctx, f.si, 0, bytes.NewReader(f.cipher), int64(len(f.cipher))); err != nil {
		t.Fatal(err)
	}
	p, err := c.Finish(ctx, f.si)
	if err != nil {
		t.Fatal(err)
	}
	f.checkPlaced(t, p)
	c.Close()

	// A clean shutdown records everything held.
	close(gate)
	s.Close()
	s, err = helper.New(helper.Config{Dir: dir, Placer: &fakePlacer{}, Logger: quiet, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := mustStatus(t, s, f.si); st.Received != 3000 {
		t.Fatalf("after a clean shutdown %d bytes held, want 3000", st.Received)
	}
}

// A session that pauses gets its held bytes synced soon after.
func TestIdleSync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gate := make(chan struct{})
	defer close(gate)
	s, err := helper.New(helper.Config{Dir: dir, Placer: &fakePlacer{gate: gate}, Logger: quiet, SweepInterval: -1, SyncDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := newFile(t, 10000)
	if _, err := s.Begin(ctx, f.si, f.spec(true)); err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < 3000; off += 1000 {
		if _, err := s.WriteChunk(ctx, f.si, off, bytes.NewReader(f.cipher[off:off+1000]), 1000); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := helper.New(helper.Config{Dir: copyDir(t, dir), Placer: &fakePlacer{}, Logger: quiet, SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		got := mustStatus(t, c, f.si).Received
		c.Close()
		if got == 3000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a paused session still has %d of 3000 bytes recorded", got)
		}
	}
}
