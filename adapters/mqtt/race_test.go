//go:build race

package mqtt_test

// raceEnabled: the race detector makes sync.Pool drop a quarter of what
// is put back, so allocation counts mean nothing.
const raceEnabled = true
