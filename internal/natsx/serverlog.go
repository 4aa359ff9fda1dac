package natsx

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// serverLogger routes the embedded server's log to slog. Its notices are
// chatty start-up details, so they go to debug.
//
// While the server recovers its streams from disk (inside Start), the
// file store warns about every stream whose index file is older than its
// data, which is what any restart after a crash or kill -9 looks like;
// it then rebuilds the index from the message blocks and nothing is
// wrong. Those warnings go to debug too, and the streams they name are
// counted for the one info line Start writes instead.
type serverLogger struct {
	log *slog.Logger

	mu         sync.Mutex
	recovering bool
	rebuilt    map[string]bool // streams whose state the file store rebuilt
	// joined is set once the node has joined its JetStream cluster.
	// Before, its routes to peers not started yet fail every second, as
	// every node of a cluster starting sees: those errors go to debug.
	joined bool
}

func newServerLogger(log *slog.Logger) *serverLogger {
	return &serverLogger{log: log, rebuilt: map[string]bool{}}
}

// setRecovering marks the span in which stream recovery happens.
func (l *serverLogger) setRecovering(on bool) {
	l.mu.Lock()
	l.recovering = on
	l.mu.Unlock()
}

// setJoined marks the node as one of its JetStream cluster: a route that
// fails from then on is a peer lost, an error again.
func (l *serverLogger) setJoined() {
	if l == nil { // an external NATS: no server of ours
		return
	}
	l.mu.Lock()
	l.joined = true
	l.mu.Unlock()
}

// rebuiltStreams is how many streams the file store rebuilt on recovery.
func (l *serverLogger) rebuiltStreams() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.rebuilt)
}

func (l *serverLogger) logf(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if l.log.Enabled(ctx, level) {
		l.log.Log(ctx, level, fmt.Sprintf(format, v...))
	}
}

func (l *serverLogger) Noticef(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }
func (l *serverLogger) Fatalf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l *serverLogger) Errorf(format string, v ...any) {
	level := slog.LevelError
	l.mu.Lock()
	if !l.joined && strings.HasPrefix(format, routeConnectError) {
		level = slog.LevelDebug
	}
	l.mu.Unlock()
	l.logf(level, format, v)
}

// routeConnectError begins the server's error when it cannot reach a
// route (nats-server v2.15 server/route.go, connectToRoute).
const routeConnectError = "Error trying to connect to route"

func (l *serverLogger) Debugf(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }
func (l *serverLogger) Tracef(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }

func (l *serverLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.mu.Lock()
	benign := l.recovering && isRecoveryChatter(msg)
	if benign {
		l.rebuilt[filestoreName(msg)] = true
	}
	l.mu.Unlock()
	level := slog.LevelWarn
	if benign {
		level = slog.LevelDebug
	}
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

// isRecoveryChatter says whether a warning of the file store's recovery
// only reports that an index (stream state, TTL, schedules, sources) was
// stale or missing and is being rebuilt from the data, as after every
// unclean stop (nats-server v2.15 server/filestore.go, recoverFullState
// and recoverMsgs). Warnings about damaged data (checksums, unreadable
// blocks, lost messages) are not in this list and stay warnings.
func isRecoveryChatter(msg string) bool {
	if !strings.HasPrefix(msg, "Filestore [") {
		return false
	}
	for _, s := range [...]string{
		// The index is older than the data ("last block has additional
		// entries", "found extra blocks"), or names a block since removed.
		"Stream state outdated, ",
		"Stream state detected prior state, could not locate msg block",
		"Stream state block does not exist or index mismatch",
		"Stream state encountered internal inconsistency on recover",
		// The stream, TTL, schedule or source index was stale.
		"state from index errored: prior state file",
		"state is outdated; attempting to recover using",
		// What follows each warning that returns "corrupt state file";
		// those that name real damage stay warnings themselves.
		"Recovering stream state from index errored: corrupt state file",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// filestoreName returns NAME from "Filestore [NAME] ...".
func filestoreName(msg string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(msg, "Filestore ["), "] ")
	return name
}

var _ server.Logger = (*serverLogger)(nil)
