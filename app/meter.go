package app

import (
	"fmt"

	"github.com/communitycube/cube/shared/password"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

var scoreWords = [...]string{"Very weak", "Weak", "Fair", "Strong", "Very strong"}

// strength is the live verdict on a new password, computed in the browser by
// the same Go code the server runs before it accepts the password.
type strength struct {
	typed    bool
	estimate password.Estimate
	err      error // nil when the node would accept the password
}

func judge(pw, userName string) strength {
	if pw == "" {
		return strength{}
	}
	return strength{typed: true, estimate: password.ForAccount(pw, userName), err: password.ValidateForAccount(pw, userName)}
}

// meter shows the verdict: a bar of five steps, the score in words, the
// estimated time to crack it offline, and the reason when it is too weak.
func meter(s strength) app.UI {
	score := 0
	if s.typed {
		score = s.estimate.Score
	}
	label := "Type a password"
	if s.typed {
		label = scoreWords[score]
	}
	return app.Div().ID("meter").Class("meter").DataSet("score", score).DataSet("acceptable", s.typed && s.err == nil).Aria("live", "polite").Body(
		app.Div().Class("meter-bar").Body(
			app.Range(scoreWords[:]).Slice(func(i int) app.UI {
				c := "meter-step"
				if s.typed && i <= score {
					c += fmt.Sprintf(" on s%d", score)
				}
				return app.Span().Class(c)
			}),
		),
		app.Div().Class("meter-label").Body(
			app.Strong().ID("meter-score").Text(label),
			app.If(s.typed, func() app.UI {
				return app.Span().Class("meter-time").Text(" · would take " + s.estimate.CrackTimeOffline + " to crack offline")
			}),
		),
		app.If(s.err != nil, func() app.UI {
			return app.P().ID("meter-reason").Class("meter-reason").Text(s.err.Error())
		}),
	)
}
