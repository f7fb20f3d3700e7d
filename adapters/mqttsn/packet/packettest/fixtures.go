// Package packettest loads the named raw MQTT-SN datagram fixtures kept in
// testdata/mqttsn, so codec, gateway and fuzz tests share one catalogue.
// The file format is described in testdata/mqttsn/README.md.
package packettest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Fixture is one raw datagram with the outcome the codec must produce.
type Fixture struct {
	Name        string // file name without .hex
	Description string
	Expect      string // "ok" or "malformed"
	Bytes       []byte
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

// Parse reads one fixture file.
func Parse(name string, data []byte) (Fixture, error) {
	f := Fixture{Name: name}
	var hx strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if c, ok := strings.CutPrefix(line, "#"); ok {
			c = strings.TrimSpace(c)
			if v, ok := strings.CutPrefix(c, "expect:"); ok {
				f.Expect = strings.TrimSpace(v)
			} else if f.Description == "" {
				f.Description = c
			}
			continue
		}
		hx.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(hx.String())
	if err != nil {
		return f, err
	}
	if f.Expect != "ok" && f.Expect != "malformed" {
		return f, fmt.Errorf("expect %q is not ok or malformed", f.Expect)
	}
	f.Bytes = b
	return f, nil
}

// Format writes a fixture in the file format Parse reads.
func Format(f Fixture) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# expect: %s\n", f.Description, f.Expect)
	for i, c := range f.Bytes {
		if i > 0 {
			if i%16 == 0 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		fmt.Fprintf(&b, "%02x", c)
	}
	b.WriteByte('\n')
	return b.Bytes()
}
