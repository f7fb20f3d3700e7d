package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/mqgate/mqgate/conf"
)

// config runs mqgate config check.
func config(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	usage := newFlagError(errors.New("usage: mqgate config check [-c FILE]"))
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		args = []string{"check", "-h"}
	}
	if len(args) == 0 || args[0] != "check" {
		return usage
	}
	fs := newFlagSet("config check", "mqgate config check [-c FILE]",
		"Validate a configuration file and print the effective configuration,\ndefaults filled in and MQGATE_SECTION__KEY environment variables applied,\nas YAML that mqgate run -c accepts. Every mistake is reported with its\nkey; the exit status is 1 when there is one. Without -c it starts from\nthe embedded defaults.")
	path := fs.String("c", "", "configuration file (YAML); the embedded defaults when empty")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usage
	}
	source := "the embedded defaults"
	if *path != "" {
		source = *path
	}
	cfg, err := conf.Resolve(*path, os.Environ())
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s is valid. The effective configuration, defaults filled in:\n%s", source, out)
	return nil
}
