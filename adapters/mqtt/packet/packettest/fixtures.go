// Package packettest loads the named raw MQTT packet fixtures kept in
// testdata/mqtt, so decoder, encoder, server and fuzz tests share one
// catalogue. The file format is described in testdata/mqtt/README.md.
package packettest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Fixture is one raw packet with the outcome the codec must produce.
type Fixture struct {
	Name        string // file name without .hex
	Description string
	Version     byte // negotiated protocol level to decode with: 3, 4 or 5
	MaxSize     int  // maximum packet size for ReadHeader; 0 means none
	// Expect is "ok", "incomplete" (ReadHeader wants more bytes) or the
	// reason code of the expected error, e.g. "0x81".
	Expect string
	Bytes  []byte
}

// OK reports whether the fixture must decode without error.
func (f *Fixture) OK() bool { return f.Expect == "ok" }

// Code returns the expected reason code and true when the fixture expects
// an error with a reason code.
func (f *Fixture) Code() (byte, bool) {
	if !strings.HasPrefix(f.Expect, "0x") {
		return 0, false
	}
	n, err := strconv.ParseUint(f.Expect[2:], 16, 8)
	return byte(n), err == nil
}

// Load reads every *.hex fixture in dir, sorted by name.
func Load(dir string) ([]Fixture, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.hex"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Fixture, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := Parse(strings.TrimSuffix(filepath.Base(name), ".hex"), b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Parse parses one fixture file.
func Parse(name string, b []byte) (Fixture, error) {
	f := Fixture{Name: name}
	var hexText strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			key, val, found := strings.Cut(strings.TrimSpace(rest), ":")
			val = strings.TrimSpace(val)
			switch {
			case found && key == "version":
				n, err := strconv.Atoi(val)
				if err != nil {
					return f, fmt.Errorf("bad version %q", val)
				}
				f.Version = byte(n)
			case found && key == "maxsize":
				n, err := strconv.Atoi(val)
				if err != nil {
					return f, fmt.Errorf("bad maxsize %q", val)
				}
				f.MaxSize = n
			case found && key == "expect":
				f.Expect = val
			case f.Description == "":
				f.Description = strings.TrimSpace(rest)
			}
			continue
		}
		hexText.WriteString(strings.Join(strings.Fields(line), ""))
	}
	if err := sc.Err(); err != nil {
		return f, err
	}
	raw, err := hex.DecodeString(hexText.String())
	if err != nil {
		return f, err
	}
	f.Bytes = raw
	if f.Version == 0 || f.Expect == "" {
		return f, fmt.Errorf("missing version or expect line")
	}
	return f, nil
}

// Format renders f in the file format Parse reads, 16 bytes per line.
func Format(f Fixture) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# version: %d\n", f.Description, f.Version)
	if f.MaxSize > 0 {
		fmt.Fprintf(&b, "# maxsize: %d\n", f.MaxSize)
	}
	fmt.Fprintf(&b, "# expect: %s\n", f.Expect)
	for i := 0; i < len(f.Bytes); i += 16 {
		line := f.Bytes[i:min(i+16, len(f.Bytes))]
		for j, c := range line {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%02x", c)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
