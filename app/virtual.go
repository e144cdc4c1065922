package app

import (
	"math"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// A long folder renders only the rows near the screen. go-app builds and
// diffs every element it renders, and 10,000 rows took tens of seconds;
// a window of a few screens costs the same for 200 entries or 100,000.
// The page scrolls as usual: the rows left out are stood in for by
// padding above and below the rendered ones, sized from the measured
// pitch (one row's top to the next, gaps included; in the grid view a
// row holds several tiles).

// virtualMin is the longest list rendered whole: short folders keep
// every row in the page (the browser's find-in-page sees them all).
const virtualMin = 150

// virtualFirst is how many items a long list renders before anything has
// been measured (more than a tall screen of rows).
const virtualFirst = 60

// listWindow is the part of a list that is rendered: items [first, end).
// Its methods run on the UI goroutine.
type listWindow struct {
	first, end int
	pitch      float64 // px per row; 0 until measured
	cols       int     // items per row, ≥ 1 once measured
}

// reset starts a new list (another folder or view) at its top.
func (w *listWindow) reset() {
	*w = listWindow{}
}

// span is the range of n items to render.
func (w *listWindow) span(n int) (first, end int) {
	if n <= virtualMin {
		return 0, n
	}
	first, end = w.first, w.end
	if end == 0 {
		end = virtualFirst
	}
	end = min(end, n)
	first = min(first, end)
	return first, end
}

// pad sets the padding of the element with id, which stands in for the
// rows above and below the rendered ones. It is set through the CSSOM
// after each render, not as a style attribute: the pages' CSP allows no
// inline styles.
func (w *listWindow) pad(id string, n int) {
	if app.IsServer {
		return
	}
	el := app.Window().GetElementByID(id)
	if !el.Truthy() {
		return
	}
	top, bottom := w.pads(n)
	st := el.Get("style")
	if st.Get("paddingTop").String() != top {
		st.Set("paddingTop", top)
	}
	if st.Get("paddingBottom").String() != bottom {
		st.Set("paddingBottom", bottom)
	}
}

// pads is the padding standing in for the rows above and below the
// rendered ones.
func (w *listWindow) pads(n int) (top, bottom string) {
	first, end := w.span(n)
	if n <= virtualMin || w.pitch == 0 {
		return "0px", "0px"
	}
	cols := max(w.cols, 1)
	rows := ceilDiv(n, cols)
	above := first / cols
	below := rows - ceilDiv(end, cols)
	return pxString(float64(above) * w.pitch), pxString(float64(below) * w.pitch)
}

// measure reads the rendered rows in the element with id and moves the
// window so that it covers the screen with a screen to spare on both
// sides. It reports whether the window moved (the list must render
// again). Scrolling within the spare screens moves nothing.
func (w *listWindow) measure(id string, n int) bool {
	if n <= virtualMin || app.IsServer {
		return false
	}
	el := app.Window().GetElementByID(id)
	if !el.Truthy() {
		return false
	}
	kids := el.Get("children")
	k := kids.Length()
	if k == 0 {
		return false
	}
	top := func(i int) float64 { return kids.Index(i).Call("getBoundingClientRect").Get("top").Float() }
	top0 := top(0)
	cols := 1
	for cols < k && math.Abs(top(cols)-top0) < 1 {
		cols++
	}
	var pitch float64
	if k > cols {
		pitch = top(cols) - top0
	} else {
		pitch = kids.Index(0).Get("offsetHeight").Float()
	}
	if pitch < 1 {
		return false
	}
	first, end := w.span(n)
	rows := ceilDiv(n, cols)
	// Where the list's first row is on screen, drawn or not: the top of
	// the padding that stands in for the rows above.
	row0 := el.Call("getBoundingClientRect").Get("top").Float() + el.Get("clientTop").Float()
	vh := app.Window().Get("innerHeight").Float()
	visFirst := clampInt(int(math.Floor(-row0/pitch)), 0, rows)
	visEnd := clampInt(int(math.Ceil((vh-row0)/pitch)), 0, rows)
	same := cols == w.cols && math.Abs(pitch-w.pitch) < 0.5
	if same && visFirst >= first/cols && visEnd <= ceilDiv(end, cols) {
		return false
	}
	screen := max(int(math.Ceil(vh/pitch)), 1)
	newFirst := max(visFirst-screen, 0) * cols
	newEnd := min(min(visEnd+screen, rows)*cols, n)
	moved := !same || newFirst != first || newEnd != end
	w.first, w.end, w.pitch, w.cols = newFirst, newEnd, pitch, cols
	return moved
}

// watch calls onMove (on the UI goroutine) once per frame while the page
// scrolls or resizes; it returns the function that stops watching.
func (w *listWindow) watch(ctx app.Context, onMove func(ctx app.Context)) func() {
	if app.IsServer {
		return func() {}
	}
	pending := false
	var frame app.Func
	frame = app.FuncOf(func(this app.Value, args []app.Value) any {
		pending = false
		ctx.Dispatch(onMove)
		return nil
	})
	onEvent := app.FuncOf(func(this app.Value, args []app.Value) any {
		if !pending {
			pending = true
			app.Window().Call("requestAnimationFrame", frame)
		}
		return nil
	})
	opts := map[string]any{"passive": true}
	app.Window().Call("addEventListener", "scroll", onEvent, opts)
	app.Window().Call("addEventListener", "resize", onEvent, opts)
	return func() {
		app.Window().Call("removeEventListener", "scroll", onEvent, opts)
		app.Window().Call("removeEventListener", "resize", onEvent, opts)
		onEvent.Release()
		frame.Release()
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

func pxString(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + "px" }
