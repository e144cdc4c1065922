package app

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// filesPage is the file manager: one folder (?id=, the root without),
// listed or as a grid, with selection, the actions on it, drag and drop,
// uploads and the dialogs (new folder, rename, move/copy, versions).
type filesPage struct {
	app.Compo
	sess session
	ctx  app.Context

	folderID string
	folder   drive.Item
	path     []drive.Item // ancestors, root first
	items    []drive.Item // sorted
	loaded   bool
	loading  bool
	gen      int
	err      string
	notice   string
	undo     []string // ids just trashed, for "Undo"

	view     string // "list" or "grid"
	sortKey  string // "name", "size", "modified"
	sortDesc bool
	sel      map[string]bool
	anchor   int
	win      listWindow // the rows rendered of a long folder (virtual.go)

	dragIDs  []string
	dropOver string

	dlg   dialogState
	share shareDialog // share_dialog.go

	releases   []func()
	reloadSoon bool
	noScrub    bool
	mode       string
	rateText   string
	pending    []LocalFile // picked before the folder was loaded
	thumbs     thumbURLs   // blob: URLs of the shown thumbnails
}

func (p *filesPage) OnMount(ctx app.Context) {
	p.ctx = ctx
	if p.sel == nil {
		p.sel = map[string]bool{}
	}
	var view, sortKey string
	var desc bool
	ctx.LocalStorage().Get("cube.files.view", &view)
	ctx.LocalStorage().Get("cube.files.sort", &sortKey)
	ctx.LocalStorage().Get("cube.files.desc", &desc)
	p.view, p.sortKey, p.sortDesc = view, sortKey, desc
	if p.view == "" {
		p.view = "list"
	}
	if p.sortKey == "" {
		p.sortKey = "name"
	}
	uploads.mu.Lock()
	p.noScrub, p.mode = uploads.noScrub, uploads.mode
	uploads.mu.Unlock()
	uploads.setStorage(ctx.LocalStorage())
	p.loadRate(ctx)
	p.releases = append(p.releases, p.win.watch(ctx, p.onScroll))
	p.releases = append(p.releases, uploads.listen(func(folderID string) {
		if folderID == "" {
			return
		}
		ctx.Dispatch(func(ctx app.Context) {
			if folderID == p.folderID || p.inChildren(folderID) {
				p.scheduleReload(ctx)
			}
		})
	}))
	if !app.IsServer {
		// Esc closes a dialog (or clears the selection) wherever the focus
		// is; Ctrl/Cmd+A outside a text field selects every item.
		esc := app.FuncOf(func(this app.Value, args []app.Value) any {
			if len(args) == 0 {
				return nil
			}
			ev := args[0]
			switch key := ev.Get("key").String(); {
			case key == "Escape":
				// The open dialog is closed by its own close button, whichever
				// component it belongs to (the share dialogs are others');
				// only without one does Esc clear the selection.
				if closeBtn := app.Window().Get("document").Call("querySelector", ".modal-backdrop .modal-close"); closeBtn.Truthy() {
					closeBtn.Call("click")
					return nil
				}
				ctx.Dispatch(func(ctx app.Context) { p.sel = map[string]bool{} })
			case (key == "a" || key == "A") && (ev.Get("ctrlKey").Bool() || ev.Get("metaKey").Bool()):
				tag := strings.ToLower(ev.Get("target").Get("tagName").String())
				if tag == "input" || tag == "textarea" || tag == "select" {
					return nil
				}
				ev.Call("preventDefault")
				ctx.Dispatch(func(ctx app.Context) {
					if p.dlg.kind == "" {
						for _, it := range p.items {
							p.sel[it.ID] = true
						}
					}
				})
			}
			return nil
		})
		app.Window().Call("addEventListener", "keydown", esc)
		p.releases = append(p.releases, func() {
			app.Window().Call("removeEventListener", "keydown", esc)
			esc.Release()
		})
	}
	if filePicker != nil {
		pick := func(files []LocalFile) {
			ctx.Dispatch(func(ctx app.Context) { p.upload(files) })
		}
		for _, id := range []string{"upload-files", "upload-folder", "files-drop"} {
			p.releases = append(p.releases, filePicker.Watch(id, pick))
		}
	}
}

// loadRate shows the upload rate limit: the tab's, or the user's setting.
func (p *filesPage) loadRate(ctx app.Context) {
	uploads.mu.Lock()
	known, rate := uploads.rateKnown, uploads.rate
	uploads.mu.Unlock()
	if known {
		p.rateText = uploadRateText(rate)
		return
	}
	d := currentDrive()
	if d == nil || app.IsServer {
		return
	}
	ctx.Async(func() {
		s, err := d.Settings(ctx)
		if err != nil {
			return
		}
		ctx.Dispatch(func(ctx app.Context) {
			uploads.mu.Lock()
			if !uploads.rateKnown {
				uploads.rate, uploads.rateKnown = s.UploadRateLimit, true
			}
			rate := uploads.rate
			uploads.mu.Unlock()
			p.rateText = uploadRateText(rate)
		})
	})
}

func uploadRateText(kbps int) string {
	if kbps <= 0 {
		return ""
	}
	return strconv.Itoa(kbps)
}

func (p *filesPage) changeRate(ctx app.Context, e app.Event) {
	p.rateText = strings.TrimSpace(inputValue(ctx))
	n, err := strconv.Atoi(p.rateText)
	if err != nil || n < 0 {
		n = 0
	}
	uploads.setRate(n)
}

func (p *filesPage) OnDismount() {
	p.sess.stop()
	for _, r := range p.releases {
		r()
	}
	p.releases = nil
	p.thumbs.release()
}

func (p *filesPage) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Files · CommunityCube")
	p.sess.start(ctx, forSignedIn)
	p.folderID = ctx.Page().URL().Query().Get("id")
	p.sel = map[string]bool{}
	p.win.reset()
	p.dlg = dialogState{}
	p.err, p.notice, p.undo = "", "", nil
	p.loaded = false
	p.thumbs.release()
	p.waitDrive(ctx)
}

// waitDrive loads the folder once the keys are unlocked (the unlock
// prompt sets currentDrive()).
func (p *filesPage) waitDrive(ctx app.Context) {
	if app.IsServer {
		return
	}
	if currentDrive() == nil {
		ctx.After(250*time.Millisecond, p.waitDrive)
		return
	}
	p.loadRate(ctx)
	p.reload(ctx)
}

func (p *filesPage) inChildren(id string) bool {
	for _, it := range p.items {
		if it.ID == id {
			return true
		}
	}
	return false
}

func (p *filesPage) scheduleReload(ctx app.Context) {
	if p.reloadSoon {
		return
	}
	p.reloadSoon = true
	// While many files are going up, the (long) folder is listed again
	// at most every 2 s.
	delay := 300 * time.Millisecond
	if v := uploads.view(); v.active > 0 {
		delay = 2 * time.Second
	}
	ctx.After(delay, func(ctx app.Context) {
		p.reloadSoon = false
		p.reload(ctx)
	})
}

// reload fetches the folder, its ancestors and its children.
func (p *filesPage) reload(ctx app.Context) {
	d := currentDrive()
	if d == nil {
		return
	}
	id := p.folderID
	if id == "" {
		id = d.RootID()
	}
	p.gen++
	gen := p.gen
	p.loading = true
	ctx.Async(func() {
		folder, anc, err := d.Item(ctx, id)
		var items []drive.Item
		if err == nil {
			items, err = d.List(ctx, id)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if gen != p.gen {
				return
			}
			p.loading = false
			if err != nil {
				p.err = "Could not open this folder: " + errorText(err)
				p.loaded = true
				return
			}
			if p.folderID == "" {
				p.folderID = folder.ID
			}
			p.folder, p.path, p.items, p.loaded = folder, anc, items, true
			p.thumbs.keep(items)
			if len(anc) > 0 && anc[len(anc)-1].ID == folder.ID {
				p.path = anc[:len(anc)-1]
			}
			sortItems(p.items, p.sortKey, p.sortDesc)
			ctx.Defer(p.fitWindow)
			if pending := p.pending; len(pending) > 0 {
				p.pending = nil
				p.upload(pending)
			}
			for id := range p.sel {
				if !p.inChildren(id) {
					delete(p.sel, id)
				}
			}
		})
	})
}

func (p *filesPage) upload(files []LocalFile) {
	if len(files) == 0 {
		return
	}
	if p.folderID == "" {
		// Not loaded yet: the files go up once the folder is known.
		p.pending = append(p.pending, files...)
		return
	}
	uploads.mu.Lock()
	uploads.noScrub, uploads.mode = p.noScrub, p.mode
	uploads.mu.Unlock()
	uploads.add(p.folderID, files)
}

func folderURL(id string) string {
	if id == "" {
		return PathFiles
	}
	return PathFiles + "?id=" + url.QueryEscape(id)
}

func (p *filesPage) Render() app.UI {
	return layout(&p.sess, PathFiles, fmNeedDrive(p.content))
}

func (p *filesPage) content() app.UI {
	return app.Div().ID("files-drop").Class("files").Body(
		p.toolbar(),
		app.If(p.err != "", func() app.UI {
			return app.Div().ID("files-error").Class("error banner-inline").Role("alert").Body(
				app.Span().Text(p.err),
				app.Button().Class("small").Text("Dismiss").OnClick(func(ctx app.Context, e app.Event) { p.err = "" }),
			)
		}),
		app.If(p.notice != "", func() app.UI {
			return app.Div().ID("files-notice").Class("notice banner-inline").Role("status").Body(
				app.Span().Text(p.notice),
				app.If(len(p.undo) > 0, func() app.UI {
					return app.Button().ID("files-undo").Class("small").Text("Undo").OnClick(p.undoTrash)
				}),
				app.Button().Class("small").Text("Dismiss").OnClick(func(ctx app.Context, e app.Event) { p.notice, p.undo = "", nil }),
			)
		}),
		&uploadPanel{},
		p.selectionBar(),
		p.listing(),
		app.Div().Class("drop-hint").Aria("hidden", "true").Text("Drop files or folders to upload them here"),
		p.dialog(),
		p.share.render(),
	)
}

func (p *filesPage) crumbs() app.UI {
	var parts []app.UI
	all := append(append([]drive.Item{}, p.path...), p.folder)
	for i, it := range all {
		name := it.Name
		if i == 0 {
			name = "My files"
		}
		id := it.ID
		last := i == len(all)-1
		if i > 0 {
			parts = append(parts, app.Span().Class("crumb-sep").Aria("hidden", "true").Text("›"))
		}
		if last {
			parts = append(parts, app.Span().Class("crumb current").Aria("current", "location").
				DataSet("testid", "crumb").Text(name))
			continue
		}
		cls := "crumb"
		if p.dropOver == id {
			cls += " drop-over"
		}
		parts = append(parts, app.A().Class(cls).Href(folderURL(id)).DataSet("testid", "crumb").DataSet("id", id).Text(name).
			OnDragOver(p.dragOver(id)).OnDragLeave(p.dragLeave(id)).OnDrop(p.drop(id)))
	}
	if !p.loaded && len(parts) == 0 {
		parts = append(parts, app.Span().Aria("current", "location").Text("My files"))
	}
	return app.Nav().ID("breadcrumbs").Class("breadcrumbs").Aria("label", "Folder").Body(parts...)
}

func (p *filesPage) toolbar() app.UI {
	keepNone := p.loaded && !p.folder.KeepHistory
	return app.Div().Class("files-head").Body(
		p.crumbs(),
		app.Div().Class("toolbar files-toolbar").Body(
			// Disabled until the folder is listed: the dialog proposes a
			// name not taken in it (a click before did nothing at all).
			app.Button().ID("new-folder").Class("small").Disabled(!p.loaded).OnClick(p.openMkdir).Body(fmIcon("new"), app.Span().Text("New folder")),
			app.Label().For("upload-files").Class("button small").ID("upload-files-label").Body(fmIcon("upload"), app.Span().Text("Upload")),
			app.Input().ID("upload-files").Type("file").Multiple(true).Class("visually-hidden").TabIndex(-1),
			app.Label().For("upload-folder").Class("button small").ID("upload-folder-label").Body(fmIcon("upload"), app.Span().Text("Upload folder")),
			app.Input().ID("upload-folder").Type("file").Multiple(true).Attr("webkitdirectory", true).Class("visually-hidden").TabIndex(-1),
			app.Span().Class("toolbar-spacer"),
			app.Button().ID("view-toggle").Class("small icon-button").
				Title(map[bool]string{true: "Show as list", false: "Show as grid"}[p.view == "grid"]).
				Aria("label", map[bool]string{true: "Show as list", false: "Show as grid"}[p.view == "grid"]).
				OnClick(p.toggleView).Body(fmIcon(map[bool]string{true: "list", false: "grid"}[p.view == "grid"])),
			app.Select().ID("sort").Class("small-select").Aria("label", "Sort by").OnChange(p.changeSort).Body(
				fmSortOption("name", "Name", p.sortKey), fmSortOption("size", "Size", p.sortKey), fmSortOption("modified", "Modified", p.sortKey),
			),
			app.Button().ID("sort-dir").Class("small").Aria("label", "Sort direction").
				Text(map[bool]string{true: "↓", false: "↑"}[p.sortDesc]).OnClick(p.toggleSortDir),
		),
		app.Details().Class("upload-options").Body(
			app.Summary().Text("Upload options"),
			app.Div().Class("upload-options-body").Body(
				app.Div().Class("field check").Body(
					app.Input().ID("upload-scrub").Type("checkbox").Checked(!p.noScrub).
						OnChange(func(ctx app.Context, e app.Event) { p.noScrub = !ctx.JSSrc().Get("checked").Bool() }),
					app.Label().For("upload-scrub").Text("Remove metadata (location, camera, author) before upload"),
				),
				app.Div().Class("field").Body(
					app.Label().For("upload-mode").Text("Mode of new uploads"),
					app.Select().ID("upload-mode").OnChange(func(ctx app.Context, e app.Event) { p.mode = inputValue(ctx) }).Body(
						app.Range(modeChoices).Slice(func(i int) app.UI {
							m := modeChoices[i]
							return app.Option().Value(m.value).Selected(p.mode == m.value).Text(m.label)
						}),
					),
				),
				app.Div().Class("field").Body(
					app.Label().For("upload-rate").Text("Upload speed limit (KB/s, empty: none; applies at once)"),
					app.Input().ID("upload-rate").Type("number").Min(0).Step(1).Attr("inputmode", "numeric").
						Placeholder("none").Value(p.rateText).OnChange(p.changeRate),
				),
				app.If(p.loaded, func() app.UI {
					return app.Div().Class("field check").Body(
						app.Input().ID("keep-no-history").Type("checkbox").Checked(keepNone).OnChange(p.toggleHistory),
						app.Label().For("keep-no-history").Text("Keep no history in this folder (replaced files lose their old versions)"),
					)
				}),
			),
		),
	)
}

func fmSortOption(v, label, cur string) app.UI {
	return app.Option().Value(v).Selected(v == cur).Text(label)
}

func (p *filesPage) toggleView(ctx app.Context, e app.Event) {
	if p.view == "grid" {
		p.view = "list"
	} else {
		p.view = "grid"
	}
	ctx.LocalStorage().Set("cube.files.view", p.view)
	p.win.reset()
	ctx.Defer(p.fitWindow)
}

func (p *filesPage) changeSort(ctx app.Context, e app.Event) {
	p.setSort(ctx, inputValue(ctx), p.sortDesc)
}

func (p *filesPage) toggleSortDir(ctx app.Context, e app.Event) {
	p.setSort(ctx, p.sortKey, !p.sortDesc)
}

func (p *filesPage) setSort(ctx app.Context, key string, desc bool) {
	p.sortKey, p.sortDesc = key, desc
	sortItems(p.items, key, desc)
	ctx.LocalStorage().Set("cube.files.sort", key)
	ctx.LocalStorage().Set("cube.files.desc", desc)
}

func (p *filesPage) sortHeader(key, label string) app.UI {
	arrow := ""
	sorted := "none"
	if p.sortKey == key {
		arrow = map[bool]string{true: " ↓", false: " ↑"}[p.sortDesc]
		sorted = map[bool]string{true: "descending", false: "ascending"}[p.sortDesc]
	}
	return app.Button().Class("link sort-head").DataSet("sort", key).Aria("sort", sorted).Text(label + arrow).
		OnClick(func(ctx app.Context, e app.Event) {
			desc := false
			if p.sortKey == key {
				desc = !p.sortDesc
			}
			p.setSort(ctx, key, desc)
		})
}

func (p *filesPage) toggleHistory(ctx app.Context, e app.Event) {
	keep := !ctx.JSSrc().Get("checked").Bool()
	d, id := currentDrive(), p.folder.ID
	if d == nil {
		return
	}
	p.act(ctx, func() error {
		_, err := d.SetKeepHistory(p.ctx, id, keep)
		return err
	}, map[bool]string{true: "Replaced files in this folder keep their old versions.", false: "This folder keeps no history from now on."}[keep])
}

// act runs f (drive calls) off the UI goroutine, then shows msg or the
// error and reloads the folder.
func (p *filesPage) act(ctx app.Context, f func() error, msg string) {
	ctx = p.ctx
	ctx.Async(func() {
		err := f()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.err = errorText(err)
			} else {
				p.err = ""
				if msg != "" {
					p.notice, p.undo = msg, nil
				}
			}
			p.reload(ctx)
		})
	})
}

// Selection.

func (p *filesPage) selected() []drive.Item {
	var out []drive.Item
	for _, it := range p.items {
		if p.sel[it.ID] {
			out = append(out, it)
		}
	}
	return out
}

func (p *filesPage) clickItem(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if i >= len(p.items) {
			return
		}
		id := p.items[i].ID
		shift := e.Get("shiftKey").Bool()
		multi := e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool()
		switch {
		case shift:
			p.selectRange(i)
		case multi:
			p.sel[id] = !p.sel[id]
			p.anchor = i
		default:
			p.sel = map[string]bool{id: true}
			p.anchor = i
		}
	}
}

func (p *filesPage) checkItem(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		if i >= len(p.items) {
			return
		}
		if e.Get("shiftKey").Bool() {
			p.selectRange(i)
			return
		}
		id := p.items[i].ID
		p.sel[id] = !p.sel[id]
		if !p.sel[id] {
			delete(p.sel, id)
		}
		p.anchor = i
	}
}

func (p *filesPage) selectRange(i int) {
	a, b := p.anchor, i
	if a > b {
		a, b = b, a
	}
	for k := a; k <= b && k < len(p.items); k++ {
		p.sel[p.items[k].ID] = true
	}
}

func (p *filesPage) selectAll(ctx app.Context, e app.Event) {
	if len(p.sel) == len(p.items) && len(p.items) > 0 {
		p.sel = map[string]bool{}
		return
	}
	p.sel = map[string]bool{}
	for _, it := range p.items {
		p.sel[it.ID] = true
	}
}

func (p *filesPage) open(ctx app.Context, i int) {
	if i >= len(p.items) {
		return
	}
	it := p.items[i]
	if it.NeedsPassword {
		p.openUnlockItem(it)
		return
	}
	openItem(ctx, p.items, i)
}

func (p *filesPage) keyDown(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		switch e.Get("key").String() {
		case "Enter":
			e.PreventDefault()
			p.open(ctx, i)
		case " ":
			e.PreventDefault()
			if i < len(p.items) {
				id := p.items[i].ID
				p.sel[id] = !p.sel[id]
				if !p.sel[id] {
					delete(p.sel, id)
				}
				p.anchor = i
			}
		case "Delete":
			if len(p.sel) > 0 {
				p.trashSelected(ctx, e)
			}
		case "F2":
			if len(p.sel) == 1 {
				p.openRename(ctx, e)
			}
		default:
			ctx.PreventUpdate()
		}
	}
}

// Drag and drop of items onto folders and breadcrumbs (moves). Files from
// the desktop are the picker's (drop zone "files-drop").

func (p *filesPage) dragStart(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if i >= len(p.items) {
			return
		}
		id := p.items[i].ID
		if !p.sel[id] {
			p.sel = map[string]bool{id: true}
			p.anchor = i
		}
		p.dragIDs = nil
		for _, it := range p.selected() {
			p.dragIDs = append(p.dragIDs, it.ID)
		}
		if dt := e.Get("dataTransfer"); dt.Truthy() {
			dt.Set("effectAllowed", "move")
			dt.Call("setData", "application/x-cube-items", strings.Join(p.dragIDs, ","))
		}
	}
}

func (p *filesPage) dragEnd(ctx app.Context, e app.Event) {
	p.dragIDs, p.dropOver = nil, ""
}

func (p *filesPage) isDragged(id string) bool {
	for _, d := range p.dragIDs {
		if d == id {
			return true
		}
	}
	return false
}

func (p *filesPage) dragOver(target string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if len(p.dragIDs) == 0 || p.isDragged(target) || target == p.folderID {
			ctx.PreventUpdate()
			return
		}
		e.PreventDefault()
		if dt := e.Get("dataTransfer"); dt.Truthy() {
			dt.Set("dropEffect", "move")
		}
		if p.dropOver == target {
			ctx.PreventUpdate()
			return
		}
		p.dropOver = target
	}
}

func (p *filesPage) dragLeave(target string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if p.dropOver != target {
			ctx.PreventUpdate()
			return
		}
		p.dropOver = ""
	}
}

func (p *filesPage) drop(target string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		ids := p.dragIDs
		p.dragIDs, p.dropOver = nil, ""
		if len(ids) == 0 || target == p.folderID {
			return
		}
		e.PreventDefault()
		p.moveOrCopy(ctx, ids, target, false)
	}
}

// moveOrCopy moves (or copies) items into folder target.
func (p *filesPage) moveOrCopy(ctx app.Context, ids []string, target string, copy bool) {
	d := currentDrive()
	if d == nil {
		return
	}
	names := map[string]string{}
	for _, it := range p.items {
		names[it.ID] = it.Name
	}
	ctx = p.ctx
	ctx.Async(func() {
		var errs []string
		done := 0
		for _, id := range ids {
			var err error
			if copy {
				_, err = d.Copy(ctx, id, target)
			} else {
				_, err = d.Move(ctx, id, target)
			}
			switch {
			case isNameTaken(err):
				errs = append(errs, fmt.Sprintf("“%s”: an item with that name is already there (rename one of them first)", names[id]))
			case err != nil:
				errs = append(errs, fmt.Sprintf("“%s”: %s", names[id], errorText(err)))
			default:
				done++
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			verb := map[bool]string{true: "Copied", false: "Moved"}[copy]
			p.notice, p.undo = "", nil
			if done > 0 {
				p.notice = fmt.Sprintf("%s %d item(s).", verb, done)
			}
			p.err = strings.Join(errs, "; ")
			p.sel = map[string]bool{}
			p.reload(ctx)
		})
	})
}

// Actions on the selection.

func (p *filesPage) trashSelected(ctx app.Context, e app.Event) {
	items := p.selected()
	d := currentDrive()
	if d == nil || len(items) == 0 {
		return
	}
	ctx = p.ctx
	ctx.Async(func() {
		var ids, errs []string
		for _, it := range items {
			if err := d.Trash(ctx, it.ID); err != nil {
				errs = append(errs, fmt.Sprintf("“%s”: %s", it.Name, errorText(err)))
			} else {
				ids = append(ids, it.ID)
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.err = strings.Join(errs, "; ")
			p.notice, p.undo = "", nil
			if len(ids) > 0 {
				p.notice = fmt.Sprintf("Moved %d item(s) to the trash.", len(ids))
				p.undo = ids
			}
			p.sel = map[string]bool{}
			p.reload(ctx)
		})
	})
}

func (p *filesPage) undoTrash(ctx app.Context, e app.Event) {
	ids := p.undo
	d := currentDrive()
	if d == nil {
		return
	}
	p.undo = nil
	p.act(ctx, func() error {
		for _, id := range ids {
			if _, err := d.Restore(p.ctx, id); err != nil {
				return err
			}
		}
		return nil
	}, "Restored from the trash.")
}

func (p *filesPage) favorite(it drive.Item) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		d := currentDrive()
		if d == nil {
			return
		}
		on := !it.Favorite
		for i := range p.items {
			if p.items[i].ID == it.ID {
				p.items[i].Favorite = on // at once; the reload confirms
			}
		}
		p.act(ctx, func() error {
			_, err := d.SetFavorite(p.ctx, it.ID, on)
			return err
		}, "")
	}
}

func (p *filesPage) download(ctx app.Context, e app.Event) {
	if items := p.selected(); len(items) > 0 {
		downloadItems(ctx, items)
	}
}

func (p *filesPage) openSelected(ctx app.Context, e app.Event) {
	for i, it := range p.items {
		if p.sel[it.ID] {
			p.open(ctx, i)
			return
		}
	}
}

func (p *filesPage) selectionBar() app.UI {
	items := p.selected()
	n := len(items)
	if n == 0 {
		return app.Div().ID("selection-bar").Class("selection-bar empty-bar").Aria("hidden", "true")
	}
	one := n == 1
	oneFile := one && !items[0].Folder
	return app.Div().ID("selection-bar").Class("selection-bar").Role("toolbar").Aria("label", "Selected items").Body(
		app.Span().ID("selection-count").Class("sel-count").Text(fmt.Sprintf("%d selected", n)),
		app.If(one, func() app.UI {
			return app.Button().ID("action-open").Class("small").Text("Open").OnClick(p.openSelected)
		}),
		app.Button().ID("action-download").Class("small").OnClick(p.download).Body(fmIcon("download"), app.Span().Text("Download")),
		app.If(one, func() app.UI {
			return app.Button().ID("action-rename").Class("small").Text("Rename").OnClick(p.openRename)
		}),
		app.Button().ID("action-move").Class("small").Text("Move").OnClick(p.openChooser(false)),
		app.Button().ID("action-copy").Class("small").Text("Copy").OnClick(p.openChooser(true)),
		app.If(oneFile, func() app.UI {
			return app.Button().ID("action-versions").Class("small").OnClick(p.openVersions).Body(fmIcon("history"), app.Span().Text("Versions"))
		}),
		app.If(one, func() app.UI {
			return app.Button().ID("action-share-link").Class("small").Text("Share link…").OnClick(p.openShareLink)
		}),
		app.If(one, func() app.UI { return &sharePeopleEntry{Item: items[0]} }),
		app.If(one && items[0].Folder, func() app.UI {
			return app.Button().ID("action-drop-link").Class("small").Text("Upload link…").OnClick(p.openDropLink)
		}),
		app.Button().ID("action-delete").Class("small danger").OnClick(p.trashSelected).Body(fmIcon("trash"), app.Span().Text("Delete")),
		app.Button().ID("action-clear").Class("small link").Text("Clear selection").
			OnClick(func(ctx app.Context, e app.Event) { p.sel = map[string]bool{} }),
	)
}

// The listing.

func (p *filesPage) listing() app.UI {
	switch {
	case !p.loaded:
		return app.Div().Class("loading").Aria("busy", "true").Text("Opening the folder…")
	case len(p.items) == 0 && p.err == "":
		return app.Div().ID("files-empty").Class("empty").Body(
			app.Img().Src("/web/icon.svg").Alt("").Class("empty-icon"),
			app.H2().Text(map[bool]string{true: "No files yet", false: "This folder is empty"}[len(p.path) == 0]),
			app.P().Text("Drop files or folders here, or use Upload. They are encrypted in this browser before they leave it."),
		)
	}
	first, end := p.win.span(len(p.items))
	visible := p.items[first:end]
	allOn := len(p.sel) == len(p.items)
	var body app.UI
	if p.view == "grid" {
		body = app.Ul().ID("file-grid").Class("file-grid").Aria("label", "Files").Body(
			app.Range(visible).Slice(func(i int) app.UI { return p.tile(first + i) }),
		)
	} else {
		body = app.Div().ID("file-list").Class("file-list").Role("grid").Aria("label", "Files").Aria("multiselectable", "true").
			Aria("rowcount", len(p.items)+1).Body(
			app.Div().Class("file-row file-head").Role("row").Body(
				app.Span().Class("col-check").Body(
					app.Input().ID("select-all").Type("checkbox").Checked(allOn).Aria("label", "Select all").OnClick(p.selectAll),
				),
				app.Span().Class("col-name").Body(p.sortHeader("name", "Name")),
				app.Span().Class("col-size").Body(p.sortHeader("size", "Size")),
				app.Span().Class("col-date").Body(p.sortHeader("modified", "Modified")),
			),
			app.Div().ID("file-rows").Role("rowgroup").Body(
				app.Range(visible).Slice(func(i int) app.UI { return p.row(first + i) }),
			),
		)
	}
	return app.Div().Class("listing").Body(
		app.If(p.view == "grid", func() app.UI {
			return app.Div().Class("grid-head").Body(
				app.Input().ID("select-all").Type("checkbox").Checked(allOn).OnClick(p.selectAll),
				app.Label().For("select-all").Text("Select all"),
			)
		}),
		body,
	)
}

// windowID is the element whose children are the rendered items.
func (p *filesPage) windowID() string {
	if p.view == "grid" {
		return "file-grid"
	}
	return "file-rows"
}

// onScroll moves the rendered window of a long folder with the page.
func (p *filesPage) onScroll(ctx app.Context) {
	if !p.win.measure(p.windowID(), len(p.items)) {
		ctx.PreventUpdate()
		return
	}
	ctx.Defer(p.fitWindow)
}

// fitWindow runs after a render that moved the window or changed the
// list: it sets the padding that stands in for the rows not drawn, then
// checks that the window covers the screen (the first render of a long
// folder draws a guess; rows measured since may say otherwise) and
// renders again if not.
func (p *filesPage) fitWindow(ctx app.Context) {
	p.win.pad(p.windowID(), len(p.items))
	if p.win.measure(p.windowID(), len(p.items)) {
		ctx.Dispatch(func(ctx app.Context) { ctx.Defer(p.fitWindow) })
	}
}

func (p *filesPage) itemClass(base string, it drive.Item) string {
	cls := base
	if p.sel[it.ID] {
		cls += " selected"
	}
	if it.Folder {
		cls += " is-folder"
	}
	if p.dropOver == it.ID {
		cls += " drop-over"
	}
	return cls
}

func (p *filesPage) star(it drive.Item) app.UI {
	label := map[bool]string{true: "Remove from favourites", false: "Add to favourites"}[it.Favorite]
	return app.Button().Class("star link icon-button").Aria("pressed", it.Favorite).Aria("label", label).Title(label).
		DataSet("testid", "favorite").OnClick(p.favorite(it)).
		Body(fmIcon(map[bool]string{true: "star", false: "star-off"}[it.Favorite]))
}

func (p *filesPage) row(i int) app.UI {
	it := p.items[i]
	size := fmSize(it.Size)
	if it.Folder {
		size = "—"
	}
	r := app.Div().Class(p.itemClass("file-row", it)).Role("row").Aria("rowindex", i+2).TabIndex(0).
		DataSet("testid", "item").DataSet("name", it.Name).DataSet("id", it.ID).
		Aria("selected", p.sel[it.ID]).Draggable(true).
		OnClick(p.clickItem(i)).OnDblClick(func(ctx app.Context, e app.Event) { p.open(ctx, i) }).
		OnKeyDown(p.keyDown(i)).OnDragStart(p.dragStart(i)).OnDragEnd(p.dragEnd)
	if it.Folder {
		r = r.OnDragOver(p.dragOver(it.ID)).OnDragLeave(p.dragLeave(it.ID)).OnDrop(p.drop(it.ID))
	}
	return r.Body(
		app.Span().Class("col-check").Body(
			app.Input().Type("checkbox").Checked(p.sel[it.ID]).Aria("label", "Select "+it.Name).
				DataSet("testid", "select").OnClick(p.checkItem(i)),
		),
		app.Span().Class("col-name").Body(
			listThumb(it, p.thumbs.url(it)),
			app.Span().Class("item-name").Text(it.Name),
			p.star(it),
			modeBadge(it.Mode),
			app.If(it.Locked, func() app.UI {
				return app.Span().Class("own-password").Title("Has its own password").Aria("label", "Own password").Body(fmIcon("lock"))
			}),
		),
		app.Span().Class("col-size").Text(size),
		app.Span().Class("col-date").Text(fmTime(it.Modified)),
	)
}

func (p *filesPage) tile(i int) app.UI {
	it := p.items[i]
	t := app.Li().Class(p.itemClass("file-tile", it)).Aria("setsize", len(p.items)).Aria("posinset", i+1).TabIndex(0).
		DataSet("testid", "item").DataSet("name", it.Name).DataSet("id", it.ID).
		Aria("selected", p.sel[it.ID]).Draggable(true).
		OnClick(p.clickItem(i)).OnDblClick(func(ctx app.Context, e app.Event) { p.open(ctx, i) }).
		OnKeyDown(p.keyDown(i)).OnDragStart(p.dragStart(i)).OnDragEnd(p.dragEnd)
	if it.Folder {
		t = t.OnDragOver(p.dragOver(it.ID)).OnDragLeave(p.dragLeave(it.ID)).OnDrop(p.drop(it.ID))
	}
	sub := fmSize(it.Size)
	if it.Folder {
		sub = "Folder"
	}
	return t.Body(
		app.Input().Type("checkbox").Class("tile-check").Checked(p.sel[it.ID]).Aria("label", "Select "+it.Name).
			DataSet("testid", "select").OnClick(p.checkItem(i)),
		tileThumb(it, p.thumbs.url(it)),
		app.Div().Class("tile-name").Text(it.Name),
		app.Div().Class("tile-meta").Body(
			app.Span().Class("muted").Text(sub),
			p.star(it),
			modeBadge(it.Mode),
		),
	)
}
