package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/vault"
)

// realKeys creates the user's keys with a real bundle (the node reads the
// public key in it) and returns the root folder id.
func realKeys(t *testing.T, c *api.Client) string {
	t.Helper()
	b, u, _, err := vault.NewAccount(strong, vault.KDFParams{MemoryKiB: 19 << 10, Time: 2, Lanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	u.Zero()
	data, _ := b.MarshalBinary()
	root := newID()
	if err := c.Do(context.Background(), "PUT", api.Prefix+"keys", api.PutKeysRequest{Bundle: data, RecoveryAuth: rnd(32),
		RootFolder: &api.CreateNodeRequest{ID: root, Kind: api.KindFolder, Mode: api.ModeSecure}}, nil); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestSharesOverHTTP(t *testing.T) {
	e := newFilesEnv(t, false)
	ctx := context.Background()
	admin := e.signIn("admin")
	root := realKeys(t, admin)
	bob := e.signIn("bob")
	realKeys(t, bob)
	carl := e.signIn("carl")

	var dir api.Node
	if err := admin.Do(ctx, "POST", api.Prefix+"nodes", folderReq(root), &dir); err != nil {
		t.Fatal(err)
	}
	var r api.Recipient
	if err := admin.Do(ctx, "GET", api.Prefix+"recipients?name=BOB", nil, &r); err != nil || r.Kind != api.RecipientUser || len(r.Members[0].PublicKey) != 32 {
		t.Fatalf("recipient: %v %+v", err, r)
	}
	if err := admin.Do(ctx, "GET", api.Prefix+"recipients?name=nobody", nil, &r); apiCode(err) != api.CodeNotFound {
		t.Errorf("unknown recipient: %v", err)
	}
	req := api.CreateShareRequest{ID: newID(), Node: dir.ID, UserID: r.ID, Permission: api.PermRead, Meta: rnd(60),
		Boxes: []api.ShareBox{{UserID: r.ID, Box: rnd(81)}}}
	var sh api.Share
	if err := admin.Do(ctx, "POST", api.Prefix+"shares", req, &sh); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "POST", api.Prefix+"shares", req, nil); apiCode(err) != api.CodeConflict {
		t.Errorf("the same share twice: %v", err)
	}

	// Bob reads through the Files routes; a change is 403 with a message.
	var shared []api.SharedItem
	if err := bob.Do(ctx, "GET", api.Prefix+"shared", nil, &shared); err != nil || len(shared) != 1 || shared[0].Owner != "admin" {
		t.Fatalf("shared: %v %+v", err, shared)
	}
	var info api.NodeInfo
	if err := bob.Do(ctx, "GET", api.Prefix+"nodes/"+dir.ID, nil, &info); err != nil || len(info.Ancestors) != 0 {
		t.Errorf("GET nodes: %v %+v", err, info.Ancestors)
	}
	err := bob.Do(ctx, "POST", api.Prefix+"nodes", folderReq(dir.ID), nil)
	if ae, ok := err.(*api.Error); !ok || ae.Code != api.CodeForbidden || ae.Message == "" {
		t.Errorf("a folder in a read-only share: %v", err)
	}
	resp, body := raw(t, bob, "PATCH", api.Prefix+"nodes/"+dir.ID, mustJSON(api.UpdateNodeRequest{BaseVersion: dir.Version, Meta: rnd(5)}),
		"Content-Type", "application/json")
	if resp.StatusCode != http.StatusForbidden || errCode(body) != api.CodeForbidden {
		t.Errorf("PATCH: %d %s", resp.StatusCode, body)
	}
	if err := bob.Do(ctx, "GET", api.Prefix+"shares?node="+dir.ID, nil, nil); apiCode(err) != api.CodeForbidden {
		t.Errorf("who has access, asked by a recipient: %v", err)
	}
	// Carl: nothing.
	if err := carl.Do(ctx, "GET", api.Prefix+"nodes/"+dir.ID, nil, nil); apiCode(err) != api.CodeNotFound {
		t.Errorf("carl: %v", err)
	}

	// Groups are the administrators'.
	if err := bob.Do(ctx, "GET", api.Prefix+"groups", nil, nil); apiCode(err) != api.CodeForbidden {
		t.Errorf("groups by a user: %v", err)
	}
	var g api.Group
	if err := admin.Do(ctx, "POST", api.Prefix+"groups", api.CreateGroupRequest{Name: "team", Members: []string{"bob", "carl"}}, &g); err != nil || len(g.Members) != 2 {
		t.Fatalf("group: %v %+v", err, g)
	}
	if err := admin.Do(ctx, "PATCH", api.Prefix+"groups/"+itoa(int(g.ID)), api.UpdateGroupRequest{Remove: []string{"carl"}}, &g); err != nil || len(g.Members) != 1 {
		t.Errorf("removing a member: %v %+v", err, g)
	}
	if err := admin.Do(ctx, "DELETE", api.Prefix+"groups/"+itoa(int(g.ID)), nil, nil); err != nil {
		t.Error(err)
	}

	// Revoke with a rekey: bob loses access.
	rk := api.RekeyRequest{BaseVersion: dir.Version, Revoke: []string{sh.ID}, WrappedKey: rnd(73), Meta: rnd(40)}
	if err := admin.Do(ctx, "POST", api.Prefix+"nodes/"+dir.ID+"/rekey", rk, nil); err != nil {
		t.Fatal(err)
	}
	if err := bob.Do(ctx, "GET", api.Prefix+"nodes/"+dir.ID, nil, nil); apiCode(err) != api.CodeNotFound {
		t.Errorf("bob after revoking: %v", err)
	}
}
