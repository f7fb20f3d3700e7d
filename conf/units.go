package conf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "10s", "1m30s" or "2h".
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings; "0" is zero.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return &valueError{fmt.Sprintf("%q is not a duration (e.g. 500ms, 10s, 1m30s, 2h)", n.Value)}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count written as a number or with a unit: 512, 64KB,
// 1MiB. The units are binary: KB and KiB both mean 1024, because that is
// what people mean when they size a buffer.
type Size int64

// UnmarshalYAML accepts plain numbers and B, KB, KiB, MB, MiB, GB, GiB.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return &valueError{err.Error()}
	}
	*s = Size(v)
	return nil
}

// sizeUnits are tried in order, so that "KiB" is not read as "Ki" + "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}

// ParseSize parses a byte count with an optional unit: B, KB, KiB, MB, MiB,
// GB or GiB, with or without a space before it.
func ParseSize(str string) (int64, error) {
	t := strings.TrimSpace(str)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || t[0] == '+' {
		return 0, fmt.Errorf("%q is not a size (a whole number of bytes, or one with a unit B, KB, KiB, MB, MiB, GB or GiB, e.g. 65536, 64KB, 1MiB)", str)
	}
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", str)
	}
	return v * mult, nil
}
