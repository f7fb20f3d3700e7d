// Package packettest loads the named raw MQTT packet fixtures kept in
// testdata/mqtt, so decoder, encoder, server and fuzz tests share one
// catalogue. The file format is described in testdata/mqtt/README.md.
package packettest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/mqgate/mqgate/internal/hexfixture"
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
func Load(dir string) ([]Fixture, error) { return hexfixture.Load(dir, Parse) }

// Parse parses one fixture file.
func Parse(name string, b []byte) (Fixture, error) {
	f := Fixture{Name: name}
	desc, raw, err := hexfixture.Parse(b, func(key, val string) (bool, error) {
		switch key {
		case "version":
			n, err := strconv.Atoi(val)
			if err != nil {
				return true, fmt.Errorf("bad version %q", val)
			}
			f.Version = byte(n)
		case "maxsize":
			n, err := strconv.Atoi(val)
			if err != nil {
				return true, fmt.Errorf("bad maxsize %q", val)
			}
			f.MaxSize = n
		case "expect":
			f.Expect = val
		default:
			return false, nil
		}
		return true, nil
	})
	f.Description = desc
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
	hexfixture.WriteHex(&b, f.Bytes)
	return b.Bytes()
}
