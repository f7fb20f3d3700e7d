package auth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	"github.com/mqgate/mqgate/core"
)

// ACL authorizes publish and subscribe requests against an ordered list of
// rules read from a file (format in doc.go). The first matching rule wins;
// when none matches, the ACL answers its default verdict. It is safe for
// concurrent use; Reload swaps the rule list atomically.
type ACL struct {
	path  string
	def   core.Verdict
	rules atomic.Pointer[[]aclRule]
}

var _ core.Authorizer = (*ACL)(nil)

type whoKind byte

const (
	whoAll whoKind = iota
	whoUser
	whoClient
	whoIP
)

type aclRule struct {
	verdict core.Verdict // Allow or Deny
	who     whoKind
	name    string       // user name or client id for whoUser, whoClient
	prefix  netip.Prefix // for whoIP
	actions core.Action  // ActionPublish, ActionSubscribe or both
	pattern string       // topic filter, may hold %u and %c
	hasUser bool         // pattern holds %u
	hasCli  bool         // pattern holds %c
}

// LoadACL reads the ACL file at path. defaultVerdict is answered when no rule
// matches: core.Allow, core.Deny or core.Ignore (to let a chain continue).
// Errors name the file and line.
func LoadACL(path string, defaultVerdict core.Verdict) (*ACL, error) {
	switch defaultVerdict {
	case core.Allow, core.Deny, core.Ignore:
	default:
		return nil, fmt.Errorf("acl %s: invalid default verdict %d", path, defaultVerdict)
	}
	a := &ACL{path: path, def: defaultVerdict}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload re-reads the file. On error the previous rules stay in force.
func (a *ACL) Reload() error {
	data, err := os.ReadFile(a.path)
	if err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	rules, err := parseACL(a.path, data)
	if err != nil {
		return err
	}
	a.rules.Store(&rules)
	return nil
}

// Len reports how many rules the ACL holds.
func (a *ACL) Len() int { return len(*a.rules.Load()) }

// Authorize returns the verdict of the first rule that matches the client,
// the action and the topic, or the ACL's default verdict. For
// core.ActionSubscribe, topic is the requested filter; a "$share/{group}/"
// or "$queue/" prefix is stripped first, and a rule matches only if its
// pattern covers every topic the filter can match. For core.ActionPublish,
// topic must match the rule's pattern. A request for both actions needs one
// rule that matches both ways.
func (a *ACL) Authorize(_ context.Context, c *core.ClientInfo, act core.Action, topic string) (core.Verdict, error) {
	if act == 0 || act&^(core.ActionPublish|core.ActionSubscribe) != 0 {
		return core.Deny, fmt.Errorf("acl: invalid action %d", act)
	}
	filter := topic
	if act&core.ActionSubscribe != 0 {
		f, ok := stripShared(topic)
		if !ok || !validFilter(f) {
			return core.Deny, nil
		}
		filter = f
	}
	if act&core.ActionPublish != 0 && !validTopic(topic) {
		return core.Deny, nil
	}
	for _, r := range *a.rules.Load() {
		if r.actions&act != act || !r.matchesClient(c) {
			continue
		}
		pattern, ok := r.expand(c)
		if !ok {
			continue
		}
		if act&core.ActionPublish != 0 && !matchTopic(pattern, topic) {
			continue
		}
		if act&core.ActionSubscribe != 0 && !coversFilter(pattern, filter) {
			continue
		}
		return r.verdict, nil
	}
	return a.def, nil
}

// stripShared removes a shared-subscription prefix so the ACL judges the
// filter the client will actually receive messages for. ok is false for a
// malformed shared subscription.
func stripShared(filter string) (string, bool) {
	if rest, found := strings.CutPrefix(filter, "$share/"); found {
		// [MQTT-4.8.2-1] the share name is at least one character without
		// '/', '+' or '#' and is followed by '/' and a filter.
		group, f, found := strings.Cut(rest, "/")
		if !found || group == "" || strings.ContainsAny(group, "+#") || f == "" {
			return "", false
		}
		return f, true
	}
	if f, found := strings.CutPrefix(filter, "$queue/"); found {
		return f, f != ""
	}
	return filter, true
}

func (r *aclRule) matchesClient(c *core.ClientInfo) bool {
	switch r.who {
	case whoUser:
		return c.Username == r.name
	case whoClient:
		return c.ClientID == r.name
	case whoIP:
		return c.PeerAddr.IsValid() && r.prefix.Contains(c.PeerAddr.Addr().Unmap())
	}
	return true
}

// expand substitutes %u and %c. A username or client id that is empty or
// holds '+', '#' or '/' would change the pattern's structure (and let a
// client named "#" read everything, CVE-2017-7650), so such a client never
// matches a rule that uses the placeholder.
func (r *aclRule) expand(c *core.ClientInfo) (string, bool) {
	p := r.pattern
	if r.hasUser {
		if !safePlaceholder(c.Username) {
			return "", false
		}
		p = strings.ReplaceAll(p, "%u", c.Username)
	}
	if r.hasCli {
		if !safePlaceholder(c.ClientID) {
			return "", false
		}
		p = strings.ReplaceAll(p, "%c", c.ClientID)
	}
	return p, true
}

func safePlaceholder(s string) bool {
	return s != "" && !strings.ContainsAny(s, "+#/\x00")
}

func parseACL(path string, data []byte) ([]aclRule, error) {
	var rules []aclRule
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}

// parseRule parses "allow|deny <who> publish|subscribe|all <pattern>". The
// pattern is the rest of the line, so it may contain blanks.
func parseRule(line string) (aclRule, error) {
	var r aclRule
	const want = "want: allow|deny <who> publish|subscribe|all <topic filter>"
	var fields [3]string
	rest := line
	for i := range fields {
		rest = strings.TrimLeft(rest, " \t")
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			return r, errors.New(want)
		}
		fields[i], rest = rest[:end], rest[end:]
	}
	pattern := strings.TrimSpace(rest)
	if pattern == "" {
		return r, errors.New(want)
	}

	switch fields[0] {
	case "allow":
		r.verdict = core.Allow
	case "deny":
		r.verdict = core.Deny
	default:
		return r, fmt.Errorf("verdict %q: want allow or deny", fields[0])
	}

	who := fields[1]
	kind, val, _ := strings.Cut(who, ":")
	switch {
	case who == "all":
		r.who = whoAll
	case kind == "user" && val != "":
		r.who, r.name = whoUser, val
	case kind == "client" && val != "":
		r.who, r.name = whoClient, val
	case kind == "ip" && val != "":
		r.who = whoIP
		pfx, err := parseIPSelector(val)
		if err != nil {
			return r, err
		}
		r.prefix = pfx
	default:
		return r, fmt.Errorf("selector %q: want all, user:<name>, client:<id> or ip:<addr or CIDR>", who)
	}

	switch fields[2] {
	case "publish":
		r.actions = core.ActionPublish
	case "subscribe":
		r.actions = core.ActionSubscribe
	case "all":
		r.actions = core.ActionPublish | core.ActionSubscribe
	default:
		return r, fmt.Errorf("action %q: want publish, subscribe or all", fields[2])
	}

	if !validFilter(pattern) {
		return r, fmt.Errorf("topic filter %q is not a valid MQTT topic filter", pattern)
	}
	r.pattern = pattern
	r.hasUser = strings.Contains(pattern, "%u")
	r.hasCli = strings.Contains(pattern, "%c")
	return r, nil
}

func parseIPSelector(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("ip selector: %w", err)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("ip selector %q: IPv4-mapped prefix shorter than /96", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ip selector: %w", err)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
