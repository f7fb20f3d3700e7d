// Package packettest loads the named raw MQTT-SN datagram fixtures kept in
// testdata/mqttsn, so codec, gateway and fuzz tests share one catalogue.
// The file format is described in testdata/mqttsn/README.md.
package packettest

import (
	"bytes"
	"fmt"

	"github.com/mqgate/mqgate/internal/hexfixture"
)

// Fixture is one raw datagram with the outcome the codec must produce.
type Fixture struct {
	Name        string // file name without .hex
	Description string
	Expect      string // "ok" or "malformed"
	Bytes       []byte
}

// Load reads every *.hex fixture in dir, sorted by name.
func Load(dir string) ([]Fixture, error) { return hexfixture.Load(dir, Parse) }

// Parse reads one fixture file.
func Parse(name string, data []byte) (Fixture, error) {
	f := Fixture{Name: name}
	desc, b, err := hexfixture.Parse(data, func(key, val string) (bool, error) {
		if key != "expect" {
			return false, nil
		}
		f.Expect = val
		return true, nil
	})
	f.Description = desc
	if err != nil {
		return f, err
	}
	if f.Expect != "ok" && f.Expect != "malformed" {
		return f, fmt.Errorf("expect %q is not ok or malformed", f.Expect)
	}
	f.Bytes = b
	return f, nil
}

// Format writes a fixture in the file format Parse reads, 16 bytes per
// line.
func Format(f Fixture) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# expect: %s\n", f.Description, f.Expect)
	hexfixture.WriteHex(&b, f.Bytes)
	if len(f.Bytes) == 0 {
		b.WriteByte('\n') // an empty datagram still has its (blank) body line
	}
	return b.Bytes()
}
