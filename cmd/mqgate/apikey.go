package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/mqgate/mqgate/httpapi"
)

// apikey creates, deletes or lists the API keys of the HTTP server.
func apikey(args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := newFlagSet("apikey", "mqgate apikey -f FILE [-D] NAME | mqgate apikey -f FILE -l",
		"Create the API key NAME in FILE (http.api_key_file) and print its secret,\nwhich is shown once: the file keeps only its SHA-256. A key of that name\nis replaced. Call the API with basic auth NAME:SECRET or with the header\nAuthorization: Bearer NAME.SECRET. The file is created when missing and\nrewritten atomically with mode 0600; a running gateway reads it at start\nand on SIGHUP.")
	file := fs.String("f", "", "API key file to create or update (required)")
	del := fs.Bool("D", false, "delete the key NAME")
	list := fs.Bool("l", false, "list the key names")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	usage := newFlagError(errors.New("usage: mqgate apikey -f FILE [-D] NAME, or mqgate apikey -f FILE -l"))
	switch {
	case *file == "":
		return usage
	case *list:
		if fs.NArg() != 0 || *del {
			return usage
		}
		names, err := httpapi.KeyNames(*file)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(stdout, n)
		}
		return nil
	case fs.NArg() != 1:
		return usage
	case *del:
		if err := httpapi.DeleteKey(*file, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %q deleted from %s\n", fs.Arg(0), *file)
		return nil
	}
	name := fs.Arg(0)
	secret, err := httpapi.CreateKey(*file, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key %q set in %s; its secret is shown only now:\n\n  key:          %s\n  secret:       %s\n  bearer token: %s.%s\n\ncurl -u %s:%s http://127.0.0.1:18083/api/v1/status\n",
		name, *file, name, secret, name, secret, name, secret)
	return nil
}
