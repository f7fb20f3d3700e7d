package mqttsn

import (
	"net"
)

// defaultSocketBuffer is each listener's receive and send buffer unless
// Listener.SocketBuffer says otherwise: the OS default (about 200 KiB on
// Linux) overflows under a burst of small datagrams from many devices.
const defaultSocketBuffer = 4 << 20

func (lc *Listener) socketBuffer() int {
	if lc.SocketBuffer > 0 {
		return lc.SocketBuffer
	}
	return defaultSocketBuffer
}

// setSocketBuffers sizes the receive and send buffers of a udp listener's
// socket and warns when the kernel grants less (net.core.rmem_max and
// wmem_max cap it on Linux).
func (g *Gateway) setSocketBuffers(lc *Listener, c *net.UDPConn) {
	size := lc.socketBuffer()
	if err := c.SetReadBuffer(size); err != nil {
		g.log.Warn("mqtt-sn: cannot set the receive buffer", "listener", lc.Name, "size", size, "err", err)
	}
	if err := c.SetWriteBuffer(size); err != nil {
		g.log.Warn("mqtt-sn: cannot set the send buffer", "listener", lc.Name, "size", size, "err", err)
	}
	g.checkSocketBuffers(lc, c)
}

// checkSocketBuffers logs the buffer sizes c got when they are below the
// listener's socket_buffer.
func (g *Gateway) checkSocketBuffers(lc *Listener, c *net.UDPConn) {
	size := lc.socketBuffer()
	rcv, snd, err := socketBuffers(c)
	if err != nil {
		return // not readable on this platform
	}
	if rcv < size || snd < size {
		g.log.Warn("mqtt-sn: the kernel granted smaller socket buffers than socket_buffer; raise net.core.rmem_max and net.core.wmem_max",
			"listener", lc.Name, "socket_buffer", size, "receive", rcv, "send", snd)
	}
}

// probeSocketBuffers reports what the kernel grants a UDP socket asked for
// lc's socket_buffer: a DTLS listener's socket is pion's and cannot be
// inspected, but it is sized the same way under the same limits.
func (g *Gateway) probeSocketBuffers(lc *Listener) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return
	}
	defer c.Close()
	size := lc.socketBuffer()
	c.SetReadBuffer(size)
	c.SetWriteBuffer(size)
	g.checkSocketBuffers(lc, c)
}
