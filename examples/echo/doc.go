// Package echo is the smallest useful application on Troupe's public API, and the load-test
// workload: the echo contract of the harness (cmd/loadtest) as an App.
//
// Its state is one number per user, n, the plain text messages it counted. A plain text is
// answered "#n <text>", replying to it; "/chart" with a PNG chart of that count; "panic",
// under Options.Chaos, crashes the user's actor, which the edge answers with its default
// apology, and nothing of that message is counted: the next reply continues from the last
// committed n. Any other command gets a one-line help.
//
//	b, err := bot.New(bot.Config{Token: token}, echo.New(echo.Options{}))
package echo
