// Package wsrelay relays a WebSocket connection between a client and an
// instance, frame by frame, after the handshake, and enforces a message
// size limit and a deadline on it.
//
// Frames pass through unchanged, byte for byte: masking, the RSV bits of
// extensions such as permessage-deflate, fragmentation and interleaved
// control frames. The relay reads frame headers only to know where frames
// and messages end and how big a message is; it streams payloads through
// a fixed buffer and never holds a message whole, and it never unmasks
// what it forwards.
//
// The relay writes frames of its own only to close: to the client
// unmasked, to the instance masked with a random key, since there it
// speaks as a client. Writes to a side are serialised per frame, so a
// close frame of the relay's goes out between two frames, never inside
// one.
//
// It is a mechanism: limits, close codes and reasons come in as Options
// and Close's arguments; it knows nothing of the platform's rules.
//
//	frame.go       frame headers (RFC 6455 §5.2), close frames (§5.5.1)
//	relay.go       Side, Options, Result, Relay: New, Run, Close
//	supervisor.go  Run's loop: what ends the relay, the closing handshake
//	pump.go        one direction: frames read, checked, streamed on
//
// Lock order: a side's write token (peer.wtok), then Relay.mu; Relay.mu is
// never held during I/O.
package wsrelay
