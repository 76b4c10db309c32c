package main

import (
	"log/slog"
	"syscall"
)

// fdReserve is how many file descriptors are kept for everything but
// WebSockets: requests, the database, the identity provider, logs.
const fdReserve = 256

// webSocketCeiling caps live WebSockets below the process's file descriptor
// limit (none when it is unlimited), so that sockets held open (by one user's tabs or by many users')
// leave room to accept and answer requests: past it, /ws answers 503
// instead of accept failing for everyone with "too many open files".
func webSocketCeiling(logger *slog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<31 {
		return 0
	}
	ceiling := int(lim.Cur) - fdReserve
	if ceiling < fdReserve {
		ceiling = int(lim.Cur) / 2
	}
	logger.Debug("websocket ceiling", "open_files_limit", lim.Cur, "max_websockets", ceiling)
	return ceiling
}
