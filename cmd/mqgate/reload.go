package main

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"

	"github.com/mqgate/mqgate/conf"
	"github.com/mqgate/mqgate/gateway"
)

// reloadConfig reads the configuration again on SIGHUP: the log level
// takes effect at once, and a changed bridges section is handed to
// bridges (Gateway.ReloadBridges); any other section that changed is
// named as needing a restart, and the running configuration stays. The
// password, ACL, API key, dashboard users and ban files are the gateway's
// to reload (Gateway.Reload).
func reloadConfig(path string, environ []string, running *conf.Config, level *slog.LevelVar, log *slog.Logger,
	bridges func([]conf.BridgeConfig) error) {
	next, err := conf.Resolve(path, environ)
	if err != nil {
		log.Error("config reload failed, running configuration kept", "err", err)
		return
	}
	if next.Log.Level != running.Log.Level {
		var l slog.Level
		if err := l.UnmarshalText([]byte(next.Log.Level)); err == nil {
			level.Set(l)
			running.Log.Level = next.Log.Level
			log.Info("log level changed", "level", next.Log.Level)
		}
	}
	if bridges != nil && !reflect.DeepEqual(running.Bridges, next.Bridges) {
		switch err := bridges(next.Bridges); {
		case errors.Is(err, gateway.ErrBridgesNeedRestart):
			// Named below with the sections that need a restart.
		default:
			// Applied, perhaps with some bridges that did not start (the
			// gateway logged which): the running set is the new list.
			running.Bridges = next.Bridges
		}
	}
	var restart []string
	rv, nv := reflect.ValueOf(running).Elem(), reflect.ValueOf(next).Elem()
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		a, b := rv.Field(i).Interface(), nv.Field(i).Interface()
		if key == "log" {
			// The level is applied above; the format needs a restart.
			a, b = running.Log.Format, next.Log.Format
		}
		if !reflect.DeepEqual(a, b) {
			restart = append(restart, key)
		}
	}
	if len(restart) > 0 {
		log.Warn("config changes that need a restart, not applied", "sections", strings.Join(restart, ","))
	} else {
		log.Info("config re-read; no change in it needs a restart")
	}
}
