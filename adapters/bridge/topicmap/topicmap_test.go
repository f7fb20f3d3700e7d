package topicmap

import (
	"errors"
	"testing"
)

var vars = Vars{Node: "edge1", ClientID: "box-7"}

func TestApply(t *testing.T) {
	cases := []struct {
		name, filter, target, topic, want string
	}{
		{"identity when the target is empty", "site/#", "", "site/a/b", "site/a/b"},
		{"numbered plus", "site/+/temp", "cloud/${node}/$1/temp", "site/k1/temp", "cloud/edge1/k1/temp"},
		{"numbered plus and hash", "site/+/#", "c/$2/$1", "site/k1/x/y", "c/x/y/k1"},
		{"reference inside a level", "dev/+", "d/dev-$1-${clientid}", "dev/7", "d/dev-7-box-7"},
		{"positional plus", "site/+/temp", "cloud/${node}/+/temp", "site/k1/temp", "cloud/edge1/k1/temp"},
		{"positional hash", "site/#", "cloud/#", "site/a/b", "cloud/a/b"},
		{"topic equal to the prefix drops the hash level", "site/#", "cloud/#", "site", "cloud"},
		{"topic equal to the prefix with numbered hash", "site/#", "cloud/$1", "site", "cloud"},
		{"empty level after the prefix is kept", "site/#", "cloud/#", "site/", "cloud/"},
		{"hash at the root", "#", "up/#", "a/b", "up/a/b"},
		{"leading slash", "/a/+", "b/$1", "/a/x", "b/x"},
		{"leading slash captured by hash", "#", "up/#", "/x", "up//x"},
		{"empty levels captured", "a/+/c", "z/$1", "a//c", "z/"},
		{"fixed target", "a/+", "all", "a/x", "all"},
		{"literal dollar without digit", "a/+", "$x/$1", "a/q", "$x/q"},
		{"$SYS target on purpose", "a/#", "$SYS/edge/#", "a/b", "$SYS/edge/b"},
		{"$share below the first level is text", "a/+", "up/$share/$1", "a/x", "up/$share/x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Compile(c.filter, c.target, vars)
			if err != nil {
				t.Fatalf("Compile(%q, %q): %v", c.filter, c.target, err)
			}
			got, err := m.Apply(c.topic)
			if err != nil {
				t.Fatalf("Apply(%q): %v", c.topic, err)
			}
			if got != c.want {
				t.Fatalf("Apply(%q) = %q, want %q", c.topic, got, c.want)
			}
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	cases := []struct {
		name, filter, target, topic string
		noMatch                     bool
	}{
		{"topic outside the filter", "site/+", "c/$1", "other/x", true},
		{"hash at the root does not match $SYS", "#", "up/#", "$SYS/broker/uptime", true},
		{"plus at the root does not match $ topics", "+/x", "up/$1", "$aws/x", true},
		{"prefix alone maps to an empty topic", "site/#", "#", "site", false},
		{"empty capture as the whole topic", "+", "$1", "", true},
		{"capture that makes a $share topic", "a/+/#", "$1/$2", "a/$share/g/x", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Compile(c.filter, c.target, vars)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := m.Apply(c.topic)
			if err == nil {
				t.Fatalf("Apply(%q) = %q, want an error", c.topic, got)
			}
			if errors.Is(err, ErrNoMatch) != c.noMatch {
				t.Fatalf("Apply(%q): %v; no-match %v expected", c.topic, err, c.noMatch)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	cases := []struct{ name, filter, target string }{
		{"reference beyond the wildcards", "a/+", "b/$2"},
		{"reference zero", "a/+", "b/$0"},
		{"positional wildcards differ", "a/+/#", "b/#/+"},
		{"positional wildcard missing", "a/+/+", "b/+"},
		{"positional wildcard extra", "a/+", "b/+/+"},
		{"mixed forms", "a/+/+", "b/+/$2"},
		{"invalid filter", "a/#/b", ""},
		{"shared subscription", "$share/g/a", "b"},
		{"shared subscription as the target", "a/+", "$share/g/$1"},
		{"shared subscription as a positional target", "a/#", "$share/g/#"},
		{"unknown placeholder", "a/+", "${user}/$1"},
		{"unterminated placeholder", "a/${node", ""},
		{"target hash not last", "a/#", "#/b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Compile(c.filter, c.target, vars); err == nil {
				t.Fatalf("Compile(%q, %q) succeeded", c.filter, c.target)
			}
		})
	}
}

// TestBothWays proves a positional rule maps a topic out and back to itself.
func TestBothWays(t *testing.T) {
	out, err := Compile("site/+/temp/#", "cloud/${node}/+/t/#", vars)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Compile("cloud/${node}/+/t/#", "site/+/temp/#", vars)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"site/a/temp", "site/a/temp/x/y", "site//temp/"} {
		up, err := out.Apply(name)
		if err != nil {
			t.Fatal(err)
		}
		back, err := in.Apply(up)
		if err != nil {
			t.Fatal(err)
		}
		if back != name {
			t.Fatalf("%q -> %q -> %q", name, up, back)
		}
	}
}

func FuzzApply(f *testing.F) {
	f.Add("site/+/temp", "cloud/$1/temp", "site/a/temp")
	f.Add("site/#", "cloud/#", "site")
	f.Add("#", "up/#", "$SYS/x")
	f.Add("a/+/#", "$2/x/$1", "a/b/c/d")
	f.Fuzz(func(t *testing.T, filter, target, name string) {
		m, err := Compile(filter, target, vars)
		if err != nil {
			return
		}
		out, err := m.Apply(name)
		if err != nil {
			return
		}
		if out == "" {
			t.Fatalf("Apply(%q) under %q -> %q returned an empty topic", name, filter, target)
		}
		for i := 0; i < len(out); i++ {
			if out[i] == '+' || out[i] == '#' || out[i] == 0 {
				t.Fatalf("Apply(%q) = %q holds a wildcard or NUL", name, out)
			}
		}
	})
}
