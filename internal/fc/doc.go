// Package fc holds openfc's domain types (services, functions, triggers),
// their validation rules, and the table of Function Compute error codes with
// the HTTP status and error type each one maps to. It imports no openfc
// package that does I/O or holds state (only internal/suggest), and no
// library, so that every other package can share it. A JWT trigger's keys
// are parsed in internal/auth (CheckJWKS), with the verifier's library.
package fc
