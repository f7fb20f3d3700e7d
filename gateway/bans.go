package gateway

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core"
)

// parseBanFile reads a ban file: one ban a line, `kind value [until
// [reason...]]`, kind clientid, username or peerhost, until an RFC 3339
// time or "-" for never; blank lines and lines starting with # are
// skipped.
func parseBanFile(path string) ([]core.Ban, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []core.Ban
	seen := map[[2]string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: want `kind value [until [reason]]`", path, n)
		}
		b := core.Ban{Kind: core.BanKind(fields[0]), Value: fields[1], Transient: true}
		switch b.Kind {
		case core.BanClientID, core.BanUsername, core.BanPeerHost:
		default:
			return nil, fmt.Errorf("%s:%d: kind %q is not clientid, username or peerhost", path, n, fields[0])
		}
		if len(fields) > 2 && fields[2] != "-" {
			if b.Until, err = time.Parse(time.RFC3339, fields[2]); err != nil {
				return nil, fmt.Errorf("%s:%d: until %q is not an RFC 3339 time or -", path, n, fields[2])
			}
		}
		if len(fields) > 3 {
			b.Reason = strings.Join(fields[3:], " ")
		}
		k := [2]string{string(b.Kind), b.Value}
		if prev, dup := seen[k]; dup {
			return nil, fmt.Errorf("%s:%d: %s %s is banned already on line %d", path, n, b.Kind, b.Value, prev)
		}
		seen[k] = n
		out = append(out, b)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// loadBanFile applies auth.ban_file: its bans are added (closing the
// connections they match), and bans an earlier version of the file had
// and this one has not are lifted. A file with errors changes nothing.
// File bans are not written to the store: the file is read at every
// start.
func (g *Gateway) loadBanFile() error {
	path := g.cfg.Auth.BanFile
	if path == "" {
		return nil
	}
	bans, err := parseBanFile(path)
	if err != nil {
		return fmt.Errorf("auth.ban_file: %w", err)
	}
	now := make(map[[2]string]bool, len(bans))
	kicked := 0
	for _, b := range bans {
		n, err := g.Broker.AddBan(b)
		if err != nil {
			return fmt.Errorf("auth.ban_file: %s %s: %w", b.Kind, b.Value, err)
		}
		kicked += n
		now[[2]string{string(b.Kind), b.Value}] = true
	}
	lifted := 0
	for k := range g.fileBans {
		if !now[k] {
			if _, err := g.Broker.RemoveBan(core.BanKind(k[0]), k[1]); err != nil {
				return fmt.Errorf("auth.ban_file: lift %s %s: %w", k[0], k[1], err)
			}
			lifted++
		}
	}
	g.fileBans = now
	g.log.Info("ban file loaded", "file", path, "bans", len(bans), "lifted", lifted, "connections_closed", kicked)
	return nil
}
