// Package fc holds openfc's domain types (services, functions, triggers),
// their validation rules, and the table of Function Compute error codes with
// the HTTP status and error type each one maps to. It imports only the
// standard library so that every other package can share it.
package fc
