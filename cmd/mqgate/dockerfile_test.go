package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/conf"
)

// dockerfile reads the repository's Dockerfile as its instructions, one
// per entry, continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func instr(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// TestDockerfileMatchesTheDefaults holds the Dockerfile to the defaults:
// every default port exposed, the store's directory a volume owned by the
// non-root user, a HEALTHCHECK the binary answers.
func TestDockerfileMatchesTheDefaults(t *testing.T) {
	lines := dockerfile(t)
	def := conf.Default()
	var want []string
	port := func(addr, proto string) {
		i := strings.LastIndexByte(addr, ':')
		want = append(want, addr[i+1:]+"/"+proto)
	}
	for _, l := range def.MQTT.Listeners {
		port(l.Address, "tcp")
	}
	for _, l := range def.MQTTSN.Listeners {
		port(l.Address, "udp")
	}
	port(def.HTTP.Address, "tcp")
	exposed := strings.Fields(strings.Join(instr(lines, "EXPOSE"), " "))
	slices.Sort(want)
	slices.Sort(exposed)
	if !slices.Equal(exposed, want) {
		t.Errorf("EXPOSE %v, want the default ports %v", exposed, want)
	}

	cfg := conf.Default()
	if err := conf.ApplyEnv(cfg, instr(lines, "ENV")); err != nil {
		t.Fatalf("the Dockerfile's ENV does not load: %v", err)
	}
	if vols := instr(lines, "VOLUME"); len(vols) != 1 || vols[0] != cfg.Storage.Dir || cfg.Storage.Type != "disk" {
		t.Errorf("VOLUME %v, want the store's directory %s", vols, cfg.Storage.Dir)
	}
	user := instr(lines, "USER")
	if len(user) != 1 || strings.HasPrefix(user[0], "root") || strings.HasPrefix(user[0], "0") {
		t.Errorf("USER %v, want a non-root user", user)
	}
	owned := false
	for _, c := range instr(lines, "COPY") {
		if strings.Contains(c, "--chown="+user[0]) && strings.HasSuffix(c, " "+cfg.Storage.Dir) {
			owned = true
		}
	}
	if !owned {
		t.Errorf("no COPY --chown=%s creates %s", user[0], cfg.Storage.Dir)
	}
	hc := instr(lines, "HEALTHCHECK")
	if len(hc) != 1 || !strings.Contains(hc[0], `"ctl", "health"`) {
		t.Errorf("HEALTHCHECK %v, want mqgate ctl health", hc)
	}
	if from := instr(lines, "FROM"); len(from) != 2 || !strings.Contains(from[1], "distroless/static") || !strings.Contains(from[1], "nonroot") {
		t.Errorf("FROM %v, want a build stage and distroless static nonroot", from)
	}
}

// TestDockerfileBuildIsStatic runs the Dockerfile's go build as written
// (there is no container engine here) and checks the binary is static and
// stamped with the version.
func TestDockerfileBuildIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("a full -trimpath build takes a minute on a cold cache")
	}
	var build string
	for _, r := range instr(dockerfile(t), "RUN") {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	m := regexp.MustCompile(`^CGO_ENABLED=0 go build (-trimpath) -ldflags "(.*)\$\{VERSION\}" -o /out/mqgate (\./cmd/mqgate)$`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("the Dockerfile's build is not CGO_ENABLED=0 go build -trimpath -ldflags \"... ${VERSION}\" -o /out/mqgate ./cmd/mqgate: %q", build)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "mqgate")
	cmd := exec.Command(goTool, "build", m[1], "-ldflags", m[2]+"9.9.9-test", "-o", bin, m[3])
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: not static")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: not stripped")
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), "9.9.9-test") {
		t.Errorf("version = %q, %v; want the stamped 9.9.9-test", out, err)
	}
	if st, err := os.Stat(bin); err == nil {
		t.Logf("binary: %s MiB", strconv.FormatFloat(float64(st.Size())/(1<<20), 'f', 1, 64))
	}
}
