// Package fc holds openfc's domain types (services, functions, triggers),
// their validation rules, and the table of Function Compute error codes with
// the HTTP status and error type each one maps to. It imports no openfc
// package that does I/O or holds state (only internal/suggest), so that
// every other package can share it; its one library is go-jose, which
// parses a JWT trigger's key set (jwt.go) with the code the verifier in
// internal/auth uses, so that a JWKS accepted at create time is one the
// verifier can use.
package fc
