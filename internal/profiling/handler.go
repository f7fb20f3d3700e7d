package profiling

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Prefix is the path the handler serves under.
const Prefix = "/debug/pprof/"

// Handler serves the index at Prefix, the named profiles below it
// (heap, goroutine, allocs, block, mutex, threadcreate and any other
// runtime/pprof profile), and cmdline, profile (CPU), symbol and trace.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Prefix, named)
	mux.HandleFunc(Prefix+"cmdline", cmdline)
	mux.HandleFunc(Prefix+"profile", cpuProfile)
	mux.HandleFunc(Prefix+"symbol", symbol)
	mux.HandleFunc(Prefix+"trace", execTrace)
	return mux
}

// named serves the profile the path names, or the index for Prefix itself.
// debug=N selects the text form (as runtime/pprof's WriteTo), gc=1 collects
// garbage before a heap profile.
func named(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || name == "" {
		index(w)
		return
	}
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, "unknown profile "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	if r.FormValue("seconds") != "" {
		http.Error(w, "delta profiles are not served: take two profiles and compare them with go tool pprof -base", http.StatusBadRequest)
		return
	}
	if gc, _ := strconv.Atoi(r.FormValue("gc")); gc > 0 && name == "heap" {
		runtime.GC()
	}
	debug, _ := strconv.Atoi(r.FormValue("debug"))
	if debug != 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	// An error here is the client's connection failing mid-profile:
	// nothing is left to tell it.
	_ = p.WriteTo(w, debug)
}

// index lists the profiles with links to each.
func index(w http.ResponseWriter) {
	profiles := pprof.Profiles()
	slices.SortFunc(profiles, func(a, b *pprof.Profile) int { return strings.Compare(a.Name(), b.Name()) })
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><title>/debug/pprof/</title></head><body>\n<p>/debug/pprof/</p>\n<table>\n")
	for _, p := range profiles {
		n := escapeHTML(p.Name())
		fmt.Fprintf(&b, "<tr><td>%d</td><td><a href=\"%s?debug=1\">%s</a></td></tr>\n", p.Count(), n, n)
	}
	b.WriteString("<tr><td></td><td><a href=\"cmdline\">cmdline</a></td></tr>\n" +
		"<tr><td></td><td><a href=\"profile\">profile</a> (CPU, seconds=30)</td></tr>\n" +
		"<tr><td></td><td><a href=\"trace?seconds=1\">trace</a></td></tr>\n" +
		"</table>\n<p><a href=\"goroutine?debug=2\">all goroutine stacks</a></p>\n</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;", `'`, "&#39;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

// cmdline answers the command line, its arguments separated by NUL bytes.
func cmdline(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, strings.Join(os.Args, "\x00"))
}

// cpuProfile profiles the CPU for seconds= (default 30).
func cpuProfile(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	d := duration(r, 30*time.Second)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	if err := pprof.StartCPUProfile(w); err != nil {
		http.Error(w, "cannot start a CPU profile: "+err.Error(), http.StatusInternalServerError)
		return
	}
	wait(r, d)
	pprof.StopCPUProfile()
}

// execTrace records an execution trace for seconds= (default 1).
func execTrace(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	d := duration(r, time.Second)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	if err := trace.Start(w); err != nil {
		http.Error(w, "cannot start a trace: "+err.Error(), http.StatusInternalServerError)
		return
	}
	wait(r, d)
	trace.Stop()
}

// duration reads seconds= (fractions allowed), def when absent or not
// positive.
func duration(r *http.Request, def time.Duration) time.Duration {
	s, err := strconv.ParseFloat(r.FormValue("seconds"), 64)
	if err != nil || s <= 0 {
		return def
	}
	return time.Duration(s * float64(time.Second))
}

// wait returns after d, or earlier when the client goes away.
func wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// symbol maps program counters to function names, as pprof's symbol
// protocol has it: a GET answers that symbols are available, a POST (or
// a query) holds addresses separated by '+', and each known one is
// answered on a line of its own with its function's name.
func symbol(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	in := io.Reader(strings.NewReader(r.URL.RawQuery))
	if r.Method == http.MethodPost {
		in = http.MaxBytesReader(w, r.Body, 1<<20)
	}
	var b bytes.Buffer
	b.WriteString("num_symbols: 1\n")
	sc := bufio.NewScanner(in)
	sc.Split(splitPlus)
	for sc.Scan() {
		pc, err := strconv.ParseUint(sc.Text(), 0, 64)
		if err != nil || pc == 0 {
			continue
		}
		if f := runtime.FuncForPC(uintptr(pc)); f != nil {
			fmt.Fprintf(&b, "%#x %s\n", pc, f.Name())
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(&b, "reading the request: %v\n", err)
	}
	_, _ = w.Write(b.Bytes())
}

// splitPlus is a bufio.SplitFunc for '+'-separated words.
func splitPlus(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, '+'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
