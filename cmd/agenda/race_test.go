//go:build race

package main

// raceEnabled: the race detector multiplies memory and time, so memory
// bounds are reported, not held, under it.
const raceEnabled = true
