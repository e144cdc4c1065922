package api

import (
	"context"
	"net/http"
	"net/url"
)

// The calls of share links and drops (links.go lists the routes). The
// owner's need the session; the recipient's need only the link id and,
// after LinkAccess, the token in c.Header[LinkTokenHeader].

// LinkRoutes are link id's routes that move bytes (a folder or file link's
// proof and content, a drop link's uploads), for shared/transfer's engines.
// They need the access token in c.Header.
func (c *Client) LinkRoutes(id string) Routes {
	return Routes{c, linkPath(id) + "/"}
}

func linkPath(id string) string { return Prefix + "public/links/" + url.PathEscape(id) }

// CreateLink makes a link or a drop.
func (c *Client) CreateLink(ctx context.Context, req CreateLinkRequest) (Link, error) {
	var l Link
	err := c.Do(ctx, http.MethodPost, Prefix+"links", req, &l)
	return l, err
}

// Links lists the user's links, newest first.
func (c *Client) Links(ctx context.Context) ([]Link, error) {
	var ls []Link
	err := c.Do(ctx, http.MethodGet, Prefix+"links", nil, &ls)
	return ls, err
}

// UpdateLink changes a link's expiry and limits.
func (c *Client) UpdateLink(ctx context.Context, id string, req UpdateLinkRequest) (Link, error) {
	var l Link
	err := c.Do(ctx, http.MethodPatch, Prefix+"links/"+url.PathEscape(id), req, &l)
	return l, err
}

// DeleteLink removes a link: it stops working at once.
func (c *Client) DeleteLink(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, Prefix+"links/"+url.PathEscape(id), nil, nil)
}

// MailLink has the node mail a link (its URL without the key).
func (c *Client) MailLink(ctx context.Context, id string, req MailLinkRequest) error {
	return c.Do(ctx, http.MethodPost, Prefix+"links/"+url.PathEscape(id)+"/mail", req, nil)
}

// MailStatus says whether the node can send mail.
func (c *Client) MailStatus(ctx context.Context) (MailStatus, error) {
	var s MailStatus
	err := c.Do(ctx, http.MethodGet, Prefix+"mail", nil, &s)
	return s, err
}

// Drops lists the files dropped into a folder and not adopted yet.
func (c *Client) Drops(ctx context.Context, folderID string) ([]DropFile, error) {
	var ds []DropFile
	err := c.Do(ctx, http.MethodGet, Prefix+"drops?folder="+url.QueryEscape(folderID), nil, &ds)
	return ds, err
}

// DeleteDrop discards a dropped file.
func (c *Client) DeleteDrop(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, Prefix+"drops/"+url.PathEscape(id), nil, nil)
}

// PublicLink fetches what anyone with the link id may know of it.
func (c *Client) PublicLink(ctx context.Context, id string) (PublicLink, error) {
	var pl PublicLink
	err := c.Do(ctx, http.MethodGet, linkPath(id), nil, &pl)
	return pl, err
}

// LinkAccess opens a link. It does not set the token in c.Header: the
// caller does, once it accepts the answer.
func (c *Client) LinkAccess(ctx context.Context, id string, req AccessRequest) (Access, error) {
	var a Access
	err := c.Do(ctx, http.MethodPost, linkPath(id)+"/access", req, &a)
	return a, err
}

// LinkChildren fetches one page of the children of folder nid, the link's
// target or a folder below it.
func (c *Client) LinkChildren(ctx context.Context, id, nid, after string) (Children, error) {
	var ch Children
	q := linkPath(id) + "/nodes/" + url.PathEscape(nid) + "/children"
	if after != "" {
		q += "?after=" + url.QueryEscape(after)
	}
	err := c.Do(ctx, http.MethodGet, q, nil, &ch)
	return ch, err
}

// DropFile turns a finished drop upload into a dropped file.
func (c *Client) DropFile(ctx context.Context, id string, req DropFileRequest) error {
	return c.Do(ctx, http.MethodPost, linkPath(id)+"/files", req, nil)
}
