package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/adapters/bridge/topicmap"
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/memory"
	"github.com/mqgate/mqgate/core/topic"
)

// Namespace is the client id namespace of the bridges' local sessions.
const Namespace = "bridge"

// Protocol is the ClientInfo protocol of a bridge's local side.
const Protocol = "bridge"

// Config is one bridge.
type Config struct {
	Name          string
	Addresses     []string // tried in turn
	Protocol      string   // "3.1.1" or "5"
	ClientID      string
	Username      string
	Password      []byte
	PasswordFile  string
	CleanStart    bool
	SessionExpiry time.Duration // MQTT 5
	KeepAlive     time.Duration
	TLS           *TLS
	MaxInflight   int
	ReconnectMin  time.Duration
	ReconnectMax  time.Duration
	OutboxMax     int
	OutboxBytes   int64
	DropNewest    bool // a full outbox drops the arriving message, not the oldest
	// Refuse: a full outbox takes nothing more; the local session fills
	// and then refuses QoS 1/2 publishes (core.OpenRequest.RefuseWhenFull).
	Refuse     bool
	OutboxQoS0 bool
	Rules      []Rule
}

// TLS is the TLS setup towards the upstream.
type TLS struct {
	CAFile, CertFile, KeyFile string
	ServerName                string
	ALPN                      []string
	InsecureSkipVerify        bool
}

// Rule forwards topics one way or both.
type Rule struct {
	Direction string // out, in, both
	Local     string
	Remote    string
	QoS       byte
}

// Set is the gateway's bridges, run as one adapter.
type Set struct {
	cfgs     []Config
	node     string
	st       store.Store
	broker   *core.Broker
	log      *slog.Logger
	bridges  []*Bridge
	unlisten func()
	// mu serializes SetEnabled, Reconfigure and Stop, and guards bridges.
	mu sync.Mutex
	// byName finds a bridge by name for the Dropped listener.
	byMu   sync.Mutex
	byName map[string]*Bridge
}

// New builds the bridges; st is the broker's store, nil when it keeps
// everything in memory (the outboxes then do too).
func New(cfgs []Config, node string, st store.Store, b *core.Broker, log *slog.Logger) *Set {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if st == nil {
		st = memory.New()
	}
	return &Set{cfgs: cfgs, node: node, st: st, broker: b, log: log}
}

// Name implements gateway.Adapter.
func (s *Set) Name() string { return "bridge" }

// Start opens every bridge's local session and outbox and starts its
// loops. It never waits for an upstream: a bridge without uplink connects
// in the background.
func (s *Set) Start(ctx context.Context) error {
	names := make([]string, len(s.cfgs))
	for i := range s.cfgs {
		names[i] = s.cfgs[i].Name
	}
	ForgetRemoved(s.broker, names, s.log)
	// A message dropped from a bridge's local session before it reached
	// the outbox (its queue full while the bridge lagged, or expired) was
	// acknowledged to its publisher: count it with the bridge's drops.
	s.byName = map[string]*Bridge{}
	s.unlisten = s.broker.Listen(core.Events{Dropped: func(ns, id string, _ *core.Message, _ core.DropReason) {
		if ns != Namespace {
			return
		}
		s.byMu.Lock()
		br := s.byName[id]
		s.byMu.Unlock()
		if br != nil {
			br.sessionDrops.Add(1)
		}
	}})
	for i := range s.cfgs {
		br, err := s.startBridge(ctx, &s.cfgs[i])
		if err != nil {
			s.Stop(ctx)
			return err
		}
		s.bridges = append(s.bridges, br)
	}
	return nil
}

// startBridge builds and starts the bridge cfg describes.
func (s *Set) startBridge(ctx context.Context, cfg *Config) (*Bridge, error) {
	br, err := newBridge(cfg, s.node, s.st, s.broker, s.log.With("bridge", cfg.Name))
	if err == nil {
		err = br.start(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", cfg.Name, err)
	}
	s.byMu.Lock()
	s.byName[cfg.Name] = br
	s.byMu.Unlock()
	return br, nil
}

// Stop stops every bridge: its local session is detached (the session and
// its queue stay in the store), its upstream disconnected.
//
// The bridges stop together: each waits up to stopGrace for its inflight
// acknowledgements, so many bridges take no longer than one.
func (s *Set) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, br := range s.bridges {
		if br.cancel != nil {
			br.cancel()
		}
	}
	for _, br := range s.bridges {
		br.stop()
	}
	s.bridges = nil
	if s.unlisten != nil {
		s.unlisten()
		s.unlisten = nil
	}
	return nil
}

// ForgetRemoved deletes the local sessions of bridges that are no longer
// configured: a persistent session with nobody to pull from it would
// otherwise keep queueing (and storing) what its old rules matched. Their
// outboxes stay in the store, untouched, in case the bridge comes back.
func ForgetRemoved(b *core.Broker, configured []string, log *slog.Logger) {
	q := core.SessionQuery{Namespace: Namespace}
	for {
		page := b.Sessions(q)
		for _, si := range page.Sessions {
			if si.Namespace == Namespace && !slices.Contains(configured, si.ClientID) {
				b.DeleteSession(Namespace, si.ClientID)
				if log != nil {
					log.Info("deleted the local session of a bridge no longer configured", "bridge", si.ClientID)
				}
			}
		}
		if page.Next == "" {
			return
		}
		q.Cursor = page.Next
	}
}

// Bridge is one running bridge.
type Bridge struct {
	cfg    *Config
	node   string
	st     store.Store
	broker *core.Broker
	log    *slog.Logger
	dial   dialFunc
	info   core.ClientInfo
	out    map[string]*outRule // by local subscription key
	in     []*inRule
	ob     *outbox
	sess   *upSession  // QoS 2 entries in the upstream library's hands
	inIDs  *inboundIDs // QoS 2 ids received from the upstream, not yet released
	poison poison      // used by connLoop only
	echo   *echoes     // 3.1.1 upstreams with in rules; nil otherwise

	local        *core.Client
	sessionDrops atomic.Int64  // dropped by the core from the local session
	reopen       atomic.Bool   // the local session was kicked
	notify       chan struct{} // local deliveries are waiting
	appended     chan struct{} // the outbox grew
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	disabled     atomic.Bool // stopped by SetEnabled(false)

	mu         sync.Mutex
	up         upstream // nil while disconnected
	addr       string
	lastErr    string
	reconnects int64
}

type outRule struct {
	m   *topicmap.Map
	qos byte
}

type inRule struct {
	m   *topicmap.Map
	qos byte
}

func newBridge(cfg *Config, node string, st store.Store, b *core.Broker, log *slog.Logger) (*Bridge, error) {
	br := &Bridge{
		cfg: cfg, node: node, st: st, broker: b, log: log,
		info:     core.ClientInfo{Protocol: Protocol, Namespace: Namespace, ClientID: cfg.Name, Username: cfg.Name},
		out:      map[string]*outRule{},
		notify:   make(chan struct{}, 1),
		appended: make(chan struct{}, 1),
	}
	switch cfg.Protocol {
	case "", "3.1.1":
		br.dial = dialMQTT3
	case "5":
		br.dial = dialMQTT5
	default:
		return nil, fmt.Errorf("protocol %q is not 3.1.1 or 5", cfg.Protocol)
	}
	if cfg.TLS != nil && cfg.TLS.InsecureSkipVerify {
		log.Warn("TLS certificate verification is OFF for this bridge (tls.insecure_skip_verify): anyone on the path can read and alter its traffic")
	}
	vars := topicmap.Vars{Node: node, ClientID: cfg.ClientID}
	for i, r := range cfg.Rules {
		if r.Direction == "out" || r.Direction == "both" {
			m, err := topicmap.Compile(r.Local, r.Remote, vars)
			if err != nil {
				return nil, fmt.Errorf("rule %d: %w", i, err)
			}
			br.out[fmt.Sprintf("rule-%d", i)] = &outRule{m: m, qos: r.QoS}
		}
		if r.Direction == "in" || r.Direction == "both" {
			remote := r.Remote
			if remote == "" {
				remote = r.Local
			}
			m, err := topicmap.Compile(remote, r.Local, vars)
			if err != nil {
				return nil, fmt.Errorf("rule %d: %w", i, err)
			}
			br.in = append(br.in, &inRule{m: m, qos: r.QoS})
		}
	}
	if br.cfg.Protocol != "5" && len(br.in) > 0 {
		var fs []string
		for _, r := range br.in {
			fs = append(fs, r.m.Filter())
		}
		br.echo = newEchoes(fs)
	}
	return br, nil
}

// Notify implements core.Conn: deliveries wait in the local session.
func (br *Bridge) Notify() {
	select {
	case br.notify <- struct{}{}:
	default:
	}
}

// Kick implements core.Conn. An administrator's kick makes the local loop
// detach and open the session again (the bridge is configuration, not a
// client to keep out); a shutdown or a takeover is left alone.
func (br *Bridge) Kick(c core.Code) {
	if c == core.AdministrativeAction {
		br.reopen.Store(true)
		br.Notify()
	}
}

func (br *Bridge) start(ctx context.Context) error {
	ob, err := openOutbox(br.st, br.cfg.Name, br.cfg.OutboxMax, br.cfg.OutboxBytes, !br.cfg.DropNewest, br.cfg.Refuse, br.log)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	br.ob = ob
	if br.sess, err = openSession(br.st, br.cfg.Name, ob); err != nil {
		return err
	}
	if br.inIDs, err = openInboundIDs(br.st, br.cfg.Name); err != nil {
		return err
	}
	if err := br.openLocal(ctx); err != nil {
		return err
	}
	if n := ob.stats().Count; n > 0 {
		br.log.Info("bridge outbox resumed", "messages", n)
	}
	rctx, cancel := context.WithCancel(context.Background())
	br.cancel = cancel
	br.wg.Add(3)
	go br.localLoop(rctx)
	go br.connLoop(rctx)
	go br.statusLoop(rctx)
	br.publishStatus()
	return nil
}

func (br *Bridge) stop() {
	if br.cancel == nil {
		return
	}
	br.cancel()
	br.wg.Wait()
	if br.local != nil {
		br.local.Disconnect(core.DisconnectNormal, "bridge stopped")
	}
	br.cancel = nil
}

// openLocal opens the bridge's persistent local session and makes its
// subscriptions the out rules', removing any a former configuration left.
func (br *Bridge) openLocal(ctx context.Context) error {
	c, _, err := br.broker.OpenInternal(&core.OpenRequest{
		Info: br.info, SessionExpiry: core.NeverExpire, ReceiveMaximum: br.cfg.MaxInflight, Conn: br,
		// What waits here is acknowledged already: it must fit as the
		// outbox would, not only within the broker's per-client limits.
		// The outbox's policy decides what a full outbox gives up.
		MaxQueued:      max(br.cfg.OutboxMax, br.broker.Config().MaxQueued),
		MaxQueuedBytes: max(br.cfg.OutboxBytes, int64(br.broker.Config().MaxQueuedBytes)),
		RefuseWhenFull: br.cfg.Refuse,
	})
	if err != nil {
		return fmt.Errorf("local session: %w", err)
	}
	br.local = c
	if d, ok := br.broker.Session(Namespace, br.cfg.Name); ok {
		for _, s := range d.Subscriptions {
			if _, keep := br.out[s.ID]; !keep {
				c.UnsubscribeKey(s.ID)
			}
		}
	}
	var reqs []core.SubscribeRequest
	for key, r := range br.out {
		reqs = append(reqs, core.SubscribeRequest{Key: key, Filter: r.m.Filter(), Options: topicOptions(r.qos)})
	}
	res := c.Subscribe(ctx, reqs, nil)
	for i, r := range res {
		if r.Code.Failed() {
			return fmt.Errorf("local subscription to %q: %v", reqs[i].Filter, r.Code)
		}
	}
	br.Notify()
	return nil
}

// localLoop moves deliveries of the local session into the outbox: a
// batch is appended, the store synced once, and only then are the
// deliveries settled.
func (br *Bridge) localLoop(ctx context.Context) {
	defer br.wg.Done()
	var ds []core.Delivery
	var settle []core.Delivery
	for {
		select {
		case <-ctx.Done():
			return
		case <-br.notify:
		}
		if br.reopen.Swap(false) {
			br.local.Disconnect(core.DisconnectNormal, "kicked by an administrator")
			if err := br.openLocal(ctx); err != nil {
				br.log.Error("bridge local session not reopened after a kick", "err", err)
				continue
			}
			br.log.Info("bridge local session reopened after a kick")
		}
		for {
			ds = br.local.Pull(ds[:0], 256)
			if len(ds) == 0 {
				break
			}
			settle = settle[:0]
			grew := false
			failed := false
			full := false
			for i, d := range ds {
				if d.Held {
					// A QoS 2 delivery held before a restart: it is in the
					// outbox already.
					br.local.Complete(d.Tag)
					continue
				}
				ok, err := br.take(&d)
				if errors.Is(err, errOutboxFull) {
					// Refuse policy: this delivery and the rest of the
					// batch go back to the session, newest first so that
					// they keep their order at its front.
					full = true
					br.requeue(ds[i:])
					break
				}
				if err != nil {
					br.log.Error("outbox append failed; the message stays in the local session", "topic", d.Msg.Topic, "err", err)
					br.local.Settle(d.Tag, core.Requeued)
					failed = true
					continue
				}
				grew = grew || ok
				settle = append(settle, d)
			}
			// A QoS 2 delivery is held before the sync, so that one sync
			// makes the entry and the local PUBREC-like state durable
			// together: after a crash the delivery comes back held (in
			// the outbox already) or not at all handed over.
			for _, d := range settle {
				if d.QoS == 2 {
					br.local.Hold(d.Tag)
				}
			}
			if grew {
				if err := br.st.Sync(); err != nil {
					br.log.Error("outbox sync failed; the messages stay in the local session", "err", err)
					for _, d := range settle {
						if d.QoS != 2 {
							br.local.Settle(d.Tag, core.Requeued)
						}
					}
					failed = true
					settle = settle[:0]
				}
			}
			for _, d := range settle {
				if d.QoS == 2 {
					br.local.Complete(d.Tag)
				} else if d.QoS == 1 {
					br.local.Settle(d.Tag, core.Accepted)
				}
			}
			if grew {
				select {
				case br.appended <- struct{}{}:
				default:
				}
			}
			if failed {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
			if full {
				// Until the upstream takes some: meanwhile the session
				// fills and then refuses publishers.
				select {
				case <-ctx.Done():
					return
				case <-br.ob.space:
				}
			}
		}
	}
}

// requeue gives deliveries back to the local session, last first: each
// goes to the front of the queue, so they keep their order. A QoS 0
// delivery cannot go back: it is dropped, counted.
func (br *Bridge) requeue(ds []core.Delivery) {
	for i := len(ds) - 1; i >= 0; i-- {
		d := &ds[i]
		switch {
		case d.Held:
			br.local.Complete(d.Tag) // in the outbox already
		case d.QoS == 0:
			br.ob.countDrop()
		default:
			br.local.Settle(d.Tag, core.Requeued)
		}
	}
}

// take handles one local delivery: it reports whether it appended the
// message to the outbox.
func (br *Bridge) take(d *core.Delivery) (bool, error) {
	m := d.Msg
	if m.Origin.Protocol == Protocol && m.Origin.Namespace == Namespace && m.Origin.ClientID == br.cfg.Name {
		return false, nil // it came in through this bridge: no loop
	}
	r := br.out[d.Key]
	if r == nil {
		return false, nil
	}
	remote, err := r.m.Apply(m.Topic)
	if err != nil {
		br.log.Warn("message not forwarded: its topic does not map", "topic", m.Topic, "err", err)
		br.ob.countDrop()
		return false, nil
	}
	sm := toStore(m, remote, d.QoS, d.Retain)
	if d.QoS == 0 && !br.cfg.OutboxQoS0 {
		br.mu.Lock()
		up := br.up
		br.mu.Unlock()
		if up == nil {
			br.ob.countDrop()
			return false, nil
		}
		if br.echo != nil {
			br.echo.sending(sm.Topic, sm.Payload)
		}
		up.Publish(0, sm, func(error) {})
		return false, nil
	}
	return br.ob.append(sm)
}

// toStore converts a local message into the outbox's form with its remote
// topic and QoS.
func toStore(m *core.Message, t string, qos byte, retain bool) *store.Message {
	sm := &store.Message{
		Topic: t, Payload: m.Payload, QoS: qos, Retain: retain, PayloadFormat: m.PayloadFormat,
		ContentType: m.ContentType, ResponseTopic: m.ResponseTopic, CorrelationData: m.CorrelationData,
		Expiry: m.Expiry, Origin: store.Origin(m.Origin),
	}
	for _, u := range m.UserProperties {
		sm.UserProperties = append(sm.UserProperties, store.UserProperty(u))
	}
	sm.UserProperties = withHop(sm.UserProperties)
	return sm
}

// backoff returns the wait before attempt n (0-based) of a failing
// sequence: min doubled per attempt, capped at max, with full jitter over
// its upper half.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// connLoop connects to the upstream addresses in turn, with capped
// exponential backoff and jitter between failures, and runs the sender
// over each connection until it is lost.
func (br *Bridge) connLoop(ctx context.Context) {
	defer br.wg.Done()
	addrs := br.cfg.Addresses
	fails := 0
	for i := 0; ; i = (i + 1) % len(addrs) {
		if ctx.Err() != nil {
			return
		}
		addr := addrs[i]
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		br.sess.connected()
		up, err := br.dial(dctx, br, addr)
		cancel()
		if err == nil {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err = br.subscribe(sctx, up); err != nil {
				up.Close()
			}
			cancel()
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			br.setDown(addr, err)
			wait := backoff(fails, br.cfg.ReconnectMin, br.cfg.ReconnectMax)
			fails++
			br.log.Info("bridge upstream unreachable", "address", addr, "err", err, "retry_in", wait.Round(time.Millisecond))
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		br.setUp(up, addr)
		began := time.Now()
		var res sendResult
		res, err = br.send(ctx, up)
		up.Close()
		if ctx.Err() == nil {
			br.poison.connectionEnded(br, res, time.Since(began))
		}
		if ctx.Err() != nil {
			br.setDown(addr, nil)
			return
		}
		br.setDown(addr, err)
		br.log.Warn("bridge upstream lost", "address", addr, "err", err)
		i-- // the same address first, after a pause
		// A connection that did not last counts as a failed attempt: two
		// bridges with one client id taking the session from each other,
		// or an upstream that closes every connection at once, back off
		// as an unreachable one does instead of reconnecting in a loop.
		if time.Since(began) >= stableConnection {
			fails = 0
		}
		wait := backoff(fails, br.cfg.ReconnectMin, br.cfg.ReconnectMax)
		fails++
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// stableConnection is how long a connection must have lasted for the
// next reconnect to start the backoff afresh.
const stableConnection = 10 * time.Second

// ack is the upstream's answer for one outbox entry.
type ack struct {
	seq uint64
	err error
}

// ackQueue takes the upstream's answers without ever blocking the one
// giving them (the sender itself, when a publish fails at once).
type ackQueue struct {
	mu     sync.Mutex
	q      []ack
	signal chan struct{}
}

func newAckQueue() *ackQueue { return &ackQueue{signal: make(chan struct{}, 1)} }

func (a *ackQueue) push(seq uint64, err error) {
	a.mu.Lock()
	a.q = append(a.q, ack{seq, err})
	a.mu.Unlock()
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

// take returns what arrived since the last take, into buf.
func (a *ackQueue) take(buf []ack) []ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	buf = append(buf[:0], a.q...)
	a.q = a.q[:0]
	return buf
}

// maxQoS2v3 bounds the QoS 2 messages in flight to an MQTT 3.1.1
// upstream, which announces no Receive Maximum but may close the
// connection beyond its own limit of unreleased QoS 2 messages (mqgate's
// default is 32). MQTT 5 upstreams announce theirs in CONNACK, and
// paho.golang keeps to it.
const maxQoS2v3 = 16

// sendResult is what one connection's sender saw.
type sendResult struct {
	acked int    // acknowledgements received
	head  uint64 // oldest entry left unacknowledged; 0: none
}

// send drains the outbox over up from its oldest entry, with up to
// MaxInflight messages awaiting acknowledgement (one while a poison
// message is being looked for), until the connection ends. It returns
// why it ended.
//
// QoS 2 entries sent on an earlier connection are the library's to resend
// (session.go): they count in the window, are not published again, and
// leave the outbox when the session reports them done.
func (br *Bridge) send(ctx context.Context, up upstream) (res sendResult, err error) {
	window := br.cfg.MaxInflight
	if br.poison.probing {
		window = 1
	}
	acks := newAckQueue()
	var got []ack
	inflight := 0
	next := uint64(0)
	pending := map[uint64]byte{} // seq -> QoS, awaiting acknowledgement
	inflight2 := 0               // QoS 2 among them
	defer func() {
		for seq := range pending {
			if res.head == 0 || seq < res.head {
				res.head = seq
			}
		}
	}()
	settled := func(seq uint64) {
		if q, ok := pending[seq]; ok {
			inflight--
			if q == 2 {
				inflight2--
			}
			delete(pending, seq)
			res.acked++
		}
	}
	takeDone := func() error {
		for _, seq := range br.sess.takeDone() {
			settled(seq)
			if err := br.ob.remove(seq); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
		}
		return nil
	}
	if err := takeDone(); err != nil {
		return res, err
	}
	for _, r := range br.sess.resumed() {
		pending[r.seq] = 2
		inflight++
		inflight2++
	}
	for {
		if err := br.sess.failure(); err != nil {
			return res, err
		}
	fill:
		for inflight < window {
			if br.cfg.Protocol != "5" && br.sess.releasing() {
				// paho.mqtt.golang does not reserve the packet id of a
				// PUBREL it resends: nothing new until they complete.
				break
			}
			es, from, err := br.ob.peek(next, window-inflight)
			if err != nil {
				return res, fmt.Errorf("outbox: %w", err)
			}
			next = from
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				if br.sess.resending(e.Seq) {
					continue
				}
				e, ok := br.ob.forwardable(e)
				if !ok {
					// Expired while it waited (checklist #25, #26).
					br.ob.remove(e.Seq)
					br.ob.countDrop()
					continue
				}
				if e.Message.QoS == 2 && inflight2 >= maxQoS2v3 && br.cfg.Protocol != "5" {
					next = e.Seq // after an acknowledgement
					break fill
				}
				inflight++
				seq := e.Seq
				if br.echo != nil {
					br.echo.sending(e.Message.Topic, e.Message.Payload)
				}
				pending[seq] = e.Message.QoS
				if e.Message.QoS == 2 {
					inflight2++
				}
				up.Publish(seq, br.withID(e), func(err error) { acks.push(seq, err) })
			}
		}
		if inflight == 0 {
			if err := br.ob.flush(); err != nil {
				return res, fmt.Errorf("outbox: %w", err)
			}
		}
		select {
		case <-acks.signal:
			got = acks.take(got)
			for _, a := range got {
				switch {
				case a.err == nil && pending[a.seq] == 2 && br.sess.tracks(a.seq):
					// Done when the session says so: PUBCOMP, which the
					// session hears of even when this answer is lost.
				case a.err == nil:
					settled(a.seq)
					if err := br.ob.remove(a.seq); err != nil {
						return res, fmt.Errorf("outbox: %w", err)
					}
				case errors.Is(a.err, errRefused):
					settled(a.seq)
					br.log.Warn("upstream refused a message; dropped", "err", a.err)
					br.ob.remove(a.seq)
					br.ob.countDrop()
				default:
					// The connection is suspect: resend from the oldest
					// entry on a new one.
					return res, a.err
				}
			}
		case <-br.sess.signal:
			if err := takeDone(); err != nil {
				return res, err
			}
		case <-br.appended:
		case <-up.Done():
			br.ob.flush()
			return res, up.Err()
		case <-ctx.Done():
			br.drainAcks(up, acks, pending)
			br.ob.flush()
			return res, nil
		}
	}
}

// MessageIDProperty is the MQTT 5 user property that names an outbox
// entry: the bridge's client id and the entry's sequence number, which
// never repeats in a store. A message sent again (after a reconnect, or a
// crash before its deletion) carries the same id, so an upstream consumer
// can drop the duplicate (checklist #11).
const MessageIDProperty = "mqgate-msg-id"

// withID returns the entry's message with its id, for MQTT 5 upstreams.
func (br *Bridge) withID(e store.OutboxEntry) *store.Message {
	if br.cfg.Protocol != "5" {
		return e.Message
	}
	m := *e.Message
	m.UserProperties = append(slices.Clip(m.UserProperties),
		store.UserProperty{Key: MessageIDProperty, Value: br.cfg.ClientID + ":" + strconv.FormatUint(e.Seq, 10)})
	return &m
}

// stopGrace bounds how long a stopping bridge waits for the upstream to
// acknowledge what is in flight; what it does not acknowledge stays in the
// outbox and is sent again after the restart.
const stopGrace = 2 * time.Second

func (br *Bridge) drainAcks(up upstream, acks *ackQueue, pending map[uint64]byte) {
	if len(pending) == 0 {
		return
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	var got []ack
	for len(pending) > 0 {
		select {
		case <-acks.signal:
			got = acks.take(got)
			for _, a := range got {
				if a.err == nil && (pending[a.seq] != 2 || !br.sess.tracks(a.seq)) {
					delete(pending, a.seq)
					br.ob.remove(a.seq)
				}
			}
		case <-br.sess.signal:
			for _, seq := range br.sess.takeDone() {
				delete(pending, seq)
				br.ob.remove(seq)
			}
		case <-up.Done():
			return
		case <-grace.C:
			br.log.Info("bridge stopped with messages awaiting the upstream's acknowledgement; they stay in the outbox", "messages", len(pending))
			return
		}
	}
}

// handleInbound publishes a message from the upstream locally, under each
// in rule whose remote filter it matches, and returns once it is durable.
func (br *Bridge) handleInbound(sm *store.Message) error {
	if br.echo != nil && br.echo.isEcho(sm.Topic, sm.Payload) {
		return nil
	}
	if hops(sm.UserProperties) >= MaxHops {
		br.log.Warn("inbound message dropped: it crossed too many bridges, a loop between brokers", "topic", sm.Topic, "hops", MaxHops)
		br.ob.countDrop()
		return nil
	}
	var done []string
	for _, r := range br.in {
		t, err := r.m.Apply(sm.Topic)
		if err != nil {
			continue
		}
		if contains(done, t) {
			continue
		}
		done = append(done, t)
		m := core.NewMessage(t, sm.Payload)
		m.QoS, m.Retain = min(sm.QoS, r.qos), sm.Retain
		m.PayloadFormat, m.ContentType, m.ResponseTopic, m.CorrelationData = sm.PayloadFormat, sm.ContentType, sm.ResponseTopic, sm.CorrelationData
		m.Expiry = sm.Expiry
		for _, u := range sm.UserProperties {
			m.UserProperties = append(m.UserProperties, core.UserProperty(u))
		}
		_, err = br.broker.Publish(context.Background(), &br.info, m)
		var code core.Code
		switch {
		case err == nil, errors.As(err, &code) && code == core.NoMatchingSubscribers:
		case errors.As(err, &code) && code != core.UnspecifiedError:
			br.log.Warn("inbound message refused locally; dropped", "topic", t, "err", err)
		default:
			return fmt.Errorf("inbound message on %q not stored: %w", t, err)
		}
	}
	return nil
}

// topicOptions are the options of a local subscription for an out rule:
// one delivery per rule, carrying its key, and the retain flag as
// published so that a retained message stays retained upstream.
func topicOptions(qos byte) topic.Options {
	return topic.Options{QoS: qos, RetainAsPublished: true, Separate: true}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (br *Bridge) setUp(up upstream, addr string) {
	br.mu.Lock()
	br.up, br.addr, br.lastErr = up, addr, ""
	br.mu.Unlock()
	br.log.Info("bridge connected", "address", addr)
	br.publishStatus()
}

func (br *Bridge) setDown(addr string, err error) {
	br.mu.Lock()
	wasUp := br.up != nil
	br.up = nil
	if wasUp {
		br.reconnects++
	}
	br.addr = addr
	if err != nil {
		br.lastErr = err.Error()
	}
	br.mu.Unlock()
	br.publishStatus()
}

// Status is what a bridge reports under
// $SYS/brokers/{node}/bridges/{name}/status.
type Status struct {
	Connected     bool    `json:"connected"`
	Address       string  `json:"address"`
	Queued        int     `json:"queued"`
	QueuedBytes   int64   `json:"queued_bytes"`
	OldestSeconds float64 `json:"oldest_age_seconds"`
	Dropped       int64   `json:"dropped"`
	// Quarantined counts outbox records the store could not read: each
	// was logged and taken out of the outbox (checklist #3).
	Quarantined int64  `json:"quarantined"`
	Reconnects  int64  `json:"reconnects"`
	LastError   string `json:"last_error,omitempty"`
}

// ErrNoBridge is SetEnabled's error for a name no bridge has.
var ErrNoBridge = errors.New("no such bridge")

// SetEnabled stops (on false) or starts again (on true) the bridge name.
// A disabled bridge's local session stays, so what it should forward
// waits there, durably, and its outbox keeps what it held; enabling it
// again drains both in order.
func (s *Set) SetEnabled(ctx context.Context, name string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, br := range s.bridges {
		if br.cfg.Name != name {
			continue
		}
		switch {
		case on && br.disabled.Load():
			if err := br.start(ctx); err != nil {
				return fmt.Errorf("bridge %s: %w", name, err)
			}
			br.disabled.Store(false)
			br.log.Info("bridge enabled")
		case !on && !br.disabled.Load():
			br.stop()
			br.disabled.Store(true)
			br.log.Info("bridge disabled")
		}
		return nil
	}
	return fmt.Errorf("%w: %q", ErrNoBridge, name)
}

// Enabled reports whether the bridge runs (SetEnabled).
func (br *Bridge) Enabled() bool { return !br.disabled.Load() }

// Status returns the bridge's state now.
func (br *Bridge) Status() Status {
	s := br.ob.stats()
	br.mu.Lock()
	defer br.mu.Unlock()
	return Status{
		Connected: br.up != nil, Address: br.addr, Queued: s.Count, QueuedBytes: s.Bytes,
		OldestSeconds: s.OldestAge.Seconds(), Dropped: s.Drops + br.sessionDrops.Load(), Quarantined: s.Quarantined, Reconnects: br.reconnects, LastError: br.lastErr,
	}
}

// statusInterval is how often a changed status is published.
const statusInterval = 5 * time.Second

// statusLoop publishes the status when the backlog or the drops changed,
// and logs new drops.
func (br *Bridge) statusLoop(ctx context.Context) {
	defer br.wg.Done()
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	last := br.Status()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := br.Status()
		if st.Dropped != last.Dropped {
			br.log.Warn("bridge dropped messages", "dropped", st.Dropped-last.Dropped, "total", st.Dropped, "queued", st.Queued)
		}
		if st.Queued != last.Queued || st.Dropped != last.Dropped || st.Connected != last.Connected {
			br.publishStatus()
		}
		last = st
	}
}

func (br *Bridge) publishStatus() {
	b, _ := json.Marshal(br.Status())
	br.broker.PublishSys("bridges/"+br.cfg.Name+"/status", b)
}

// Bridges returns the bridges in their configured order, for tests and
// status.
func (s *Set) Bridges() []*Bridge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bridges)
}

// Name is the bridge's configured name.
func (br *Bridge) Name() string { return br.cfg.Name }

// Addresses are the upstream addresses the bridge tries in turn.
func (br *Bridge) Addresses() []string { return br.cfg.Addresses }
