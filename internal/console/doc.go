// Package console serves openfc's web console: a single page of plain
// HTML, CSS and JavaScript modules, embedded with go:embed, with no build
// step. The page talks to the management API from the browser, signing
// every request with FC's signature (assets/js/fcsign.js, checked against
// pkg/fcsign by this package's tests), so the server holds no session.
//
// The gateway's front door decides which requests are the console's (the
// unsigned GET and HEAD requests of exactly "/" and of paths under
// "/console/" on the platform's own host); everything else stays the
// API's or a function's.
package console
