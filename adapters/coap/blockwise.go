package coap

import (
	"bytes"
	"hash/fnv"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/mqgate/mqgate/core"
)

const (
	codeContinue   = byte(codes.Continue)
	codeIncomplete = byte(codes.RequestEntityIncomplete)
)

// blockTimeout is how long a Block1 transfer may wait for its next block.
const blockTimeout = 30 * time.Second

// transfer is a publish arriving in Block1 blocks [RFC7959 2.5]. A client
// has at most one; a new first block replaces it.
type transfer struct {
	token []byte
	// match is the request's path and query: later blocks must carry the
	// same, not only the same token [RFC9175 3, checklist item 27].
	match   []byte
	szx     uint32
	next    int
	body    []byte
	touched time.Time
}

// blockOptionError refuses Block options the adapter does not take, before
// any side effect: SZX 7 (BERT, reliable transports only), Block1 on
// anything but a publish, and Block2 on anything but a plain read.
func blockOptionError(r *request, method byte) string {
	if r.block1 >= 0 && (method != methodPOST || r.block1&7 == 7) {
		return "Block1 is taken on publishes only, with SZX 0 to 6"
	}
	if r.block2 >= 0 && r.block2&7 == 7 {
		return "Block2 SZX 7 is reserved on UDP"
	}
	if r.block2 > 15 && (method != methodGET || r.observe >= 0) {
		return "Block2 beyond the first block is taken on retained reads only"
	}
	return ""
}

// blockSZX is the largest block size exponent whose block fits one
// datagram with room for the header and options.
func (g *Gateway) blockSZX() uint32 {
	szx := uint32(6)
	for szx > 0 && 16<<szx > g.cfg.MaxMessageSize-128 {
		szx--
	}
	return szx
}

func etagOf(m *core.Message) []byte {
	h := fnv.New32a()
	h.Write([]byte(m.Topic))
	h.Write(m.Payload)
	return h.Sum(nil)
}

// matchKey is what ties the blocks of one body together besides the
// token: the Uri-Path and Uri-Query options.
func matchKey(r *request, buf []byte) []byte {
	buf = buf[:0]
	for _, s := range r.path {
		buf = append(buf, s...)
		buf = append(buf, 0)
	}
	buf = append(buf, 1)
	for _, s := range r.query {
		buf = append(buf, s...)
		buf = append(buf, 0)
	}
	return buf
}

// publishBlock takes one Block1 block of a publish: 2.31 Continue until
// the last, which publishes the whole body. Blocks must come in order from
// NUM 0 with one size; anything else is 4.08 and ends the transfer. The
// body is bounded by MaxBodySize (4.13 with Size1), checked against Size1
// and against every block before it is kept.
func (c *client) publishBlock(r *request, q *params, now time.Time) reply {
	v := uint32(r.block1)
	num, more, szx := int(v>>4), v&8 != 0, v&7
	size := 16 << szx
	maxBody := c.g.cfg.MaxBodySize
	tooLarge := func() reply {
		c.xfer = nil
		rp := diag(codeTooLarge, "body larger than max_body_size")
		rp.opts = message.Options{{ID: message.Size1, Value: uintBytes(uint32(maxBody))}}
		return rp
	}
	if more && len(r.payload) != size {
		// [RFC7959 2.3] every block but the last has the size SZX says.
		c.xfer = nil
		return diag(codeBadRequest, "a Block1 block that is not the size its SZX says")
	}
	if r.size1 > int64(maxBody) || num*size+len(r.payload) > maxBody {
		return tooLarge()
	}
	x := c.xfer
	if num == 0 {
		x = &transfer{token: bytes.Clone(r.token), match: matchKey(r, nil), szx: szx}
		c.xfer = x
	} else {
		var scratch [256]byte
		if x == nil || !bytes.Equal(x.token, r.token) || !bytes.Equal(x.match, matchKey(r, scratch[:0])) ||
			x.szx != szx || x.next != num {
			// [RFC7959 2.5] a block out of order, of another size, or of no
			// transfer this client started.
			c.xfer = nil
			return diag(codeIncomplete, "Block1 blocks must come in order from NUM 0 with one size")
		}
	}
	x.body = append(x.body, r.payload...)
	x.next = num + 1
	x.touched = now
	opt := message.Options{{ID: message.Block1, Value: uintBytes(v)}}
	if more {
		return reply{code: codeContinue, opts: opt}
	}
	c.xfer = nil
	rp := c.publish(r, q, x.body)
	if rp.code == codeChanged {
		rp.opts = opt
	}
	return rp
}

// block answers the Block2 block r asks for (the first without a Block2
// option) of m's payload [RFC7959 2.4], with an ETag so the client sees
// when the representation changed between blocks, and Size2 on the first.
// With observe, it is a notification's first block and carries no Size2
// check against r.
func (g *Gateway) block(m *core.Message, r *request, observe bool) reply {
	szx := g.blockSZX()
	num := 0
	if !observe && r.block2 >= 0 {
		szx = min(szx, uint32(r.block2&7))
		num = int(r.block2 >> 4)
	}
	size := 16 << szx
	off := num * size
	if off >= len(m.Payload) && !(off == 0 && len(m.Payload) == 0) {
		return diag(codeBadOption, "Block2 number past the end of the message")
	}
	end := min(off+size, len(m.Payload))
	more := uint32(0)
	if end < len(m.Payload) {
		more = 8
	}
	rp := reply{code: codeContent, payload: m.Payload[off:end]}
	rp.opts = message.Options{{ID: message.ETag, Value: etagOf(m)}}
	if cf, ok := contentFormatOf(m); ok {
		rp.opts = append(rp.opts, message.Option{ID: message.ContentFormat, Value: uintBytes(cf)})
	}
	rp.opts = append(rp.opts, message.Option{ID: message.Block2, Value: uintBytes(uint32(num)<<4 | more | szx)})
	if num == 0 {
		rp.opts = append(rp.opts, message.Option{ID: message.Size2, Value: uintBytes(uint32(len(m.Payload)))})
	}
	return rp
}

// largeNotification returns the last notification too large for one
// datagram sent to an observation of r's path, for its later blocks.
func (c *client) largeNotification(r *request) *core.Message {
	filter, err := topicFromPath(r.path[1:], true)
	if err != nil {
		return nil
	}
	for _, o := range c.obs {
		if o.filter == filter && o.large != nil {
			return o.large
		}
	}
	return nil
}
