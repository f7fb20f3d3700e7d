package main

import (
	"bytes"
	"log/slog"
	"os"
	"reflect"

	"gopkg.in/yaml.v3"

	"github.com/mqgate/mqgate/conf"
)

// reloadConfig re-reads the configuration on SIGHUP: it applies what can
// change while running (log.level) and logs, by section, what changed and
// needs a restart. A file that no longer loads leaves everything as it
// was. cur is the configuration in force; the one it returns is.
func reloadConfig(path string, cur *conf.Config, level *slog.LevelVar, log *slog.Logger) *conf.Config {
	if path == "" {
		return cur
	}
	next, err := conf.Load(path)
	if err == nil {
		err = conf.ApplyEnv(next, os.Environ())
	}
	if err != nil {
		log.Error("configuration reload failed, the running configuration is kept", "file", path, "err", err)
		return cur
	}
	if next.Log.Level != cur.Log.Level {
		level.Set(parseLevel(next.Log.Level))
		log.Info("log level changed", "from", cur.Log.Level, "to", next.Log.Level)
	}
	var restart []string
	t := reflect.TypeOf(*cur)
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("yaml")
		if name == "-" || name == "log" {
			continue
		}
		a, _ := yaml.Marshal(reflect.ValueOf(*cur).Field(i).Interface())
		b, _ := yaml.Marshal(reflect.ValueOf(*next).Field(i).Interface())
		if !bytes.Equal(a, b) {
			restart = append(restart, name)
		}
	}
	if next.Log.Format != cur.Log.Format {
		restart = append(restart, "log.format")
	}
	if len(restart) > 0 {
		log.Warn("configuration changed where a restart is needed; the running values are kept", "file", path, "sections", restart)
	}
	// Only the log level took effect; the rest stays as running.
	kept := *cur
	kept.Log.Level = next.Log.Level
	return &kept
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s))
	return l
}
