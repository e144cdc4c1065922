package app

// "Share with people…" (docs/sharing-users.md): share a file or folder
// with another user or a group of this node, read-only or read-write; see
// and change who has access; remove access (which gives the item a new
// key); give a folder to someone. The selection bar of the file manager
// shows it as one entry (sharePeopleEntry: the button and its dialog).

import (
	"context"
	"fmt"
	"strings"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// sharePeopleEntry is the "Share with people…" button and its dialog.
type sharePeopleEntry struct {
	app.Compo
	Item drive.Item

	ctx     app.Context // the component's own: an event's may outlive its element
	open    bool
	target  drive.Item
	name    string
	perm    string
	busy    bool
	err     string
	notice  string
	loaded  bool
	shares  []api.Share
	offers  []drive.Transfer
	giveTo  string
	myPrint string
}

func (c *sharePeopleEntry) OnMount(ctx app.Context) { c.ctx = ctx }

func (c *sharePeopleEntry) Render() app.UI {
	return app.Span().Class("share-people-entry").Body(
		app.Button().ID("action-share-people").Class("small").Text("Share with people…").OnClick(c.show),
		app.If(c.open, c.dialog),
	)
}

func (c *sharePeopleEntry) show(ctx app.Context, e app.Event) {
	c.open, c.target, c.perm = true, c.Item, api.PermRead
	c.name, c.err, c.notice, c.giveTo = "", "", "", ""
	c.loaded, c.shares, c.offers = false, nil, nil
	c.load(ctx)
}

func (c *sharePeopleEntry) close(ctx app.Context, e app.Event) { c.open = false }

// load fetches who has access and the pending offers of the item.
func (c *sharePeopleEntry) load(ctx app.Context) {
	d := currentDrive()
	if d == nil {
		return
	}
	id := c.target.ID
	ctx = c.ctx
	ctx.Async(func() {
		shares, err := d.Shares(ctx, id)
		var offers []drive.Transfer
		if err == nil {
			var all []drive.Transfer
			if all, err = d.Transfers(ctx); err == nil {
				for _, t := range all {
					if !t.Incoming && t.Node == id {
						offers = append(offers, t)
					}
				}
			}
		}
		pub, _ := d.PublicKey()
		ctx.Dispatch(func(ctx app.Context) {
			c.loaded = true
			if err != nil {
				c.err = errorText(err)
				return
			}
			c.shares, c.offers = shares, offers
			if pub != nil {
				c.myPrint = drive.Fingerprint(pub)
			}
		})
	})
}

// act runs f off the UI thread, then shows msg (or the error) and reloads.
func (c *sharePeopleEntry) act(ctx app.Context, f func(ctx context.Context, d *drive.Drive) (string, error)) {
	d := currentDrive()
	if d == nil || c.busy {
		return
	}
	c.busy, c.err, c.notice = true, "", ""
	ctx = c.ctx
	ctx.Async(func() {
		msg, err := f(ctx, d)
		ctx.Dispatch(func(ctx app.Context) {
			c.busy = false
			if err != nil {
				c.err = errorText(err)
			} else {
				c.notice = msg
			}
			c.load(ctx)
		})
	})
}

func (c *sharePeopleEntry) share(ctx app.Context, e app.Event) {
	e.PreventDefault()
	name, perm, id := strings.TrimSpace(c.name), c.perm, c.target.ID
	if name == "" {
		c.err = "Type the name of a user or a group of this node."
		return
	}
	c.act(ctx, func(ctx context.Context, d *drive.Drive) (string, error) {
		r, err := d.Recipient(ctx, name)
		if err != nil {
			return "", err
		}
		if _, err := d.ShareWith(ctx, id, r, perm); err != nil {
			return "", err
		}
		c.name = ""
		what := "can open and download it"
		if perm == api.PermWrite {
			what = "can open, add, change and delete what is in it"
		}
		return fmt.Sprintf("Shared with %s: they %s, under “Shared with me”.", r.Name, what), nil
	})
}

func (c *sharePeopleEntry) revoke(sh api.Share) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		id := c.target.ID
		c.act(ctx, func(ctx context.Context, d *drive.Drive) (string, error) {
			if _, err := d.Revoke(ctx, id, sh.ID); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s no longer has access. This item got a new key, so what you add or change from now on cannot be read with the old one. Copies %s already downloaded, and anything they saved, remain theirs: that cannot be taken back.", sh.ToName, sh.ToName), nil
		})
	}
}

func (c *sharePeopleEntry) setPerm(sh api.Share) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		perm := inputValue(ctx)
		c.act(ctx, func(ctx context.Context, d *drive.Drive) (string, error) {
			if _, err := d.SetPermission(ctx, sh.ID, perm); err != nil {
				return "", err
			}
			return "Permission changed for " + sh.ToName + ".", nil
		})
	}
}

func (c *sharePeopleEntry) updateMembers(sh api.Share) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		c.act(ctx, func(ctx context.Context, d *drive.Drive) (string, error) {
			if _, err := d.UpdateMembers(ctx, sh); err != nil {
				return "", err
			}
			return "The new members of " + sh.ToName + " have access now.", nil
		})
	}
}

func (c *sharePeopleEntry) give(ctx app.Context, e app.Event) {
	e.PreventDefault()
	name, id := strings.TrimSpace(c.giveTo), c.target.ID
	if name == "" {
		c.err = "Type the name of the person to give this folder to."
		return
	}
	c.act(ctx, func(ctx context.Context, d *drive.Drive) (string, error) {
		r, err := d.Recipient(ctx, name)
		if err != nil {
			return "", err
		}
		if _, err := d.OfferFolder(ctx, id, r); err != nil {
			return "", err
		}
		c.giveTo = ""
		return "Offered to " + r.Name + ". It stays yours until they accept it under “Shared with me”.", nil
	})
}

func (c *sharePeopleEntry) cancelOffer(t drive.Transfer) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		c.act(ctx, func(ctx context.Context, d *drive.Drive) (string, error) {
			return "Offer to " + t.To + " cancelled.", d.CancelTransfer(ctx, t.ID)
		})
	}
}

func permLabel(p string) string {
	if p == api.PermWrite {
		return "Can edit"
	}
	return "Can view"
}

func (c *sharePeopleEntry) dialog() app.UI {
	body := app.Div().Class("share-people").Body(
		app.Form().ID("share-people-form").OnSubmit(c.share).Body(
			field("share-people-name", "User or group", app.Input().Type("text").Value(c.name).Required(true).AutoFocus(true).
				Attr("autocomplete", "off").Placeholder("name on this node").
				OnInput(func(ctx app.Context, e app.Event) { c.name, c.err = inputValue(ctx), "" })),
			app.Div().Class("field").Body(
				app.Label().For("share-people-perm").Text("They"),
				app.Select().ID("share-people-perm").OnChange(func(ctx app.Context, e app.Event) { c.perm = inputValue(ctx) }).Body(
					app.Option().Value(api.PermRead).Selected(c.perm == api.PermRead).Text("can view and download"),
					app.Option().Value(api.PermWrite).Selected(c.perm == api.PermWrite).Text("can edit (add, change, delete inside)"),
				),
			),
			app.Div().Class("modal-actions").Body(
				app.Button().ID("share-people-submit").Type("submit").Class("small primary-small").Disabled(c.busy).Text("Share"),
			),
		),
		errorBox(c.err),
		app.If(c.notice != "", func() app.UI {
			return app.P().ID("share-people-notice").Class("notice").Role("status").Text(c.notice)
		}),
		app.H3().Text("Who has access"),
		c.accessList(),
		app.P().Class("hint").Text("The item's key is sealed to each person's own key, which the node hands out. To be sure the node gave the right one, compare the fingerprint shown here with the one in their Settings. Yours: "+c.myPrint+"."),
		app.P().Class("hint").Text("Removing access gives the item a new key and stops it being shared at once; what they already downloaded stays with them. Links to this item stop opening too: make new ones."),
		app.If(c.target.Folder, c.giveForm),
	)
	return fmModal("dialog-share-people", "Share “"+c.target.Name+"” with people", c.close, body)
}

func (c *sharePeopleEntry) accessList() app.UI {
	if !c.loaded {
		return app.P().Class("loading").Text("Loading…")
	}
	if len(c.shares) == 0 {
		return app.P().ID("share-people-none").Class("muted").Text("Only you.")
	}
	return app.Ul().ID("share-people-list").Class("share-people-list").Body(
		app.Range(c.shares).Slice(func(i int) app.UI {
			sh := c.shares[i]
			who := sh.ToName
			if sh.Kind == api.RecipientGroup {
				var names []string
				for _, m := range sh.Grantees {
					names = append(names, m.Name)
				}
				who = sh.ToName + " (group: " + strings.Join(names, ", ") + ")"
			}
			fp := ""
			if sh.Kind == api.RecipientUser && len(sh.Grantees) == 1 && len(sh.Grantees[0].PublicKey) > 0 {
				fp = "key " + drive.Fingerprint(sh.Grantees[0].PublicKey)
			}
			return app.Li().Class("share-person").DataSet("testid", "grantee").DataSet("name", sh.ToName).Body(
				app.Span().Class("share-who").Text(who),
				app.Select().Class("small-select").Aria("label", "Permission of "+sh.ToName).Disabled(c.busy).
					OnChange(c.setPerm(sh)).Body(
					app.Option().Value(api.PermRead).Selected(sh.Permission == api.PermRead).Text(permLabel(api.PermRead)),
					app.Option().Value(api.PermWrite).Selected(sh.Permission == api.PermWrite).Text(permLabel(api.PermWrite)),
				),
				app.If(fp != "", func() app.UI { return app.Span().Class("fingerprint").DataSet("testid", "fingerprint").Text(fp) }),
				app.If(len(sh.Missing) > 0, func() app.UI {
					return app.Span().Class("share-missing").Body(
						app.Text(fmt.Sprintf("%d members have no key yet. ", len(sh.Missing))),
						app.Button().Class("small").DataSet("testid", "update-members").Disabled(c.busy).Text("Update").OnClick(c.updateMembers(sh)),
					)
				}),
				app.Button().Class("small danger").DataSet("testid", "revoke").Disabled(c.busy).Text("Remove access").OnClick(c.revoke(sh)),
			)
		}),
	)
}

func (c *sharePeopleEntry) giveForm() app.UI {
	return app.Details().Class("share-give").Body(
		app.Summary().Text("Give this folder to someone"),
		app.P().Class("hint").Text("They become its owner once they accept: the folder, everything in it and its size move to their account, and it leaves yours. What you shared from it stops being shared."),
		app.Range(c.offers).Slice(func(i int) app.UI {
			t := c.offers[i]
			return app.P().Class("share-offer").DataSet("testid", "offer").Body(
				app.Text("Offered to "+t.To+", waiting for them to accept. "),
				app.Button().Class("small").Disabled(c.busy).Text("Cancel offer").OnClick(c.cancelOffer(t)),
			)
		}),
		app.If(len(c.offers) == 0, func() app.UI {
			return app.Form().ID("share-give-form").OnSubmit(c.give).Body(
				field("share-give-name", "User", app.Input().Type("text").Value(c.giveTo).Attr("autocomplete", "off").
					OnInput(func(ctx app.Context, e app.Event) { c.giveTo, c.err = inputValue(ctx), "" })),
				app.Button().ID("share-give-submit").Type("submit").Class("small").Disabled(c.busy).Text("Offer the folder"),
			)
		}),
	)
}

// keyFingerprint shows the fingerprint of the user's own public key
// (Settings), for others to compare with what their share dialog shows.
type keyFingerprint struct {
	app.Compo
}

func (k *keyFingerprint) Render() app.UI {
	d := currentDrive()
	if d == nil {
		return app.Div().Hidden(true)
	}
	pub, err := d.PublicKey()
	if err != nil {
		return app.Div().Hidden(true)
	}
	return app.Div().Class("card").ID("key-fingerprint").Body(
		app.H2().Text("Your sharing key"),
		app.P().Class("muted").Text("People who share with you seal keys to this account's public key. Its fingerprint is below; if someone wants to be sure the node gave them your real key, read it to them (in person, or by phone) and let them compare it with what their share dialog shows."),
		app.P().Class("fingerprint").DataSet("testid", "my-fingerprint").Text(drive.Fingerprint(pub)),
	)
}
