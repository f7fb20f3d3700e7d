package main

import (
	"log/slog"
	"reflect"
	"strings"

	"github.com/mqgate/mqgate/conf"
)

// reloadConfig reads the configuration again on SIGHUP: the log level
// takes effect at once; any other section that changed is named as
// needing a restart, and the running configuration stays. The password
// and ACL files are the gateway's to reload (Gateway.Reload).
func reloadConfig(path string, environ []string, running *conf.Config, level *slog.LevelVar, log *slog.Logger) {
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
