package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The Files API calls that move bytes (docs/files.md, "Moving bytes"): the
// upload session of a storage index (uploads/{si}) and a version's
// ciphertext and proof (versions/{vid}/...). The browser engine
// (shared/transfer/upload, shared/transfer/download) and the CLI use them.

// BeginUpload starts or resumes the upload session of storage index si
// (26 lowercase base32 characters). The answer's Received is where the
// uploader continues; State "placing" or "stored" means the node has every
// byte and only FinishUpload remains.
func (c *Client) BeginUpload(ctx context.Context, si string, req BeginUploadRequest) (UploadStatus, error) {
	return c.own().BeginUpload(ctx, si, req)
}

// BeginUpload is Client.BeginUpload on these routes.
func (r Routes) BeginUpload(ctx context.Context, si string, req BeginUploadRequest) (UploadStatus, error) {
	var st UploadStatus
	err := r.c.Do(ctx, http.MethodPost, r.uploadPath(si), req, &st)
	return st, err
}

// SendChunk sends ciphertext bytes [off, off+len(data)) of a file of size
// bytes (PATCH with Content-Range). Resending bytes the node already holds
// is harmless. data must not be empty.
func (c *Client) SendChunk(ctx context.Context, si string, off, size int64, data []byte) (UploadStatus, error) {
	return c.own().SendChunk(ctx, si, off, size, data)
}

// SendChunk is Client.SendChunk on these routes.
func (r Routes) SendChunk(ctx context.Context, si string, off, size int64, data []byte) (UploadStatus, error) {
	var st UploadStatus
	if len(data) == 0 {
		return st, &Error{Code: CodeInvalid, Message: "An upload chunk cannot be empty."}
	}
	last := off + int64(len(data)) - 1
	h := map[string]string{
		"Content-Type":  "application/octet-stream",
		"Content-Range": "bytes " + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(last, 10) + "/" + strconv.FormatInt(size, 10),
	}
	resp, err := r.c.send(ctx, http.MethodPatch, r.uploadPath(si), h, data)
	if err != nil {
		return st, err
	}
	return st, decodeInto(resp.Body, &st)
}

// FinishUpload asks the node to complete the upload, naming the ciphertext
// sent by one of its hashes (see FinishUploadRequest). It may be retried.
func (c *Client) FinishUpload(ctx context.Context, si string, req FinishUploadRequest) (Uploaded, error) {
	return c.own().FinishUpload(ctx, si, req)
}

// FinishUpload is Client.FinishUpload on these routes.
func (r Routes) FinishUpload(ctx context.Context, si string, req FinishUploadRequest) (Uploaded, error) {
	var u Uploaded
	err := r.c.Do(ctx, http.MethodPost, r.uploadPath(si)+"/finish", req, &u)
	return u, err
}

// GetUpload returns the state of the upload session of si.
func (c *Client) GetUpload(ctx context.Context, si string) (UploadStatus, error) {
	return c.own().GetUpload(ctx, si)
}

// GetUpload is Client.GetUpload on these routes.
func (r Routes) GetUpload(ctx context.Context, si string) (UploadStatus, error) {
	var st UploadStatus
	err := r.c.Do(ctx, http.MethodGet, r.uploadPath(si), nil, &st)
	return st, err
}

// AbortUpload ends the upload session of si and drops what the node holds.
func (c *Client) AbortUpload(ctx context.Context, si string) error {
	return c.own().AbortUpload(ctx, si)
}

// AbortUpload is Client.AbortUpload on these routes.
func (r Routes) AbortUpload(ctx context.Context, si string) error {
	return r.c.Do(ctx, http.MethodDelete, r.uploadPath(si), nil, nil)
}

// VersionProof fetches what a downloader checks a version's ciphertext
// against (the UEB and the segment hashes). Nothing in it is trusted until
// checked against the read cap.
func (c *Client) VersionProof(ctx context.Context, vid string) (Proof, error) {
	return c.own().VersionProof(ctx, vid)
}

// VersionProof is Client.VersionProof on these routes.
func (r Routes) VersionProof(ctx context.Context, vid string) (Proof, error) {
	var p Proof
	err := r.c.Do(ctx, http.MethodGet, r.root+"versions/"+url.PathEscape(vid)+"/proof", nil, &p)
	return p, err
}

// VersionContent fetches at most n bytes of a version's ciphertext starting
// at byte off (n >= 1), with a Range request. The bytes returned start at off
// and are at most n long; fewer means the answer was cut short. A node that
// ignores the Range header (200) is accepted only when its body covers the
// range (off must then be 0 in practice: a Transport reads at most
// MaxResponse bytes). The bytes are unverified ciphertext.
func (c *Client) VersionContent(ctx context.Context, vid string, off, n int64) ([]byte, error) {
	return c.own().VersionContent(ctx, vid, off, n)
}

// VersionContent is Client.VersionContent on these routes.
func (r Routes) VersionContent(ctx context.Context, vid string, off, n int64) ([]byte, error) {
	h := map[string]string{"Range": "bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10)}
	resp, err := r.c.send(ctx, http.MethodGet, r.root+"versions/"+url.PathEscape(vid)+"/content", h, nil)
	if err != nil {
		return nil, err
	}
	b := resp.Body
	switch resp.Status {
	case http.StatusPartialContent:
		if int64(len(b)) > n {
			return nil, &Error{Code: CodeInternal, Message: "The node answered a range request with more bytes than asked."}
		}
		return b, nil
	case http.StatusOK:
		if off > int64(len(b)) {
			return nil, &Error{Code: CodeInternal, Message: "The node ignored a range request."}
		}
		b = b[off:]
		if int64(len(b)) > n {
			b = b[:n]
		}
		return b, nil
	}
	return nil, &Error{Code: CodeInternal, Message: fmt.Sprintf("The node answered a range request with HTTP status %d.", resp.Status)}
}

// ContentRequest is where VersionContent fetches a version's ciphertext
// and the headers it sends (a link's token), for a reader outside this
// client that fetches it itself (the browser's service worker, which sends
// the session cookie of the same origin on its own). Range is left to it.
func (c *Client) ContentRequest(vid string) (url string, header map[string]string) {
	return c.own().ContentRequest(vid)
}

// ContentRequest is Client.ContentRequest on these routes.
func (r Routes) ContentRequest(vid string) (string, map[string]string) {
	return r.located(http.MethodGet, r.root+"versions/"+url.PathEscape(vid)+"/content", map[string]string{})
}

// ChunkRequest is the route of upload session si's chunks (PATCH, with
// Content-Range) and the other headers a request to it needs (its
// Content-Type, the CSRF token, a link's token), for a sender outside this
// client (upload.Worker).
func (c *Client) ChunkRequest(si string) (url string, header map[string]string) {
	return c.own().ChunkRequest(si)
}

// ChunkRequest is Client.ChunkRequest on these routes.
func (r Routes) ChunkRequest(si string) (string, map[string]string) {
	return r.located(http.MethodPatch, r.uploadPath(si), map[string]string{"Content-Type": "application/octet-stream"})
}

// located is the URL of path and header with what this client adds to a
// method request (addHeaders), for a request made outside the client.
func (r Routes) located(method, path string, header map[string]string) (string, map[string]string) {
	req := &Request{Header: header}
	r.c.addHeaders(req, method)
	return strings.TrimRight(r.c.Base, "/") + path, req.Header
}

// Routes are the routes that move bytes, under one root: the user's own
// (Prefix, what Client's methods use) or a link's public routes
// (Client.LinkRoutes). The transfer engines take them through small
// interfaces, so one engine serves both.
type Routes struct {
	c    *Client
	root string // ends with "/"
}

func (c *Client) own() Routes { return Routes{c, Prefix} }

func (r Routes) uploadPath(si string) string { return r.root + "uploads/" + url.PathEscape(si) }

// send is Do for bodies that are not JSON: it adds the CSRF token, and turns
// a network failure into ErrOffline and a non-2xx answer into *Error.
func (c *Client) send(ctx context.Context, method, path string, header map[string]string, body []byte) (*Response, error) {
	req := &Request{Method: method, URL: strings.TrimRight(c.Base, "/") + path, Header: header, Body: body}
	if req.Header == nil {
		req.Header = map[string]string{}
	}
	c.addHeaders(req, method)
	resp, err := c.Transport.RoundTrip(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w (%v)", ErrOffline, err)
	}
	if resp.Status >= 300 {
		return nil, ResponseError(resp.Status, resp.Body)
	}
	return resp, nil
}

func decodeInto(b []byte, out any) error {
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding the node's answer: %w", err)
	}
	return nil
}
