package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	crdberrors "github.com/cockroachdb/errors"
)

// TestNoReflectMethod checks that nothing linked into mqgate calls methods
// by a name only known at run time (text/template does, through
// reflect.Value.MethodByName). Once one such call is reachable the linker
// keeps every exported method of every type in the program: megabytes of
// code and tables, which the package initialisers then touch, costing the
// idle memory budget (test/release) about 2 MiB. third_party/sockjs-go
// is patched for this reason.
func TestNoReflectMethod(t *testing.T) {
	if testing.Short() {
		t.Skip("links the binary")
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, "-ldflags=-dumpdep", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var deps bytes.Buffer
	cmd.Stdout, cmd.Stderr = &deps, &deps
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%.2000s", err, deps.String())
	}
	var marked []string
	sc := bufio.NewScanner(&deps)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if from, _, ok := strings.Cut(sc.Text(), " <ReflectMethod>"); ok {
			marked = append(marked, from)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(marked) > 0 {
		t.Errorf("reachable code calls methods by name through reflection, so the linker keeps every exported method: %q", marked)
	}
}

// TestErrorsRecordNoStack checks that Pebble's error package is the copy
// in third_party/cockroachdb-errors, which records no stack trace: the
// original walks the caller's stack for every error it makes, 40 of them
// as Pebble's packages initialise, and those walks through the
// executable's unwinding tables cost a fresh gateway about 0.5 MB of its
// idle memory budget (test/release).
func TestErrorsRecordNoStack(t *testing.T) {
	err := crdberrors.New("no stack")
	if s := fmt.Sprintf("%+v", err); strings.Contains(s, "TestErrorsRecordNoStack") {
		t.Errorf("cockroachdb/errors recorded a stack trace: go.mod no longer replaces it with third_party/cockroachdb-errors?\n%s", s)
	}
	if !crdberrors.Is(crdberrors.Wrap(err, "wrapped"), err) {
		t.Error("a wrapped error is no longer its cause")
	}
}
