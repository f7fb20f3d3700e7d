package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// dockerfile is the top-level Dockerfile as instructions: the keyword and
// the rest of the line, continuation lines joined.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	cur := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = cur + line
		cur = ""
		kw, rest, _ := strings.Cut(line, " ")
		out = append(out, [2]string{strings.ToUpper(kw), strings.TrimSpace(rest)})
	}
	return out
}

func instr(t *testing.T, df [][2]string, kw string) []string {
	t.Helper()
	var got []string
	for _, in := range df {
		if in[0] == kw {
			got = append(got, in[1])
		}
	}
	return got
}

// TestDockerfile checks what a container engine would otherwise tell: the
// binary builds static with the Dockerfile's own command and runs, the
// image runs as a non-root user, exposes the default ports, keeps the
// default data directory on its volume, and its HEALTHCHECK is a command
// mqgate has.
func TestDockerfile(t *testing.T) {
	df := dockerfile(t)
	var build []string
	for _, run := range instr(t, df, "RUN") {
		if strings.Contains(run, "go build") {
			build = shellWords(t, run)
		}
	}
	if build == nil {
		t.Fatal("no RUN line with go build")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "mqgate")
	var env []string
	var cmdArgs []string
	for _, w := range build {
		switch {
		case len(cmdArgs) == 0 && strings.Contains(w, "="):
			env = append(env, w)
		case w == "/out/mqgate":
			cmdArgs = append(cmdArgs, bin)
		default:
			cmdArgs = append(cmdArgs, strings.ReplaceAll(w, "${VERSION}", "docker-test"))
		}
	}
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Fatalf("the build does not set CGO_ENABLED=0: %q", build)
	}
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%q: %v\n%s", build, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has an interpreter: not static, it cannot run on distroless static")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary keeps its symbol table: -s -w is missing")
	}
	f.Close()
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "mqgate docker-test") {
		t.Fatalf("version: %q, %v", out, err)
	}

	if users := instr(t, df, "USER"); len(users) == 0 || strings.HasPrefix(users[len(users)-1], "root") || strings.HasPrefix(users[len(users)-1], "0") {
		t.Errorf("the image runs as %q, want a non-root user", users)
	}
	exposed := strings.Fields(strings.Join(instr(t, df, "EXPOSE"), " "))
	def := conf.Default()
	// Every protocol's default listeners, those off until a config file
	// enables them included, and the HTTP API.
	type port struct{ what, addr, suffix string }
	var ports []port
	for _, l := range def.MQTT.Listeners {
		ports = append(ports, port{"mqtt " + l.Name, l.Address, ""})
	}
	for _, l := range def.MQTTSN.Listeners {
		ports = append(ports, port{"mqttsn " + l.Name, l.Address, "/udp"})
	}
	for _, l := range def.CoAP.Listeners {
		ports = append(ports, port{"coap " + l.Name, l.Address, "/udp"})
	}
	for _, l := range def.STOMP.Listeners {
		ports = append(ports, port{"stomp " + l.Name, l.Address, ""})
	}
	ports = append(ports, port{"http", def.HTTP.Address, ""})
	if len(ports) < 6 {
		t.Fatalf("only %d default listeners: %v", len(ports), ports)
	}
	for _, p := range ports {
		_, n, err := net.SplitHostPort(p.addr)
		if err != nil {
			t.Fatalf("default %s address %q: %v", p.what, p.addr, err)
		}
		if !slices.Contains(exposed, n+p.suffix) {
			t.Errorf("default listener %s (%s) not exposed: EXPOSE %v", p.what, p.addr, exposed)
		}
	}
	// The binary is where HEALTHCHECK and ENTRYPOINT run it.
	var binPath string
	for _, c := range instr(t, df, "COPY") {
		if f := strings.Fields(c); len(f) >= 2 && strings.HasSuffix(f[len(f)-2], "/out/mqgate") {
			binPath = f[len(f)-1]
		}
	}
	if binPath == "" {
		t.Fatal("no COPY of /out/mqgate into the image")
	}
	for _, in := range []string{"HEALTHCHECK", "ENTRYPOINT"} {
		if v := instr(t, df, in); len(v) != 1 || !strings.Contains(v[0], `"`+binPath+`"`) {
			t.Errorf("%s %q does not run %s", in, v, binPath)
		}
	}
	workdirs := instr(t, df, "WORKDIR")
	volumes := instr(t, df, "VOLUME")
	if len(volumes) != 1 || len(workdirs) == 0 || workdirs[len(workdirs)-1] != volumes[0] {
		t.Errorf("the runtime WORKDIR %v is not the VOLUME %v", workdirs, volumes)
	}
	if dir := def.Storage.Dir; filepath.IsAbs(dir) {
		t.Errorf("default data directory %q is not relative to the working directory (the volume)", dir)
	}
	hc := instr(t, df, "HEALTHCHECK")
	if len(hc) != 1 || !strings.Contains(hc[0], `"health"`) {
		t.Fatalf("HEALTHCHECK %q does not run mqgate health", hc)
	}
	if _, ok := lookup("health"); !ok {
		t.Fatal("mqgate has no health command")
	}
}

// TestSystemdUnitAndEtcConfig: the unit runs the binary on the example
// /etc config, which parses, and keeps its store in the unit's state
// directory.
func TestSystemdUnitAndEtcConfig(t *testing.T) {
	unit, err := os.ReadFile("../../packaging/mqgate.service")
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			kv[k] = v
		}
	}
	if kv["ExecStart"] != "/usr/local/bin/mqgate run -c /etc/mqgate/mqgate.yaml" {
		t.Errorf("ExecStart %q", kv["ExecStart"])
	}
	for _, k := range []string{"NoNewPrivileges", "ProtectSystem", "StateDirectory"} {
		if kv[k] == "" {
			t.Errorf("the unit does not set %s", k)
		}
	}
	b, err := os.ReadFile("../../conf/etc/mqgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := conf.Parse(b)
	if err != nil {
		t.Fatalf("conf/etc/mqgate.yaml: %v", err)
	}
	if want := "/var/lib/" + kv["StateDirectory"] + "/"; !strings.HasPrefix(c.Storage.Dir, want) {
		t.Errorf("storage.dir %q is not under the unit's state directory %s", c.Storage.Dir, want)
	}
}

func TestHealth(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	// A port nobody listens on, for the HTTP API that is switched off.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/healthz"
	l.Close()
	// An MQTT listener that answers CONNECT.
	mq, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mq.Close()
	go func() {
		for {
			c, err := mq.Accept()
			if err != nil {
				return
			}
			io.ReadFull(c, make([]byte, 14))
			c.Write([]byte{0x20, 2, 0, 0})
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"healthz answers 200", []string{"-url", ok.URL + "/healthz"}, true},
		{"healthz answers 503", []string{"-url", sick.URL + "/healthz"}, false},
		{"no HTTP API, MQTT answers", []string{"-url", closed, "-mqtt", mq.Addr().String()}, true},
		{"nothing answers", []string{"-url", closed, "-mqtt", strings.TrimPrefix(strings.TrimSuffix(closed, "/healthz"), "http://")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"health"}, tc.args...), nil, &stdout, &stderr)
			if (code == 0) != tc.ok {
				t.Fatalf("exit %d, want ok=%v; stdout %q stderr %q", code, tc.ok, stdout.String(), stderr.String())
			}
		})
	}
}
