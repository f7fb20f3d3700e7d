package mqttsn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/mqgate/mqgate/adapters/mqttsn/packet"
)

// advertiseTargets returns where ADVERTISE goes now: the IPv4 broadcast
// address of every network on Config.AdvertiseInterface, on the port of
// AdvertiseAddress, or AdvertiseAddress itself. An interface's addresses
// are read again each time, as DHCP may change them.
func (g *Gateway) advertiseTargets() ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(g.cfg.AdvertiseAddress)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portStr, err)
	}
	if g.cfg.AdvertiseInterface == "" {
		ip, err := net.ResolveIPAddr("ip", host)
		if err != nil {
			return nil, err
		}
		a, ok := netip.AddrFromSlice(ip.IP)
		if !ok {
			return nil, fmt.Errorf("address %q", host)
		}
		return []netip.AddrPort{netip.AddrPortFrom(a.Unmap(), uint16(port))}, nil
	}
	ifc, err := net.InterfaceByName(g.cfg.AdvertiseInterface)
	if err != nil {
		return nil, err
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil, err
	}
	var out []netip.AddrPort
	for _, b := range broadcastAddrs(addrs) {
		out = append(out, netip.AddrPortFrom(b, uint16(port)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("interface %s has no IPv4 network with a broadcast address", ifc.Name)
	}
	return out, nil
}

// broadcastAddrs returns the directed broadcast address of each IPv4
// network among addrs. /31 and /32 networks have none [RFC 3021].
func broadcastAddrs(addrs []net.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip4 := ipn.IP.To4()
		mask := ipn.Mask
		if len(mask) == net.IPv6len && ip4 != nil {
			mask = mask[12:]
		}
		if ip4 == nil || len(mask) != net.IPv4len {
			continue
		}
		if ones, _ := mask.Size(); ones >= 31 {
			continue
		}
		var b [4]byte
		for i := range b {
			b[i] = ip4[i] | ^mask[i]
		}
		out = append(out, netip.AddrFrom4(b))
	}
	return out
}

// startAdvertise broadcasts ADVERTISE every AdvertiseInterval through the
// first udp listener [MQTT-SN 6.1].
func (g *Gateway) startAdvertise() error {
	if _, err := g.advertiseTargets(); err != nil {
		return fmt.Errorf("mqttsn advertise: %w", err)
	}
	var sock *net.UDPConn
	g.mu.Lock()
	for _, l := range g.listeners {
		if l.udp != nil {
			sock = l.udp
			break
		}
	}
	g.mu.Unlock()
	if sock == nil {
		return errors.New("mqttsn advertise needs a udp listener")
	}
	if err := setBroadcast(sock); err != nil {
		g.log.Warn("mqtt-sn: cannot enable broadcast", "err", err)
	}
	secs := g.cfg.AdvertiseInterval / time.Second
	if secs > 0xFFFF {
		secs = 0xFFFF
	}
	msg, _ := packet.Append(nil, &packet.Packet{Type: packet.ADVERTISE, GatewayID: g.cfg.GatewayID, Duration: uint16(secs)})
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		t := time.NewTicker(g.cfg.AdvertiseInterval)
		defer t.Stop()
		for {
			// [MQTT-SN 6.1] the first ADVERTISE goes out at start.
			targets, err := g.advertiseTargets()
			if err != nil {
				g.log.Warn("mqtt-sn advertise: no target", "err", err)
			}
			for _, to := range targets {
				if _, err := sock.WriteToUDPAddrPort(msg, to); err != nil {
					g.log.Debug("mqtt-sn advertise failed", "to", to.String(), "err", err)
				}
			}
			select {
			case <-g.stop:
				return
			case <-t.C:
			}
		}
	}()
	return nil
}
