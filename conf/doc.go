// Package conf is mqgate's configuration: the YAML schema, its defaults and
// its validation. An unknown key or an invalid value is an error that names
// the key, as a path such as mqtt.listeners[0].tls.cert_file, and says what
// is allowed. A key that moved to another section still works under its
// old name, with a warning (moved.go).
//
// mqgate.example.yaml beside this file documents every key.
package conf
