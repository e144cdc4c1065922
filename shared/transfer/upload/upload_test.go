package upload

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/transfertest"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newUpload(t *testing.T, node *transfertest.Node, plain []byte, o func(*Options)) (*Upload, chk.Key) {
	t.Helper()
	key, err := chk.RandomKey()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Client: node.Client(), Source: bytes.NewReader(plain), Size: int64(len(plain)), Key: key,
		ChunkSize: 64 << 10, Clock: transfertest.NewClock()}
	if o != nil {
		o(&opts)
	}
	u, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return u, key
}

// checkStored: the node holds exactly the plaintext encrypted with the
// file's key, and the cap is that key's.
func checkStored(t *testing.T, node *transfertest.Node, res Result, key chk.Key, plain []byte) {
	t.Helper()
	s := node.Sessions[res.StorageIndex]
	if s == nil || s.Result == nil {
		t.Fatalf("no finished session %s", res.StorageIndex)
	}
	want := make([]byte, len(plain))
	chk.NewCTR(key, 0).XORKeyStream(want, plain)
	if !bytes.Equal(s.Data, want) {
		t.Fatal("the node holds other bytes than the file's ciphertext")
	}
	c, ok := res.Cap.(cap.CHK)
	if !ok || c.Key != key || c.Size != int64(len(plain)) || res.VerifyCap != c.Verifier().String() {
		t.Fatalf("cap %v / verify cap %s do not match the key and size", res.Cap, res.VerifyCap)
	}
}

func TestUploadRoundTrip(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 300<<10+7)
	var last transfer.Progress
	u, key := newUpload(t, node, plain, func(o *Options) { o.Progress = func(p transfer.Progress) { last = p } })
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	if last.Done != int64(len(plain)) || last.Total != int64(len(plain)) {
		t.Fatalf("last progress %+v", last)
	}
	if n := node.Requests("PATCH"); n < 5 {
		t.Fatalf("%d chunks for 300 KiB in 64 KiB chunks", n)
	}
}

// Network failures and a restarting node cost retries, never a restart
// from zero or wrong bytes.
func TestUploadRetriesFailures(t *testing.T) {
	node := transfertest.NewNode()
	plain := randomBytes(t, 500<<10)
	// Every third chunk breaks the connection on its first try, every
	// seventh finds the node restarting on its next (by offset: chunks go
	// out several at a time, in any order).
	var mu sync.Mutex
	tries := map[string]int{}
	node.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if r.Method != http.MethodPatch {
			return next()
		}
		var a, b, size int64
		fmt.Sscanf(r.Header["Content-Range"], "bytes %d-%d/%d", &a, &b, &size)
		mu.Lock()
		tries[r.Header["Content-Range"]]++
		try := tries[r.Header["Content-Range"]]
		mu.Unlock()
		switch chunk := a / (64 << 10); {
		case chunk%3 == 0 && try == 1:
			return nil, api.ErrOffline // the connection broke
		case chunk%7 == 0 && try == 2:
			return transfertest.Fail(503, api.CodeBusy, "restarting"), nil
		}
		return next()
	}
	u, key := newUpload(t, node, plain, nil)
	res, err := u.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, node, res, key, plain)
	// Every byte crossed at most a few times: resumption continued where
	// the node stopped.
	var sent int64
	for _, l := range node.Log {
		if strings.HasPrefix(l, "PATCH") {
			sent++
		}
	}
	if sent > 3*int64(len(plain))/(64<<10)+10 {
		t.Fatalf("%d chunk requests for %d bytes: the upload restarted instead of resuming", sent, len(plain))
	}
}

// A node whose answer at finish does not match what was sent is caught.
func TestUploadCatchesWrongAnswer(t *testing.T) {
	node := transfertest.NewNode()
	node.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		resp, err := next()
		if err == nil && strings.HasSuffix(r.URL, "/finish") && resp.Status == 200 {
			resp.Body = bytes.Replace(resp.Body, []byte(`"ueb":"`), []byte(`"ueb":"AAAA`), 1)
		}
		return resp, err
	}
	u, _ := newUpload(t, node, randomBytes(t, 100<<10), nil)
	if _, err := u.Run(context.Background()); !errors.Is(err, ErrMismatch) {
		t.Fatalf("tampered finish answer: %v, want ErrMismatch", err)
	}
}

// A user error (quota) is not retried; it is returned at once.
func TestUploadStopsOnUserError(t *testing.T) {
	node := transfertest.NewNode()
	node.Intercept = func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error) {
		if r.Method == http.MethodPost && !strings.HasSuffix(r.URL, "/finish") {
			return transfertest.Fail(413, api.CodeQuotaExceeded, "over quota"), nil
		}
		return next()
	}
	u, _ := newUpload(t, node, randomBytes(t, 100<<10), nil)
	_, err := u.Run(context.Background())
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeQuotaExceeded {
		t.Fatalf("over quota: %v", err)
	}
	if n := node.Requests("POST"); n != 1 {
		t.Fatalf("%d begins: a user error was retried", n)
	}
}

func TestUploadCancel(t *testing.T) {
	node := transfertest.NewNode()
	u, _ := newUpload(t, node, randomBytes(t, 100<<10), nil)
	u.Cancel()
	if _, err := u.Run(context.Background()); !errors.Is(err, transfer.ErrCanceled) {
		t.Fatalf("canceled upload: %v", err)
	}
	for _, s := range node.Sessions {
		if s.Result != nil {
			t.Fatal("a canceled upload finished")
		}
	}
}

// Files of at most 55 bytes become LIT caps: nothing is sent.
func TestUploadLiteral(t *testing.T) {
	for _, n := range []int{0, 1, chk.LiteralThreshold} {
		node := transfertest.NewNode()
		plain := randomBytes(t, n)
		u, _ := newUpload(t, node, plain, nil)
		res, err := u.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := res.Cap.(cap.LIT)
		if !ok || !bytes.Equal(lit.Data, plain) || res.StorageIndex != "" || len(node.Log) != 0 {
			t.Fatalf("%d bytes: cap %v, si %q, %d requests", n, res.Cap, res.StorageIndex, len(node.Log))
		}
	}
}
