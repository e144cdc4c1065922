//go:build js && wasm

// Package picker implements app.FilePicker: it turns the files chosen in an
// <input type=file> (also with webkitdirectory) and the files and folder
// trees dropped on an element into app.LocalFiles backed by wasm/jsfile.
//
// It listens on the document and matches elements by id when an event
// arrives, so the watched elements may be rendered, removed and rendered
// again (as go-app does) without losing the watch.
package picker

import (
	"errors"
	"strings"

	"github.com/communitycube/cube/app"
	"github.com/communitycube/cube/wasm/jsfile"
	"github.com/hack-pad/safejs"
)

// Picker implements app.FilePicker.
type Picker struct{}

// New returns the browser's picker.
func New() *Picker { return &Picker{} }

// localFile is a picked file with its path in the picked or dropped tree.
// Its Value (the JavaScript File, from jsfile.File) is what wasm/thumb
// decodes: keep it (wasm/thumb.JSFile).
type localFile struct {
	*jsfile.File
	path string
}

func (f *localFile) Path() string { return f.path }

// dropClass is set on a drop zone while files are dragged over it.
const dropClass = "dropping"

// Watch implements app.FilePicker. f is called on a goroutine of its own
// (never inside the browser's event callback), so it may block briefly, but
// UI code should hand over with ctx.Dispatch.
func (p *Picker) Watch(elementID string, f func([]app.LocalFile)) (release func()) {
	doc, err := safejs.Global().Get("document")
	if err != nil {
		return func() {}
	}
	type listener struct {
		event string
		fn    safejs.Func
	}
	var added []listener
	add := func(event string, h func(ev safejs.Value)) {
		fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			if len(args) > 0 {
				h(args[0])
			}
			return nil
		})
		if err != nil {
			return
		}
		if _, err := doc.Call("addEventListener", event, fn.Value(), true); err != nil {
			fn.Release()
			return
		}
		added = append(added, listener{event, fn})
	}

	// <input type=file id=elementID>
	add("change", func(ev safejs.Value) {
		target, err := ev.Get("target")
		if err != nil || idOf(target) != elementID {
			return
		}
		files := inputFiles(target)
		// Let the same file be chosen again later.
		target.Set("value", "")
		if len(files) > 0 {
			go f(files)
		}
	})

	// Drop zone: only drags that carry files (not the page's own item drags).
	add("dragover", func(ev safejs.Value) {
		zone := zoneOf(ev, elementID)
		if zone.IsUndefined() || zone.IsNull() || !carriesFiles(ev) {
			return
		}
		ev.Call("preventDefault")
		if dt, err := ev.Get("dataTransfer"); err == nil && !dt.IsNull() && !dt.IsUndefined() {
			dt.Set("dropEffect", "copy")
		}
		if cl, err := zone.Get("classList"); err == nil {
			cl.Call("add", dropClass)
		}
	})
	add("dragleave", func(ev safejs.Value) {
		zone := zoneOf(ev, elementID)
		if zone.IsUndefined() || zone.IsNull() {
			return
		}
		// Leaving for a child of the zone is not leaving the zone.
		if rel, err := ev.Get("relatedTarget"); err == nil && !rel.IsNull() && !rel.IsUndefined() {
			if in, err := zone.Call("contains", rel); err == nil {
				if b, _ := in.Bool(); b {
					return
				}
			}
		}
		if cl, err := zone.Get("classList"); err == nil {
			cl.Call("remove", dropClass)
		}
	})
	add("drop", func(ev safejs.Value) {
		zone := zoneOf(ev, elementID)
		if zone.IsUndefined() || zone.IsNull() {
			return
		}
		if cl, err := zone.Get("classList"); err == nil {
			cl.Call("remove", dropClass)
		}
		if !carriesFiles(ev) {
			return
		}
		ev.Call("preventDefault")
		dt, err := ev.Get("dataTransfer")
		if err != nil || dt.IsNull() || dt.IsUndefined() {
			return
		}
		// Entries must be taken while the event is being dispatched; the
		// tree walk (asynchronous in the browser) happens on a goroutine.
		entries, plain := dropped(dt)
		if len(entries) == 0 && len(plain) == 0 {
			return
		}
		go func() {
			files := plain
			for _, e := range entries {
				files = append(files, walk(e, "")...)
			}
			if len(files) > 0 {
				f(files)
			}
		}()
	})

	return func() {
		for _, l := range added {
			doc.Call("removeEventListener", l.event, l.fn.Value(), true)
			l.fn.Release()
		}
		added = nil
	}
}

func idOf(el safejs.Value) string {
	if el.IsNull() || el.IsUndefined() {
		return ""
	}
	v, err := el.Get("id")
	if err != nil {
		return ""
	}
	s, _ := v.String()
	return s
}

// zoneOf returns the element with id among the event target and its
// ancestors, or undefined.
func zoneOf(ev safejs.Value, id string) safejs.Value {
	target, err := ev.Get("target")
	if err != nil || target.IsNull() || target.IsUndefined() {
		return safejs.Undefined()
	}
	if t, err := target.Get("nodeType"); err == nil {
		if n, _ := t.Int(); n != 1 {
			if target, err = target.Get("parentElement"); err != nil || target.IsNull() {
				return safejs.Undefined()
			}
		}
	}
	z, err := target.Call("closest", "#"+cssEscape(id))
	if err != nil {
		return safejs.Undefined()
	}
	return z
}

func cssEscape(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteString("\\" + string(r))
		}
	}
	return b.String()
}

// carriesFiles reports whether a drag event holds files from outside the
// page.
func carriesFiles(ev safejs.Value) bool {
	dt, err := ev.Get("dataTransfer")
	if err != nil || dt.IsNull() || dt.IsUndefined() {
		return false
	}
	types, err := dt.Get("types")
	if err != nil || types.IsNull() || types.IsUndefined() {
		return false
	}
	n, err := types.Length()
	if err != nil {
		return false
	}
	for i := 0; i < n; i++ {
		t, err := types.Index(i)
		if err != nil {
			continue
		}
		if s, _ := t.String(); s == "Files" {
			return true
		}
	}
	return false
}

// inputFiles reads input.files (path: webkitRelativePath in a folder pick).
func inputFiles(input safejs.Value) []app.LocalFile {
	list, err := input.Get("files")
	if err != nil || list.IsNull() || list.IsUndefined() {
		return nil
	}
	return fileList(list)
}

func fileList(list safejs.Value) []app.LocalFile {
	n, err := list.Length()
	if err != nil {
		return nil
	}
	var out []app.LocalFile
	for i := 0; i < n; i++ {
		v, err := list.Index(i)
		if err != nil {
			continue
		}
		if lf := wrap(v, ""); lf != nil {
			out = append(out, lf)
		}
	}
	return out
}

// wrap makes a LocalFile of a File; path "" takes webkitRelativePath or the
// name.
func wrap(v safejs.Value, path string) app.LocalFile {
	jf, err := jsfile.New(v)
	if err != nil {
		return nil
	}
	if path == "" {
		if rp, err := v.Get("webkitRelativePath"); err == nil && !rp.IsUndefined() {
			path, _ = rp.String()
		}
	}
	if path == "" {
		path = jf.Name()
	}
	return &localFile{File: jf, path: path}
}

// dropped takes a drop's entries (webkitGetAsEntry: files and folders),
// or, where the browser gives none, its plain files.
func dropped(dt safejs.Value) (entries []safejs.Value, plain []app.LocalFile) {
	items, err := dt.Get("items")
	if err == nil && !items.IsNull() && !items.IsUndefined() {
		n, _ := items.Length()
		for i := 0; i < n; i++ {
			it, err := items.Index(i)
			if err != nil {
				continue
			}
			if k, err := it.Get("kind"); err == nil {
				if s, _ := k.String(); s != "file" {
					continue
				}
			}
			if e, err := it.Call("webkitGetAsEntry"); err == nil && !e.IsNull() && !e.IsUndefined() {
				entries = append(entries, e)
				continue
			}
			if f, err := it.Call("getAsFile"); err == nil && !f.IsNull() && !f.IsUndefined() {
				if lf := wrap(f, ""); lf != nil {
					plain = append(plain, lf)
				}
			}
		}
		if len(entries) > 0 || len(plain) > 0 {
			return entries, plain
		}
	}
	files, err := dt.Get("files")
	if err != nil || files.IsNull() || files.IsUndefined() {
		return nil, nil
	}
	return nil, fileList(files)
}

// walk returns the files under a FileSystemEntry, with paths from the
// dropped item ("photos/2024/a.jpg"). It blocks on the browser's callbacks:
// call it on a goroutine.
func walk(entry safejs.Value, prefix string) []app.LocalFile {
	name := ""
	if v, err := entry.Get("name"); err == nil {
		name, _ = v.String()
	}
	path := name
	if prefix != "" {
		path = prefix + "/" + name
	}
	isDir := false
	if v, err := entry.Get("isDirectory"); err == nil {
		isDir, _ = v.Bool()
	}
	if !isDir {
		f, err := callback(entry, "file")
		if err != nil {
			return nil
		}
		if lf := wrap(f, path); lf != nil {
			return []app.LocalFile{lf}
		}
		return nil
	}
	reader, err := entry.Call("createReader")
	if err != nil {
		return nil
	}
	var out []app.LocalFile
	// readEntries answers in batches (100 in Chromium) until an empty one.
	for {
		batch, err := callback(reader, "readEntries")
		if err != nil {
			return out
		}
		n, err := batch.Length()
		if err != nil || n == 0 {
			return out
		}
		for i := 0; i < n; i++ {
			e, err := batch.Index(i)
			if err != nil {
				continue
			}
			out = append(out, walk(e, path)...)
		}
	}
}

// callback calls obj.method(success, failure) and waits for one of them.
func callback(obj safejs.Value, method string) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	ok, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		v := safejs.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer ok.Release()
	fail, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		msg := method + " failed"
		if len(args) > 0 {
			if m, err := args[0].Get("message"); err == nil {
				if s, err := m.String(); err == nil && s != "" {
					msg = s
				}
			}
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer fail.Release()
	if _, err := obj.Call(method, ok.Value(), fail.Value()); err != nil {
		return safejs.Undefined(), err
	}
	r := <-ch
	return r.v, r.err
}
