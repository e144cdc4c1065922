package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/chk"
	"github.com/communitycube/cube/shared/drive"
	"github.com/communitycube/cube/shared/scrub"
	"github.com/communitycube/cube/shared/transfer"
	"github.com/communitycube/cube/shared/transfer/upload"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The upload queue of the tab. It outlives pages (an upload keeps going
// while the user browses elsewhere); the upload panel and the files page
// listen to it. Uploads run on goroutines of their own (drive.Put.Run
// blocks); listeners hand updates to the UI with ctx.Dispatch.

type upState string

const (
	upQueued    upState = "queued"
	upPreparing upState = "preparing"
	upRunning   upState = "running"
	upPaused    upState = "paused"
	upDone      upState = "done"
	upFailed    upState = "failed"
	upCanceled  upState = "canceled"
	upConflict  upState = "conflict" // name taken: keep both, replace or skip
)

// UploadWorkers make the upload.Worker that sends a picked file itself
// (wasm/upworker: the page's dedicated upload worker), given what is
// uploaded as parts over the file; nil when they cannot.
type UploadWorkers func(f LocalFile, parts []scrub.Part) upload.Worker

var uploadWorkers UploadWorkers

// SetUploadWorkers installs the browser's upload workers (cmd/cubeweb).
func SetUploadWorkers(f UploadWorkers) { uploadWorkers = f }

// maxParallelUploads is how many files are sent at once.
const maxParallelUploads = 2

// resumeKeyPrefix names the localStorage entries that keep the file key of
// an unfinished upload, so the same file picked again after a reload
// continues where it stopped.
const resumeKeyPrefix = "cube.upload|"

type upJob struct {
	id       int
	file     LocalFile
	parentID string // the folder the user uploaded into
	dir      string // the file's folder inside it ("" for a plain file)
	name     string
	noScrub  bool
	mode     string // "" inherit
	replace  bool

	state     upState
	prog      transfer.Progress
	err       string
	put       *drive.Put
	folderID  string // where the file lands (parentID or a subfolder)
	resumed   bool   // continued with a key kept from an earlier visit
	pauseWant bool
	storeKey  string
	scrubbed  []string
}

func (j *upJob) size() int64 {
	if j.prog.Total > 0 {
		return j.prog.Total
	}
	return j.file.Size()
}

func (j *upJob) finished() bool {
	return j.state == upDone || j.state == upCanceled
}

type uploader struct {
	mu        sync.Mutex
	jobs      []*upJob
	nextID    int
	running   int
	rate      int // KB/s, 0: none
	rateKnown bool
	noScrub   bool
	mode      string
	listeners map[int]func(folderID string)
	nextL     int
	dirs      map[string]string // parent id + "/" + lower(name) -> folder id
	dirMu     sync.Mutex
	storage   app.BrowserStorage

	notifyMu     sync.Mutex
	lastNotify   time.Time
	notifyQueued bool
}

var uploads = &uploader{listeners: map[int]func(string){}, dirs: map[string]string{}}

// listen calls f after every change (folderID set when a file landed
// there); the returned func stops it.
func (u *uploader) listen(f func(folderID string)) func() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.nextL++
	id := u.nextL
	u.listeners[id] = f
	return func() {
		u.mu.Lock()
		delete(u.listeners, id)
		u.mu.Unlock()
	}
}

func (u *uploader) callListeners(folderID string) {
	u.mu.Lock()
	ls := make([]func(string), 0, len(u.listeners))
	for _, l := range u.listeners {
		ls = append(ls, l)
	}
	u.mu.Unlock()
	for _, l := range ls {
		l(folderID)
	}
}

// notify tells listeners about progress, at most every 200 ms.
func (u *uploader) notify() {
	u.notifyMu.Lock()
	if u.notifyQueued {
		u.notifyMu.Unlock()
		return
	}
	wait := 200*time.Millisecond - time.Since(u.lastNotify)
	if wait <= 0 {
		u.lastNotify = time.Now()
		u.notifyMu.Unlock()
		u.callListeners("")
		return
	}
	u.notifyQueued = true
	u.notifyMu.Unlock()
	time.AfterFunc(wait, func() {
		u.notifyMu.Lock()
		u.notifyQueued = false
		u.lastNotify = time.Now()
		u.notifyMu.Unlock()
		u.callListeners("")
	})
}

// setStorage remembers where resume keys go (the page's localStorage).
func (u *uploader) setStorage(s app.BrowserStorage) {
	u.mu.Lock()
	if u.storage == nil {
		u.storage = s
	}
	u.mu.Unlock()
}

// add queues files for upload into folder parentID.
func (u *uploader) add(parentID string, files []LocalFile) {
	u.mu.Lock()
	for _, f := range files {
		p := strings.Trim(strings.ReplaceAll(f.Path(), "\\", "/"), "/")
		if p == "" {
			p = f.Name()
		}
		dir, name := path.Split(p)
		u.nextID++
		u.jobs = append(u.jobs, &upJob{
			id: u.nextID, file: f, parentID: parentID, dir: strings.Trim(dir, "/"), name: name,
			noScrub: u.noScrub, mode: u.mode, state: upQueued,
			prog: transfer.Progress{Total: f.Size(), ETA: -1},
		})
	}
	u.mu.Unlock()
	u.schedule()
	u.notify()
}

// schedule starts queued jobs while fewer than maxParallelUploads run.
func (u *uploader) schedule() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, j := range u.jobs {
		if u.running >= maxParallelUploads {
			break
		}
		if j.state == upQueued {
			j.state = upPreparing
			u.running++
			go u.run(j)
		}
	}
	if u.running == 0 {
		u.dirMu.Lock()
		u.dirs = map[string]string{} // a new batch looks folders up afresh
		u.dirMu.Unlock()
	}
}

func (u *uploader) set(j *upJob, f func()) {
	u.mu.Lock()
	f()
	u.mu.Unlock()
}

func (u *uploader) run(j *upJob) {
	defer func() {
		u.mu.Lock()
		u.running--
		u.mu.Unlock()
		u.schedule()
		u.notify()
	}()
	ctx := context.Background()
	d := currentDrive()
	if d == nil {
		u.set(j, func() { j.state, j.err = upFailed, "Your files are locked: unlock them and retry." })
		return
	}
	folderID, err := u.ensureDirs(ctx, d, j.parentID, j.dir, j.mode)
	if err != nil {
		u.set(j, func() { j.state, j.err = upFailed, errorText(err) })
		return
	}
	u.mu.Lock()
	j.folderID = folderID
	j.storeKey = resumeKey(folderID, j)
	name, replace, noScrub, mode := j.name, j.replace, j.noScrub, j.mode
	rate, storage := u.rate, u.storage
	u.mu.Unlock()

	opts := drive.PutOptions{
		ParentID: folderID, Name: name, Replace: replace, NoScrub: noScrub,
		Create: drive.CreateOptions{Mode: mode}, MIME: j.file.Type(), RateLimit: rate,
		Progress: func(p transfer.Progress) {
			u.set(j, func() {
				j.prog = p
				if p.State == transfer.Paused {
					j.state = upPaused
				} else if j.state == upPaused || j.state == upPreparing {
					j.state = upRunning
				}
			})
			u.notify()
		},
	}
	if lm, ok := j.file.(interface{ LastModified() time.Time }); ok {
		opts.Modified = lm.LastModified()
	}
	if uploadWorkers != nil {
		file := j.file
		opts.Worker = func(parts []scrub.Part) upload.Worker { return uploadWorkers(file, parts) }
	}
	resumed := false
	if storage != nil {
		var hexKey string
		if storage.Get(j.storeKey, &hexKey) == nil && hexKey != "" {
			if b, err := hex.DecodeString(hexKey); err == nil && len(b) == len(chk.Key{}) {
				var k chk.Key
				copy(k[:], b)
				opts.Key = &k
				resumed = true
			}
		}
	}
	// The thumbnail is the browser's re-encode of the picture: no metadata
	// from the original goes into it.
	if kindOf(name, j.file.Type()) == "image" {
		opts.Thumbnail = makeThumbnail(ctx, j.file)
	}
	put, err := d.NewPut(j.file, j.file.Size(), opts)
	if err != nil {
		u.set(j, func() { j.state, j.err = upFailed, errorText(err) })
		return
	}
	if storage != nil && !resumed && j.file.Size() > 1<<20 {
		k := put.Key()
		storage.Set(j.storeKey, hex.EncodeToString(k[:]))
	}
	u.mu.Lock()
	j.put, j.resumed, j.scrubbed = put, resumed, put.Scrubbed()
	j.prog.Total = put.Size()
	if j.state == upPreparing {
		j.state = upRunning
	}
	canceled, pause := j.state == upCanceled, j.pauseWant
	u.mu.Unlock()
	// Pause reports progress at once: never under u.mu.
	if up := put.Upload(); pause && up != nil {
		up.Pause()
	}
	if canceled {
		if up := put.Upload(); up != nil {
			up.Cancel()
		}
	}
	u.notify()

	_, err = put.Run(ctx)
	u.mu.Lock()
	switch {
	case err == nil:
		j.state, j.err = upDone, ""
		j.prog.State, j.prog.Done, j.prog.ETA = transfer.Done, j.prog.Total, 0
		if storage != nil {
			storage.Del(j.storeKey)
		}
	case errors.Is(err, transfer.ErrCanceled) || j.state == upCanceled:
		j.state, j.err = upCanceled, ""
		if storage != nil {
			storage.Del(j.storeKey)
		}
	case isNameTaken(err):
		j.state, j.err = upConflict, fmt.Sprintf("A file named “%s” is already in this folder.", j.name)
	case transfer.NeedsUser(err):
		j.state, j.err = upFailed, errorText(err)
	default:
		j.state, j.err = upFailed, errorText(err)
	}
	state := j.state
	u.mu.Unlock()
	if state == upDone {
		u.callListeners(folderID)
		if folderID != j.parentID {
			u.callListeners(j.parentID)
		}
	}
}

// resumeKey names an unfinished upload in localStorage: the same file
// (path, size, time) into the same folder.
func resumeKey(folderID string, j *upJob) string {
	var ms int64
	if lm, ok := j.file.(interface{ LastModified() time.Time }); ok {
		ms = lm.LastModified().UnixMilli()
	}
	p := j.file.Path()
	if p == "" {
		p = j.file.Name()
	}
	return fmt.Sprintf("%s%s|%s|%d|%d", resumeKeyPrefix, folderID, p, j.file.Size(), ms)
}

// ensureDirs finds or makes the folders of dir ("a/b") under parentID,
// reusing folders that exist by name, and returns the innermost one's id.
func (u *uploader) ensureDirs(ctx context.Context, d *drive.Drive, parentID, dir, mode string) (string, error) {
	if dir == "" {
		return parentID, nil
	}
	u.dirMu.Lock()
	defer u.dirMu.Unlock()
	cur := parentID
	for _, name := range strings.Split(dir, "/") {
		if name == "" || name == "." {
			continue
		}
		key := cur + "/" + strings.ToLower(name)
		if id, ok := u.dirs[key]; ok {
			cur = id
			continue
		}
		id, err := findFolder(ctx, d, cur, name)
		if err != nil {
			return "", err
		}
		if id == "" {
			it, err := d.Mkdir(ctx, cur, name, drive.CreateOptions{Mode: mode})
			if isNameTaken(err) {
				id, err = findFolder(ctx, d, cur, name)
				if err == nil && id == "" {
					err = fmt.Errorf("“%s” exists and is not a folder.", name)
				}
			} else if err == nil {
				id = it.ID
			}
			if err != nil {
				return "", err
			}
		}
		u.dirs[key] = id
		cur = id
	}
	return cur, nil
}

func findFolder(ctx context.Context, d *drive.Drive, parentID, name string) (string, error) {
	items, err := d.List(ctx, parentID)
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if it.Name == name {
			if !it.Folder {
				return "", fmt.Errorf("“%s” exists and is not a folder.", name)
			}
			return it.ID, nil
		}
	}
	return "", nil
}

// Controls, from the UI goroutine.

func (u *uploader) job(id int) *upJob {
	for _, j := range u.jobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

func (u *uploader) pause(id int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if j := u.job(id); j != nil {
		u.pauseLocked(j)
	}
	go u.notify()
}

func (u *uploader) pauseLocked(j *upJob) {
	switch j.state {
	case upQueued:
		j.state = upPaused
		j.pauseWant = true
	case upPreparing, upRunning:
		j.pauseWant = true
		if j.put != nil {
			if up := j.put.Upload(); up != nil {
				go up.Pause()
			}
		}
	}
}

func (u *uploader) resume(id int) {
	u.mu.Lock()
	if j := u.job(id); j != nil {
		u.resumeLocked(j)
	}
	u.mu.Unlock()
	u.schedule()
	go u.notify()
}

func (u *uploader) resumeLocked(j *upJob) {
	j.pauseWant = false
	switch {
	case j.state == upPaused && j.put == nil:
		j.state = upQueued
	case (j.state == upPaused || j.state == upRunning) && j.put != nil:
		if up := j.put.Upload(); up != nil {
			go up.Resume()
		}
		j.state = upRunning
	case j.state == upFailed:
		j.state, j.err, j.put = upQueued, "", nil
	}
}

func (u *uploader) cancel(id int) {
	u.mu.Lock()
	if j := u.job(id); j != nil {
		u.cancelLocked(j)
	}
	u.mu.Unlock()
	go u.notify()
}

func (u *uploader) cancelLocked(j *upJob) {
	switch j.state {
	case upQueued, upConflict, upFailed:
		j.state = upCanceled
		if u.storage != nil && j.storeKey != "" {
			u.storage.Del(j.storeKey)
		}
	case upPaused:
		if j.put == nil {
			j.state = upCanceled
			return
		}
		fallthrough
	case upPreparing, upRunning:
		j.state = upCanceled
		if j.put != nil {
			if up := j.put.Upload(); up != nil {
				go up.Cancel()
			}
		}
	}
}

func (u *uploader) all(f func(*upJob)) {
	u.mu.Lock()
	for _, j := range u.jobs {
		f(j)
	}
	u.mu.Unlock()
	u.schedule()
	go u.notify()
}

// resolve answers a name conflict: "keep" both (a free name), "replace"
// (a new version of the existing file) or "skip".
func (u *uploader) resolve(id int, how string) {
	u.mu.Lock()
	j := u.job(id)
	if j == nil || j.state != upConflict {
		u.mu.Unlock()
		return
	}
	switch how {
	case "skip":
		u.cancelLocked(j)
		u.mu.Unlock()
		go u.notify()
		return
	case "replace":
		j.replace, j.state, j.err, j.put = true, upQueued, "", nil
		u.mu.Unlock()
		u.schedule()
		go u.notify()
		return
	}
	j.state, j.err = upPreparing, "Finding a free name…"
	folderID := j.folderID
	u.mu.Unlock()
	go func() {
		d := currentDrive()
		var items []drive.Item
		var err error
		if d != nil {
			items, err = d.List(context.Background(), folderID)
		}
		u.mu.Lock()
		if err != nil || d == nil {
			j.state, j.err = upConflict, "Could not list the folder; try again."
		} else {
			j.name = freeName(j.name, items)
			j.state, j.err, j.put = upQueued, "", nil
		}
		u.mu.Unlock()
		u.schedule()
		u.notify()
	}()
}

func (u *uploader) clearFinished() {
	u.mu.Lock()
	kept := u.jobs[:0]
	for _, j := range u.jobs {
		if !j.finished() {
			kept = append(kept, j)
		}
	}
	u.jobs = kept
	u.mu.Unlock()
	go u.notify()
}

func (u *uploader) setRate(kbps int) {
	u.mu.Lock()
	u.rate, u.rateKnown = kbps, true
	for _, j := range u.jobs {
		if j.put != nil && !j.finished() {
			if up := j.put.Upload(); up != nil {
				up.SetRateLimit(kbps)
			}
		}
	}
	u.mu.Unlock()
}

// upView is a snapshot of the queue for rendering.
type upView struct {
	rate                int
	jobs                []upJob
	done, total         int64
	speed               float64
	active, paused, bad int
	finished            int
}

func (u *uploader) view() upView {
	u.mu.Lock()
	defer u.mu.Unlock()
	v := upView{rate: u.rate}
	for _, j := range u.jobs {
		v.jobs = append(v.jobs, *j)
		if j.state == upCanceled {
			continue
		}
		v.done += j.prog.Done
		v.total += j.size()
		switch j.state {
		case upRunning, upPreparing, upQueued:
			v.active++
			if j.state == upRunning {
				v.speed += j.prog.Speed
			}
		case upPaused:
			v.paused++
		case upFailed, upConflict:
			v.bad++
		}
		if j.finished() {
			v.finished++
		}
	}
	for _, j := range u.jobs {
		if j.state == upCanceled {
			v.finished++
		}
	}
	return v
}

// unfinishedKeys lists resume entries in storage that no job of this tab
// holds: uploads cut short by a reload or a closed tab.
func unfinishedKeys(s app.BrowserStorage) []string {
	if s == nil {
		return nil
	}
	held := map[string]bool{}
	uploads.mu.Lock()
	for _, j := range uploads.jobs {
		held[j.storeKey] = true
	}
	uploads.mu.Unlock()
	var keys []string
	s.ForEach(func(k string) {
		if strings.HasPrefix(k, resumeKeyPrefix) && !held[k] {
			keys = append(keys, k)
		}
	})
	return keys
}

// unfinishedName is the file path a resume key names.
func unfinishedName(k string) string {
	parts := strings.Split(strings.TrimPrefix(k, resumeKeyPrefix), "|")
	if len(parts) >= 2 {
		return parts[1]
	}
	return k
}

// modeChoices are the upload form's mode options.
var modeChoices = []struct{ value, label string }{
	{"", "Inherit from folder"},
	{api.ModeSecure, "Secure"},
	{api.ModeStandard, "Standard"},
}
