// Package upstream is the exchange with one instance: a pool of HTTP/1.1
// connections kept per instance, the request head written out, the
// response head read in, bodies streamed both ways (full duplex), 1xx
// answers passed over and upgrades (101) handed back as a byte tunnel.
//
// It knows nothing of Function Compute. The caller's rules reach it
// through Hooks, in the spirit of httputil.ReverseProxy: which incoming
// headers are forwarded and which are added (its Rewrite), an inspection
// of the response head that may change or refuse it (ModifyResponse), and
// the errors Do returns for the caller to map (its ErrorHandler). It
// dials through the Backend it is given (an instance's lease), never by
// resolving an address.
//
// Every exchange runs on the caller's goroutine: the request is written
// and the response read there, over a pooled connection that has no
// reader or writer goroutine of its own (net/http's Transport keeps two
// per connection and hands every request over to them). Only a request
// body is sent from a second goroutine, so that an instance may answer
// while it still reads; the exchange joins it before it ends.
//
// HTTP/2 cleartext (h2c with prior knowledge, for gRPC) sits behind the
// same Do, chosen per request (Request.HTTP2), with the same hooks and
// header rules. Its framing is golang.org/x/net/http2's: a second pool
// keeps, per instance, connections made over Backend.Dial, each carrying
// many streams; one more is dialed (one at a time per instance) only
// when the others are at the instance's stream limit. There x/net runs a
// reader goroutine per connection and a sender per stream; an exchange
// ends only once its sender is through with the request body, and Sweep
// and CloseIdle close idle connections as for HTTP/1.1.
package upstream
