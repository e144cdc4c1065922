package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/communitycube/cube/shared/transfer"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// uploadPanel shows the upload queue: per-file and overall progress, speed
// and time left, pause/resume/cancel, the rate limit, and answers to name
// conflicts.
type uploadPanel struct {
	app.Compo
	release    func()
	collapsed  bool
	unfinished []string
}

func (c *uploadPanel) OnMount(ctx app.Context) {
	uploads.setStorage(ctx.LocalStorage())
	c.release = uploads.listen(func(string) {
		ctx.Dispatch(func(ctx app.Context) {
			if len(c.unfinished) > 0 {
				c.unfinished = unfinishedKeys(ctx.LocalStorage())
			}
		})
	})
	c.unfinished = unfinishedKeys(ctx.LocalStorage())
}

func (c *uploadPanel) OnDismount() {
	if c.release != nil {
		c.release()
		c.release = nil
	}
}

func (c *uploadPanel) Render() app.UI {
	v := uploads.view()
	return app.Section().ID("upload-panel").Class("upload-panel").Aria("label", "Uploads").Body(
		app.If(len(c.unfinished) > 0, func() app.UI {
			return app.Div().ID("upload-unfinished").Class("banner-inline info").Role("status").Body(
				app.Strong().Text(fmt.Sprintf("%d unfinished upload(s) from an earlier visit", len(c.unfinished))),
				app.Span().Text(": "+strings.Join(unfinishedNames(c.unfinished, 3), ", ")+
					". Choose the same files again, in the same folder, and they continue where they stopped. "),
				app.Button().Class("small").Text("Forget them").OnClick(c.forget),
			)
		}),
		app.If(len(v.jobs) > 0, func() app.UI { return c.queue(v) }),
	)
}

func unfinishedNames(keys []string, n int) []string {
	var out []string
	for i, k := range keys {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(keys)-n))
			break
		}
		out = append(out, unfinishedName(k))
	}
	return out
}

func (c *uploadPanel) forget(ctx app.Context, e app.Event) {
	for _, k := range c.unfinished {
		ctx.LocalStorage().Del(k)
	}
	c.unfinished = nil
}

func (c *uploadPanel) queue(v upView) app.UI {
	pct := 0.0
	if v.total > 0 {
		pct = float64(v.done) / float64(v.total) * 100
	}
	eta := time.Duration(-1)
	if v.speed > 0 {
		eta = time.Duration(float64(v.total-v.done) / v.speed * float64(time.Second))
	}
	summary := fmt.Sprintf("%s of %s", fmSize(v.done), fmSize(v.total))
	if len(v.jobs) > 1 {
		summary = fmt.Sprintf("%d of %d files · %s", v.finished, len(v.jobs), summary)
	}
	if v.active > 0 && v.speed > 0 {
		summary += fmt.Sprintf(" · %s/s · %s left", fmSize(int64(v.speed)), fmDuration(eta))
	}
	status := "Uploads"
	switch {
	case v.active > 0:
		status = fmt.Sprintf("Uploading %d file(s)", v.active)
	case v.paused > 0:
		status = "Uploads paused"
	case v.bad > 0:
		status = "Some uploads need you"
	case len(v.jobs) > 0:
		status = "Uploads complete"
	}
	return app.Div().Class("upq").Body(
		app.Div().Class("upq-head").Body(
			app.Div().Class("upq-title").Body(
				app.Strong().ID("upload-status").Text(status),
				app.Span().ID("upload-summary").Class("muted").Text(" "+summary),
			),
			app.Div().Class("upq-actions").Body(
				app.Button().ID("upload-pause-all").Class("small").Text("Pause all").
					OnClick(func(ctx app.Context, e app.Event) { uploads.all(uploads.pauseLocked) }),
				app.Button().ID("upload-resume-all").Class("small").Text("Resume all").
					OnClick(func(ctx app.Context, e app.Event) {
						uploads.all(func(j *upJob) {
							if j.state == upPaused {
								uploads.resumeLocked(j)
							}
						})
					}),
				app.Button().ID("upload-cancel-all").Class("small").Text("Cancel all").
					OnClick(func(ctx app.Context, e app.Event) { uploads.all(uploads.cancelLocked) }),
				app.If(v.finished > 0, func() app.UI {
					return app.Button().ID("upload-clear").Class("small").Text("Clear finished").
						OnClick(func(ctx app.Context, e app.Event) { uploads.clearFinished() })
				}),
				app.Button().Class("small").Aria("expanded", !c.collapsed).Text(map[bool]string{true: "Show", false: "Hide"}[c.collapsed]).
					OnClick(func(ctx app.Context, e app.Event) { c.collapsed = !c.collapsed }),
			),
		),
		fmProgress("upload-overall", pct),
		app.If(v.rate > 0, func() app.UI {
			return app.Div().Class("upq-rate muted").Text(fmt.Sprintf("Limited to %d KB/s (Upload options)", v.rate))
		}),
		app.If(!c.collapsed, func() app.UI {
			shown, hidden := visibleJobs(v.jobs)
			return app.Ul().ID("upload-list").Class("upq-list").Body(
				app.Range(shown).Slice(func(i int) app.UI { return c.row(shown[i]) }),
				app.If(hidden != "", func() app.UI { return app.Li().Class("upq-more muted").Text(hidden) }),
			)
		}),
	)
}

// fmProgress is a progress bar (a <progress>: the page's CSP allows no
// inline styles).
func fmProgress(id string, pct float64) app.UI {
	return app.Progress().ID(id).Class("progress").Max(100).Value(fmt.Sprintf("%.1f", pct)).
		Aria("valuenow", int(pct))
}

func (c *uploadPanel) row(j upJob) app.UI {
	pct := 0.0
	if t := j.size(); t > 0 {
		pct = float64(j.prog.Done) / float64(t) * 100
	} else if j.state == upDone {
		pct = 100
	}
	label := j.name
	if j.dir != "" {
		label = j.dir + "/" + j.name
	}
	var detail string
	switch j.state {
	case upQueued:
		detail = "Waiting"
	case upPreparing:
		detail = "Preparing (removing metadata, encrypting)…"
		if j.err != "" {
			detail = j.err
		}
	case upRunning:
		detail = fmt.Sprintf("%s of %s", fmSize(j.prog.Done), fmSize(j.size()))
		switch j.prog.State {
		case transfer.Retrying:
			detail += " · connection lost, retrying…"
		case transfer.Hashing:
			detail += " · checking what the node already has…"
		case transfer.Finishing:
			detail += " · storing on the grid…"
		default:
			if j.prog.Speed > 0 {
				detail += fmt.Sprintf(" · %s/s · %s left", fmSize(int64(j.prog.Speed)), fmDuration(j.prog.ETA))
			}
		}
	case upPaused:
		detail = fmt.Sprintf("Paused at %s of %s", fmSize(j.prog.Done), fmSize(j.size()))
	case upDone:
		detail = "Uploaded · " + fmSize(j.size())
		if len(j.scrubbed) > 0 {
			detail += " · removed: " + strings.Join(j.scrubbed, ", ")
		}
	case upCanceled:
		detail = "Canceled"
	case upFailed, upConflict:
		detail = j.err
	}
	if j.resumed {
		detail += " · resumed from an earlier visit"
	}
	id := j.id
	return app.Li().Class("upq-item state-"+string(j.state)).DataSet("testid", "upload-item").DataSet("name", j.name).DataSet("state", string(j.state)).Body(
		app.Div().Class("upq-name").Text(label),
		fmProgress(fmt.Sprintf("upload-progress-%d", id), pct),
		app.Div().Class("upq-detail").Body(
			app.Span().Class("muted").Text(detail),
			app.Span().Class("upq-buttons").Body(
				app.If(j.state == upConflict, func() app.UI {
					return app.Span().Body(
						app.Button().Class("small").DataSet("testid", "upload-keep-both").Text("Keep both").
							OnClick(func(ctx app.Context, e app.Event) { uploads.resolve(id, "keep") }),
						app.Button().Class("small").DataSet("testid", "upload-replace").Text("Replace").
							Title("Store it as a new version of the existing file").
							OnClick(func(ctx app.Context, e app.Event) { uploads.resolve(id, "replace") }),
						app.Button().Class("small").DataSet("testid", "upload-skip").Text("Skip").
							OnClick(func(ctx app.Context, e app.Event) { uploads.resolve(id, "skip") }),
					)
				}),
				app.If(j.state == upRunning || j.state == upQueued || j.state == upPreparing, func() app.UI {
					return app.Button().Class("small").DataSet("testid", "upload-pause").Text("Pause").
						OnClick(func(ctx app.Context, e app.Event) { uploads.pause(id) })
				}),
				app.If(j.state == upPaused, func() app.UI {
					return app.Button().Class("small").DataSet("testid", "upload-resume").Text("Resume").
						OnClick(func(ctx app.Context, e app.Event) { uploads.resume(id) })
				}),
				app.If(j.state == upFailed, func() app.UI {
					return app.Button().Class("small").DataSet("testid", "upload-retry").Text("Retry").
						OnClick(func(ctx app.Context, e app.Event) { uploads.resume(id) })
				}),
				app.If(!j.finished(), func() app.UI {
					return app.Button().Class("small").DataSet("testid", "upload-cancel").Text("Cancel").
						OnClick(func(ctx app.Context, e app.Event) { uploads.cancel(id) })
				}),
			),
		),
	)
}

// Long queues (a folder of thousands of files) render only what matters:
// what needs the user, what is moving, the next few waiting and the last
// few finished.
const (
	upShowWaiting  = 20
	upShowFinished = 20
)

func visibleJobs(jobs []upJob) ([]upJob, string) {
	if len(jobs) <= upShowWaiting+upShowFinished {
		return jobs, ""
	}
	var attention, moving, waiting, finished []upJob
	for _, j := range jobs {
		switch j.state {
		case upConflict, upFailed:
			attention = append(attention, j)
		case upRunning, upPreparing, upPaused:
			moving = append(moving, j)
		case upQueued:
			waiting = append(waiting, j)
		default:
			finished = append(finished, j)
		}
	}
	out := append(attention, moving...)
	moreWaiting, moreFinished := 0, 0
	if len(waiting) > upShowWaiting {
		moreWaiting = len(waiting) - upShowWaiting
		waiting = waiting[:upShowWaiting]
	}
	out = append(out, waiting...)
	if len(finished) > upShowFinished {
		moreFinished = len(finished) - upShowFinished
		finished = finished[len(finished)-upShowFinished:]
	}
	out = append(out, finished...)
	var more []string
	if moreWaiting > 0 {
		more = append(more, fmt.Sprintf("%d more waiting", moreWaiting))
	}
	if moreFinished > 0 {
		more = append(more, fmt.Sprintf("%d more finished", moreFinished))
	}
	return out, strings.Join(more, " · ")
}
