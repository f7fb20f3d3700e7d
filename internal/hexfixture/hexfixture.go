package hexfixture

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

// Load reads every *.hex file in dir, sorted by name, and hands each to
// parse with its name without the .hex suffix.
func Load[F any](dir string, parse func(name string, data []byte) (F, error)) ([]F, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.hex"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]F, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parse(strings.TrimSuffix(filepath.Base(name), ".hex"), b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Parse reads one fixture file. It calls header, in file order, for every
// comment of the form "# key: value"; header reports whether the key is
// one it knows, and an error from it ends the parse. The first comment
// that is not a known header is the description.
func Parse(data []byte, header func(key, value string) (bool, error)) (description string, body []byte, err error) {
	var hexText strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			rest = strings.TrimSpace(rest)
			known := false
			if key, val, found := strings.Cut(rest, ":"); found {
				if known, err = header(key, strings.TrimSpace(val)); err != nil {
					return description, nil, err
				}
			}
			if !known && description == "" {
				description = rest
			}
			continue
		}
		hexText.WriteString(strings.Join(strings.Fields(line), ""))
	}
	if err := sc.Err(); err != nil {
		return description, nil, err
	}
	body, err = hex.DecodeString(hexText.String())
	return description, body, err
}

// WriteHex writes b as the body Parse reads: lowercase hex, 16 bytes per
// line, each line ended by a newline.
func WriteHex(w *bytes.Buffer, b []byte) {
	for i := 0; i < len(b); i += 16 {
		line := b[i:min(i+16, len(b))]
		for j, c := range line {
			if j > 0 {
				w.WriteByte(' ')
			}
			fmt.Fprintf(w, "%02x", c)
		}
		w.WriteByte('\n')
	}
}
