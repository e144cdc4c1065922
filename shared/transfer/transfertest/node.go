package transfertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/cap"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/hashtree"
)

// Base is the origin the fake node's client uses.
const Base = "http://node.test"

// Node is an api.Transport that plays the node's side of the Files API
// routes that move bytes (uploads/{si}, versions/{vid}/content and proof),
// in memory, with the real CHK encoder. Intercept lets a test inject
// failures or tamper with answers.
type Node struct {
	mu       sync.Mutex
	Sessions map[string]*Session
	Versions map[string]*Version
	// Default encoding when a begin leaves it to the node.
	Params chk.Params
	Happy  int
	// Log records "METHOD path" of every request.
	Log []string
	// Intercept, if set, wraps every request: call next for the normal
	// answer (and change it), or answer something else.
	Intercept func(r *api.Request, next func() (*api.Response, error)) (*api.Response, error)
}

// Session is an upload in progress (or finished: Result set).
type Session struct {
	Begin  api.BeginUploadRequest
	Data   []byte
	Result *api.Uploaded
}

// Version is stored content with its proof.
type Version struct {
	Ciphertext []byte
	Proof      api.Proof
}

// NewNode returns a node that encodes 2-of-3 with 4 KiB segments.
func NewNode() *Node {
	return &Node{
		Sessions: map[string]*Session{}, Versions: map[string]*Version{},
		Params: chk.Params{K: 2, N: 3, MaxSegmentSize: 4096}, Happy: 2,
	}
}

// Client returns an API client talking to n.
func (n *Node) Client() *api.Client { return &api.Client{Base: Base, Transport: n, CSRF: "csrf"} }

// Requests returns how many logged requests start with prefix.
func (n *Node) Requests(prefix string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, l := range n.Log {
		if strings.HasPrefix(l, prefix) {
			c++
		}
	}
	return c
}

// AddVersion stores ciphertext as version vid, encoded with p, and returns
// its verify cap.
func (n *Node) AddVersion(vid string, si [cap.StorageIndexSize]byte, ct []byte, p chk.Params) (cap.Verifier, error) {
	res, err := chk.EncodeCiphertext(bytes.NewReader(ct), int64(len(ct)), p, chk.Discard)
	if err != nil {
		return cap.Verifier{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.Versions[vid] = &Version{Ciphertext: ct, Proof: ProofOf(ct, res)}
	return res.VerifyCap(si), nil
}

// ProofOf is what the node serves at versions/{vid}/proof.
func ProofOf(ct []byte, res *chk.Result) api.Proof {
	l := res.Layout
	var hashes []byte
	for i := 0; i < l.NumSegments; i++ {
		seg := ct[int64(i)*l.SegmentSize : min(int64(i+1)*l.SegmentSize, l.Size)]
		h := hashtree.TaggedHash("allmydata_crypttext_segment_v1", seg)
		hashes = append(hashes, h[:]...)
	}
	return api.Proof{UEB: res.UEB, SegmentHashes: hashes, SegmentSize: l.SegmentSize, Size: l.Size}
}

// RoundTrip implements api.Transport.
func (n *Node) RoundTrip(ctx context.Context, r *api.Request) (*api.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := strings.TrimPrefix(r.URL, Base+api.Prefix)
	n.mu.Lock()
	n.Log = append(n.Log, r.Method+" "+path)
	n.mu.Unlock()
	next := func() (*api.Response, error) {
		n.waitGap(ctx, r, path)
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.serve(r, path), nil
	}
	if n.Intercept != nil {
		return n.Intercept(r, next)
	}
	return next()
}

// gapWait is how long a chunk that starts beyond the bytes held waits for
// them, as the helper does (its Config.GapWait): uploaders send several
// chunks at once.
const gapWait = 5 * time.Second

// waitGap holds a PATCH that starts beyond its session's bytes until they
// arrive (or gapWait passes, or ctx ends); serve then decides.
func (n *Node) waitGap(ctx context.Context, r *api.Request, path string) {
	var a, b, size int64
	if r.Method != http.MethodPatch || !strings.HasPrefix(path, "uploads/") {
		return
	}
	if _, err := fmt.Sscanf(r.Header["Content-Range"], "bytes %d-%d/%d", &a, &b, &size); err != nil {
		return
	}
	si := strings.TrimPrefix(path, "uploads/")
	deadline := time.Now().Add(gapWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n.mu.Lock()
		s := n.Sessions[si]
		held := s != nil && int64(len(s.Data)) >= a
		n.mu.Unlock()
		if s == nil || held {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Fail builds an API error answer.
func Fail(status int, code, msg string) *api.Response {
	b, _ := json.Marshal(api.ErrorResponse{Error: api.Error{Code: code, Message: msg}})
	return &api.Response{Status: status, Body: b}
}

func ok(v any) *api.Response {
	b, _ := json.Marshal(v)
	return &api.Response{Status: http.StatusOK, Body: b}
}

func (n *Node) serve(r *api.Request, path string) *api.Response {
	if r.Method != http.MethodGet && r.Header[api.CSRFHeader] != "csrf" {
		return Fail(403, api.CodeCSRF, "no CSRF token")
	}
	parts := strings.Split(path, "/")
	switch {
	case len(parts) >= 2 && parts[0] == "uploads":
		return n.serveUpload(r, parts[1], parts[2:])
	case len(parts) == 3 && parts[0] == "versions" && r.Method == http.MethodGet:
		v := n.Versions[parts[1]]
		if v == nil {
			return Fail(404, api.CodeNotFound, "no such version")
		}
		if parts[2] == "proof" {
			return ok(v.Proof)
		}
		if parts[2] == "content" {
			return serveRange(r, v.Ciphertext)
		}
	}
	return Fail(404, api.CodeNotFound, "no route "+path)
}

func (s *Session) status(p chk.Params) api.UploadStatus {
	st := api.UploadStatus{Received: int64(len(s.Data)), Size: s.Begin.Size, State: "receiving"}
	if s.Result != nil {
		st.State, st.Received = "stored", s.Begin.Size
	} else {
		st.SegmentSize = s.params(p).SegmentSize(s.Begin.Size)
	}
	return st
}

// params are the session's encoding: its own, or the node's p.
func (s *Session) params(p chk.Params) chk.Params {
	if s.Begin.K != 0 {
		p = chk.Params{K: s.Begin.K, N: s.Begin.N, MaxSegmentSize: s.Begin.SegmentSize}
	}
	return p
}

func (n *Node) serveUpload(r *api.Request, si string, rest []string) *api.Response {
	s := n.Sessions[si]
	switch {
	case r.Method == http.MethodPost && len(rest) == 0:
		var req api.BeginUploadRequest
		if err := json.Unmarshal(r.Body, &req); err != nil {
			return Fail(400, api.CodeBadJSON, err.Error())
		}
		if req.Size <= chk.LiteralThreshold {
			return Fail(400, api.CodeInvalid, "LIT-sized")
		}
		if s == nil {
			s = &Session{Begin: req}
			n.Sessions[si] = s
		} else if s.Begin != req {
			return Fail(409, api.CodeConflict, "other parameters")
		}
		return ok(s.status(n.Params))
	case r.Method == http.MethodGet && len(rest) == 0:
		if s == nil {
			return Fail(404, api.CodeNotFound, "no session")
		}
		return ok(s.status(n.Params))
	case r.Method == http.MethodDelete && len(rest) == 0:
		delete(n.Sessions, si)
		return &api.Response{Status: http.StatusNoContent}
	case r.Method == http.MethodPatch && len(rest) == 0:
		if s == nil {
			return Fail(404, api.CodeNotFound, "no session")
		}
		if r.Header["Content-Type"] != "application/octet-stream" {
			return Fail(415, api.CodeBadContentType, "not octet-stream")
		}
		var a, b, size int64
		if _, err := fmt.Sscanf(r.Header["Content-Range"], "bytes %d-%d/%d", &a, &b, &size); err != nil || b-a+1 != int64(len(r.Body)) {
			return Fail(400, api.CodeInvalid, "bad Content-Range")
		}
		if size != s.Begin.Size || b >= size {
			return Fail(409, api.CodeConflict, "wrong size")
		}
		if s.Result != nil {
			return Fail(409, api.CodeConflict, "finished")
		}
		have := int64(len(s.Data))
		if a > have {
			return Fail(416, api.CodeInvalid, "gap")
		}
		if !bytes.Equal(s.Data[a:min(have, b+1)], r.Body[:min(have, b+1)-a]) {
			return Fail(409, api.CodeConflict, "different bytes")
		}
		if b+1 > have {
			s.Data = append(s.Data, r.Body[have-a:]...)
		}
		return ok(s.status(n.Params))
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "finish":
		if s == nil {
			return Fail(404, api.CodeNotFound, "no session")
		}
		if s.Result != nil {
			return ok(s.Result)
		}
		if int64(len(s.Data)) != s.Begin.Size {
			return Fail(409, api.CodeConflict, "incomplete")
		}
		var req api.FinishUploadRequest
		json.Unmarshal(r.Body, &req)
		if len(req.CrypttextRootHash) == 0 {
			h := chk.NewCrypttextHasher()
			h.Write(s.Data)
			if sum := h.Sum(); !bytes.Equal(sum[:], req.CrypttextHash) {
				return Fail(409, api.CodeIntegrity, "crypttext hash mismatch")
			}
		}
		res, err := chk.EncodeCiphertext(bytes.NewReader(s.Data), s.Begin.Size, s.params(n.Params), chk.Discard)
		if err != nil {
			return Fail(500, api.CodeInternal, err.Error())
		}
		if len(req.CrypttextRootHash) > 0 {
			u, err := chk.ParseUEB(res.UEB)
			if err != nil || !bytes.Equal(u.CrypttextRootHash[:], req.CrypttextRootHash) {
				return Fail(409, api.CodeIntegrity, "crypttext root hash mismatch")
			}
		}
		raw, _ := cap.DecodeBase32(si)
		var sidx [cap.StorageIndexSize]byte
		copy(sidx[:], raw)
		s.Result = &api.Uploaded{VerifyCap: res.VerifyCap(sidx).String(), UEB: res.UEB}
		return ok(s.Result)
	}
	return Fail(405, api.CodeMethod, "no")
}

func serveRange(r *api.Request, data []byte) *api.Response {
	rng, found := strings.CutPrefix(r.Header["Range"], "bytes=")
	if !found {
		return &api.Response{Status: 200, Body: bytes.Clone(data)}
	}
	a, b, okr := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !okr || err1 != nil || err2 != nil || first > last || first >= int64(len(data)) {
		return Fail(416, api.CodeInvalid, "bad range")
	}
	last = min(last, int64(len(data))-1)
	return &api.Response{Status: http.StatusPartialContent, Body: bytes.Clone(data[first : last+1])}
}
