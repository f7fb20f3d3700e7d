package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
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
