// Package testbroker builds the mqgate binary once per test binary and runs
// it as a child process for tests that need the real command: it learns the
// listeners' kernel-chosen ports from the log, waits until they accept, and
// stops the process with SIGTERM, failing the test unless it exits with
// status 0. Only tests import it.
package testbroker
