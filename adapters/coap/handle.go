package coap

import (
	"context"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/topic"
)

// Response codes the adapter sends [RFC7252 12.1.2].
const (
	codeCreated             = byte(codes.Created)
	codeDeleted             = byte(codes.Deleted)
	codeChanged             = byte(codes.Changed)
	codeContent             = byte(codes.Content)
	codeBadRequest          = byte(codes.BadRequest)
	codeUnauthorized        = byte(codes.Unauthorized)
	codeBadOption           = byte(codes.BadOption)
	codeForbidden           = byte(codes.Forbidden)
	codeNotFound            = byte(codes.NotFound)
	codeMethodNotAllowed    = byte(codes.MethodNotAllowed)
	codeNotAcceptable       = byte(codes.NotAcceptable)
	codeTooLarge            = byte(codes.RequestEntityTooLarge)
	codeTooManyRequests     = byte(codes.TooManyRequests)
	codeInternal            = byte(codes.InternalServerError)
	codeServiceUnavailable  = byte(codes.ServiceUnavailable)
	codeProxyingUnsupported = byte(codes.ProxyingNotSupported)
)

// Request methods [RFC7252 12.1.1].
const (
	methodGET    = byte(codes.GET)
	methodPOST   = byte(codes.POST)
	methodPUT    = byte(codes.PUT)
	methodDELETE = byte(codes.DELETE)
)

// encode builds a message with go-coap's coder into buf's storage.
func (g *Gateway) encode(buf []byte, typ, code byte, mid uint16, token []byte, opts message.Options, payload []byte) ([]byte, error) {
	// Options go out in ascending number: the encoding is by deltas.
	slices.SortStableFunc(opts, func(a, b message.Option) int { return int(a.ID) - int(b.ID) })
	m := message.Message{Token: token, Options: opts, Code: codes.Code(code), Payload: payload,
		MessageID: int32(mid), Type: message.Type(typ)}
	n, err := coder.DefaultCoder.Size(m)
	if err != nil {
		return buf, err
	}
	buf = slices.Grow(buf[:0], n)[:n]
	if _, err := coder.DefaultCoder.Encode(m, buf); err != nil {
		return buf, err
	}
	return buf, nil
}

// reply is a response being built for one request.
type reply struct {
	code    byte
	opts    message.Options
	payload []byte
}

func diag(code byte, text string) reply { return reply{code: code, payload: []byte(text)} }

// rst answers a confirmable message the adapter cannot process [RFC7252
// 4.2]; ACKs and RSTs are never answered, so two endpoints never reject
// each other's rejections.
func (g *Gateway) rst(p peer, typ byte, mid uint16) {
	if typ != typeCON {
		return
	}
	b := []byte{0x70, 0, byte(mid >> 8), byte(mid)}
	p.write(b)
}

// datagram handles one datagram from p; r is the reader's scratch.
func (g *Gateway) datagram(p peer, b []byte, r *request) {
	p.l.bytes.Received(len(b))
	now := time.Now()
	if len(b) > g.cfg.MaxMessageSize {
		g.stats.TooLarge.Add(1)
		// [RFC7252 5.9.2.9] 4.13 with Size1, never a truncated body.
		if len(b) >= 4 && b[0]>>6 == 1 && b[0]>>4&3 == typeCON && int(b[0]&0xf) <= 8 && len(b) >= 4+int(b[0]&0xf) {
			tok := b[4 : 4+int(b[0]&0xf)]
			rp := diag(codeTooLarge, "request larger than max_message_size")
			rp.opts = message.Options{{ID: message.Size1, Value: uintBytes(uint32(g.cfg.MaxMessageSize))}}
			g.send(p, nil, typeCON, uint16(b[2])<<8|uint16(b[3]), tok, rp, now)
		}
		return
	}
	err := parse(b, r, g.cfg.MaxOptions)
	switch {
	case errors.Is(err, errShort), errors.Is(err, errVersion):
		g.stats.Malformed.Add(1)
		return
	case errors.Is(err, errTooMany):
		g.stats.Malformed.Add(1)
		if r.typ == typeCON && r.code>>5 == 0 {
			g.send(p, nil, r.typ, r.mid, r.token, diag(codeBadRequest, "too many options"), now)
		}
		return
	case err != nil:
		g.stats.Malformed.Add(1)
		g.rst(p, r.typ, r.mid)
		return
	}
	if r.code == 0 {
		g.empty(p, r, now)
		return
	}
	if r.typ == typeACK && r.code>>5 == 0 && r.block2 > 15 && r.observe < 0 {
		// go-coap's client (v3.8.1) asks for the next block of a CON
		// notification inside its ACK. The ACK settles the notification;
		// the request is answered as a non-confirmable one.
		g.empty(p, &request{typ: typeACK, mid: r.mid}, now)
		r.typ = typeNON
		g.handleRequest(p, r, now)
		return
	}
	if r.typ == typeACK || r.typ == typeRST {
		// A response to a request the gateway never sends: ignored.
		g.stats.Malformed.Add(1)
		return
	}
	if r.code>>5 != 0 {
		// A response, or a reserved class, where a request belongs.
		g.stats.Malformed.Add(1)
		g.rst(p, r.typ, r.mid)
		return
	}
	g.handleRequest(p, r, now)
}

// empty handles an Empty message: a CoAP ping (CON) gets RST and counts
// as a heartbeat; an ACK or RST settles a CON notification.
func (g *Gateway) empty(p peer, r *request, now time.Time) {
	g.mu.Lock()
	c := g.byAddr[p.key()]
	g.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		if !c.gone {
			c.lastSeen = now
			switch r.typ {
			case typeACK:
				c.ack(r.mid, false)
			case typeRST:
				c.ack(r.mid, true)
			}
		}
		c.mu.Unlock()
	}
	if r.typ == typeCON {
		// [RFC7252 4.3] a ping is answered by RST.
		g.rst(p, r.typ, r.mid)
	}
}

// send writes a response: piggybacked in an ACK to a CON request, a NON
// to a NON one. With c, a CON response is remembered for duplicates.
func (g *Gateway) send(p peer, c *client, typ byte, mid uint16, token []byte, rp reply, now time.Time) {
	rtyp, rmid := byte(typeACK), mid
	if typ == typeNON {
		rtyp = typeNON
		if c != nil {
			rmid = c.mid()
		} else {
			rmid = uint16(now.UnixNano())
		}
	}
	var scratch []byte
	if c != nil {
		scratch = c.buf
	}
	b, err := g.encode(scratch, rtyp, rp.code, rmid, token, rp.opts, rp.payload)
	if err != nil {
		g.log.Error("coap encode failed", "err", err)
		return
	}
	if len(b) > g.cfg.MaxMessageSize {
		b, _ = g.encode(b, rtyp, codeInternal, rmid, token, nil, []byte("response larger than max_message_size; block-wise transfer is not supported"))
	}
	p.write(b)
	if c != nil {
		c.buf = b
		if typ == typeCON {
			c.remember(mid, b, now)
		}
	}
}

// handleRequest runs one request: option checks before any side effect,
// the duplicate cache, the client's session and rate limit, then the
// resource.
func (g *Gateway) handleRequest(p peer, r *request, now time.Time) {
	if r.badCritical != 0 {
		g.stats.BadOption.Add(1)
		if r.typ == typeCON {
			// [RFC7252 5.4.1] a NON request with one is rejected silently.
			g.send(p, nil, r.typ, r.mid, r.token, diag(codeBadOption, "unrecognized critical option "+itoa(int(r.badCritical))), now)
		}
		return
	}
	if r.proxy {
		g.stats.BadOption.Add(1)
		g.send(p, nil, r.typ, r.mid, r.token, diag(codeProxyingUnsupported, "not a proxy"), now)
		return
	}
	g.mu.Lock()
	bound := g.byAddr[p.key()]
	g.mu.Unlock()
	if bound != nil && r.typ == typeCON {
		bound.mu.Lock()
		resp, dup := bound.duplicate(r.mid, r.token, now)
		if dup {
			bound.lastSeen = now
			p.write(resp)
		}
		bound.mu.Unlock()
		if dup {
			g.stats.Duplicates.Add(1)
			return
		}
	}
	q, err := parseQuery(r.query)
	if err != nil {
		g.stats.Malformed.Add(1)
		g.send(p, nil, r.typ, r.mid, r.token, diag(codeBadRequest, err.Error()), now)
		return
	}
	method, why := resourceMethod(r)
	switch {
	case method == 0:
		g.send(p, nil, r.typ, r.mid, r.token, diag(codeNotFound, why), now)
		return
	case method == methodNone:
		g.send(p, nil, r.typ, r.mid, r.token, diag(codeMethodNotAllowed, why), now)
		return
	}
	if bad := blockOptionError(r, method); bad != "" {
		g.stats.BadOption.Add(1)
		g.send(p, nil, r.typ, r.mid, r.token, diag(codeBadOption, bad), now)
		return
	}
	var c *client
	var code byte
	if method == opConnect {
		c, code, why = g.connect(p, &q)
	} else {
		c, code, why = g.resolve(p, &q)
	}
	if c == nil {
		g.send(p, nil, r.typ, r.mid, r.token, diag(code, why), now)
		return
	}
	defer c.mu.Unlock()
	c.lastSeen = now
	if !c.allow(now) {
		g.stats.Limited.Add(1)
		g.send(p, c, r.typ, r.mid, r.token, diag(codeTooManyRequests, "request rate limit"), now)
		return
	}
	var rp reply
	switch {
	case method == opConnect:
		rp = reply{code: codeCreated, payload: []byte(c.token)}
	case method == opHeartbeat:
		rp = reply{code: codeChanged}
	case method == opClose:
		g.endLocked(c, core.DisconnectNormal, "client closed its connection")
		rp = reply{code: codeDeleted}
	case method == methodPOST && r.block1 >= 0:
		rp = c.publishBlock(r, &q, now)
	case method == methodPOST:
		rp = c.publish(r, &q, r.payload)
	case method == methodDELETE:
		rp = c.deleteRetained(r)
	case r.observe == 0 && !c.reachable(r, now):
		rp = diag(codeUnauthorized, "repeat the registration with the Echo option")
		rp.opts = message.Options{{ID: message.Echo, Value: g.echoFor(p.addr, now)}}
	case r.observe == 0:
		rp = c.observe(r, &q)
	case r.observe == 1:
		rp = c.unobserve(r)
	default:
		rp = c.read(r)
	}
	g.send(p, c, r.typ, r.mid, r.token, rp, now)
	if rp.code == codeContent && r.observe == 0 && len(rp.opts) > 0 {
		// Retained messages follow the registration's response.
		c.sendRetainedFor(obsKey(r.token))
	}
}

// methodNone marks a known resource asked with a method it does not take;
// the op codes are the connection mode's requests on /mqtt/connection.
const (
	methodNone  = 0xff
	opConnect   = 0xf0 // POST: authenticate, open the session, answer a token
	opHeartbeat = 0xf1 // PUT: the client is alive
	opClose     = 0xf2 // DELETE: end the session
)

// resourceMethod maps a request to what it does on /ps, the scheme of
// EMQX's CoAP gateway: GET, POST publish, DELETE. The legacy scheme of
// older EMQX releases, /mqtt/{topic}, publishes with PUT and reads or
// observes with GET; /mqtt/connection is connection mode's. It returns 0 for an unknown resource, methodNone for a
// method the resource does not take, with a diagnostic.
func resourceMethod(r *request) (byte, string) {
	if len(r.path) == 0 {
		return 0, "unknown resource; topics are under /ps"
	}
	switch string(r.path[0]) {
	case "ps":
		switch r.code {
		case methodGET, methodPOST, methodDELETE:
			return r.code, ""
		}
		return methodNone, "/ps takes GET, POST and DELETE"
	case "mqtt":
		if len(r.path) == 2 && string(r.path[1]) == "connection" {
			switch r.code {
			case methodPOST:
				return opConnect, ""
			case methodPUT:
				return opHeartbeat, ""
			case methodDELETE:
				return opClose, ""
			}
			return methodNone, "/mqtt/connection takes POST, PUT and DELETE"
		}
		switch r.code {
		case methodGET:
			return methodGET, ""
		case methodPUT:
			return methodPOST, ""
		}
		return methodNone, "/mqtt takes GET and PUT"
	}
	return 0, "unknown resource; topics are under /ps"
}

// qos is the request's QoS: the qos query parameter, else the configured
// QoS of its message type.
func (c *client) qos(r *request, q *params) byte {
	if q.qos >= 0 {
		return byte(q.qos)
	}
	if r.typ == typeCON {
		return c.g.cfg.ConQoS
	}
	return c.g.cfg.NonQoS
}

// publish handles POST /ps/{topic}.
func (c *client) publish(r *request, q *params, payload []byte) reply {
	t, err := topicFromPath(r.path[1:], false)
	if err != nil {
		return diag(codeBadRequest, err.Error())
	}
	m := core.NewMessage(t, payload)
	m.QoS, m.Retain = c.qos(r, q), q.retain
	if q.expiry > 0 {
		m.Expiry = time.Now().Add(q.expiry)
	}
	if r.contentFormat >= 0 {
		ct, text, ok := contentTypeOf(uint32(r.contentFormat))
		if ok {
			m.ContentType = ct
			if text {
				if !utf8.Valid(payload) {
					return diag(codeBadRequest, "payload is not UTF-8 text")
				}
				m.PayloadFormat = 1
			}
		}
	}
	code := c.cc.Publish(context.Background(), m)
	if code.Failed() {
		return c.refusal(code)
	}
	return reply{code: codeChanged}
}

// refusal maps a core failure to a response.
func (c *client) refusal(code core.Code) reply {
	switch code {
	case core.NotAuthorized:
		c.g.stats.Denied.Add(1)
		return diag(codeForbidden, "not authorized")
	case core.TopicNameInvalid, core.TopicFilterInvalid:
		return diag(codeBadRequest, code.String())
	case core.PacketTooLarge:
		return diag(codeTooLarge, code.String())
	case core.QuotaExceeded, core.ServerUnavailable, core.ServerShuttingDown:
		c.g.stats.Limited.Add(1)
		return diag(codeServiceUnavailable, code.String())
	}
	return diag(codeInternal, code.String())
}

// read handles GET /ps/{topic} without Observe: the retained message.
func (c *client) read(r *request) reply {
	if r.block2 > 15 {
		// A later block of a notification too large for one datagram
		// [RFC7959 3.4]: served from the observation of this path.
		if m := c.largeNotification(r); m != nil {
			return c.g.block(m, r, false)
		}
	}
	t, err := topicFromPath(r.path[1:], false)
	if err != nil {
		return diag(codeBadRequest, err.Error())
	}
	full := c.g.cfg.Mountpoint + t
	if !c.g.broker.Authorize(context.Background(), &c.cc.Info, core.ActionSubscribe, full) {
		c.g.stats.Denied.Add(1)
		return diag(codeForbidden, "not authorized")
	}
	m, ok := c.g.broker.RetainedMessage(full)
	if !ok {
		return diag(codeNotFound, "no retained message")
	}
	var rp reply
	rp.code, rp.payload = codeContent, m.Payload
	cf, hasCF := contentFormatOf(m)
	if hasCF && r.accept >= 0 && uint32(r.accept) != cf {
		return diag(codeNotAcceptable, "the retained message has another content format")
	}
	if r.block2 < 0 && len(m.Payload) <= 16<<c.g.blockSZX() {
		if hasCF {
			rp.opts = message.Options{{ID: message.ContentFormat, Value: uintBytes(cf)}}
		}
		return rp
	}
	return c.g.block(m, r, false)
}

// deleteRetained handles DELETE /ps/{topic}: it clears the retained
// message when the client may publish there.
func (c *client) deleteRetained(r *request) reply {
	t, err := topicFromPath(r.path[1:], false)
	if err != nil {
		return diag(codeBadRequest, err.Error())
	}
	full := c.g.cfg.Mountpoint + t
	if !c.g.broker.Authorize(context.Background(), &c.cc.Info, core.ActionPublish, full) {
		c.g.stats.Denied.Add(1)
		return diag(codeForbidden, "not authorized")
	}
	found, err := c.g.broker.DeleteRetained(full)
	if err != nil {
		return diag(codeInternal, "retained message not deleted from the store")
	}
	if !found {
		return diag(codeNotFound, "no retained message")
	}
	return reply{code: codeDeleted}
}

// observe handles GET with Observe 0: the token's own subscription to the
// filter [RFC7641 4.1]. A registration again with the same token replaces
// it and keeps its sequence.
func (c *client) observe(r *request, q *params) reply {
	filter, err := topicFromPath(r.path[1:], true)
	if err != nil {
		return diag(codeBadRequest, err.Error())
	}
	key := obsKey(r.token)
	o := c.obs[key]
	if o == nil && len(c.obs) >= c.g.cfg.MaxObservers {
		c.g.stats.Limited.Add(1)
		return diag(codeServiceUnavailable, "too many observations")
	}
	req := []core.SubscribeRequest{{Key: key, Filter: filter, Queue: core.QueueLatest,
		Options: topic.Options{QoS: min(c.qos(r, q), 1), Separate: true}}}
	if c.g.cfg.ObserveQueueAll {
		req[0].Queue = core.QueueAll
	}
	res := c.cc.Subscribe(context.Background(), req, nil)
	if res[0].Code.Failed() {
		return c.refusal(res[0].Code)
	}
	if o == nil {
		o = &observation{token: slices.Clone(r.token), key: key, filter: filter}
		if c.obs == nil {
			c.obs = map[string]*observation{}
		}
		c.obs[key] = o
	}
	o.filter = filter
	c.retainReq, c.retainRes = req, res
	o.seq = nextSeq(o.seq)
	return reply{code: codeContent, opts: message.Options{{ID: message.Observe, Value: uintBytes(o.seq)}}}
}

// sendRetainedFor queues the retained messages of the registration just
// answered.
func (c *client) sendRetainedFor(key string) {
	if c.retainReq != nil && c.retainReq[0].Key == key {
		c.cc.SendRetained(c.retainReq, c.retainRes)
	}
	c.retainReq, c.retainRes = nil, nil
}

// unobserve handles GET with Observe 1: the token's observation ends
// [RFC7641 3.6]. It answers 2.05 without Observe and without a payload.
func (c *client) unobserve(r *request) reply {
	c.cancel(obsKey(r.token))
	return reply{code: codeContent}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
