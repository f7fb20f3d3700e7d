package core

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/topic"
)

// DropPolicy says which message a full session queue gives up.
type DropPolicy int

// Drop policies.
const (
	DropNewest DropPolicy = iota // the arriving message is dropped
	DropOldest                   // the oldest queued message is dropped
)

// Config tunes a Broker. Zero values take the defaults documented on each
// field.
type Config struct {
	// Router, Registry and RetainedIndex replace the single-node
	// subscription index, session registry and retained index (see
	// seams.go); nil keeps them.
	Router        Router
	Registry      Registry
	RetainedIndex RetainedIndex
	// MaxInflight caps the outbound inflight window per client, whatever
	// Receive Maximum the client announces (default 32, at most 65535).
	MaxInflight int
	// MaxInboundQoS2 is the server Receive Maximum: QoS 2 publishes a client
	// may have awaiting PUBREL (default 32).
	MaxInboundQoS2 int
	// MaxQueued and MaxQueuedBytes bound each session's queue of messages
	// not yet in flight (defaults 1000 and 16 MiB).
	MaxQueued      int
	MaxQueuedBytes int
	// QueueQoS0 keeps QoS 0 messages for offline persistent sessions.
	QueueQoS0  bool
	DropPolicy DropPolicy
	// MaxSubscriptions per session; 0 means unlimited.
	MaxSubscriptions int
	// MaxSessionExpiry caps the session expiry a client may ask for, and is
	// the expiry of MQTT 3 persistent sessions; 0 means never expire.
	MaxSessionExpiry time.Duration
	// MaxTopicLevels bounds topic names and filters; 0 means unlimited.
	MaxTopicLevels int
	// SharedStrategy picks the member of a shared subscription group.
	SharedStrategy topic.Strategy
	// RetainDisabled refuses retained messages; RetainedMax and
	// RetainedMaxPayload bound the retained store (defaults 100000 and 1 MiB).
	RetainDisabled     bool
	RetainedMax        int
	RetainedMaxPayload int
	// SysInterval is the period of $SYS updates; 0 disables $SYS.
	SysInterval time.Duration
	// NodeName names this broker in $SYS/brokers/{node}/... topics.
	NodeName string
	// AllowAnonymous lets clients without a username connect when no
	// authentication source decides otherwise.
	AllowAnonymous bool
	Authenticator  Authenticator // nil: none
	Authorizer     Authorizer    // nil: everything allowed
	Version        string
	Logger         *slog.Logger
	// Store keeps persistent sessions, their queues and retained messages
	// across restarts; nil keeps everything in memory only. The broker
	// does not close it: the owner closes it after Broker.Close. See
	// persist.go for what is written when.
	Store store.Store
	// StoreExpireInterval is how often expired records are removed from
	// the store in the background (default 1 minute).
	StoreExpireInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.Router == nil {
		c.Router = topic.NewRouter[SessionRef](c.SharedStrategy)
	}
	if c.Registry == nil {
		c.Registry = make(mapRegistry)
	}
	if c.RetainedIndex == nil {
		c.RetainedIndex = topic.NewRetained[*Message]()
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 32
	}
	if c.MaxInflight > 65535 {
		c.MaxInflight = 65535
	}
	if c.MaxInboundQoS2 <= 0 {
		c.MaxInboundQoS2 = 32
	}
	if c.MaxInboundQoS2 > 65535 {
		c.MaxInboundQoS2 = 65535
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 1000
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = 16 << 20
	}
	if c.RetainedMax <= 0 {
		c.RetainedMax = 100000
	}
	if c.RetainedMaxPayload <= 0 {
		c.RetainedMaxPayload = 1 << 20
	}
	if c.NodeName == "" {
		c.NodeName = "mqgate"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.StoreExpireInterval <= 0 {
		c.StoreExpireInterval = time.Minute
	}
}

// Stats are the broker's counters; they feed $SYS and metrics.
type Stats struct {
	ClientsConnected atomic.Int64
	ClientsMaximum   atomic.Int64
	Connects         atomic.Int64
	MessagesReceived MessageTotal // the sum of Broker.MessageCounts
	MessagesSent     MessageTotal
	BytesReceived    ByteTotal // the sum of Broker.ByteCounts; adapters count through Broker.Traffic
	BytesSent        ByteTotal
	MessagesDropped  atomic.Int64
	PublishDenied    atomic.Int64
	PublishRefused   atomic.Int64 // a RefuseWhenFull session had no room
	SubscribeDenied  atomic.Int64
	WillsPublished   atomic.Int64
}

// Broker routes messages between sessions. It is safe for concurrent use.
type Broker struct {
	cfg Config
	log *slog.Logger
	// clientLogs limits the per-client info lines.
	clientLogs *logLimiter
	events     listeners
	bans       banList
	router     Router
	retained   RetainedIndex
	store      store.Store // nil: memory only
	// retainMu keeps the retained index and the store in the same order
	// when two publishers set one topic at once; taken only with a store.
	retainMu sync.Mutex
	stats    Stats
	// msgIn and msgOut count messages and payload bytes by protocol and
	// QoS (MessageCounts), bytesIn and bytesOut wire bytes by protocol
	// (Traffic). The message counts are allocated on their own so that
	// each count and its bytes share a cache line (messageCount).
	msgIn, msgOut     *messageCounts
	bytesIn, bytesOut [nProtocols]atomic.Int64
	// refusals counts connections refused at Open (RefusalCounts).
	refusals refusalCounts
	// storeHealth counts the store's failed writes and syncs (StoreHealth).
	storeHealth storeHealth
	// refusers counts sessions opened with RefuseWhenFull: while there are
	// none, a publish does not look for them.
	refusers atomic.Int32
	started  time.Time

	regMu    sync.Mutex
	sessions Registry // under regMu
	closed   bool

	matches sync.Pool // *topic.Matches[*session]

	stop chan struct{}
	wg   sync.WaitGroup
}

// SessionKey names a session: a client id within its namespace (each
// gateway may have its own, as EMQX's do).
type SessionKey struct {
	Namespace, ClientID string
}

// NewBroker builds a broker. Call Start to run its background work and
// Close to end it.
func NewBroker(cfg Config) *Broker {
	cfg.setDefaults()
	b := &Broker{
		cfg:        cfg,
		log:        cfg.Logger,
		clientLogs: newLogLimiter(),
		router:     cfg.Router,
		retained:   cfg.RetainedIndex,
		store:      cfg.Store,
		sessions:   cfg.Registry,
		stop:       make(chan struct{}),
		started:    time.Now(),
		msgIn:      new(messageCounts),
		msgOut:     new(messageCounts),
	}
	b.stats.MessagesReceived, b.stats.MessagesSent = MessageTotal{b.msgIn}, MessageTotal{b.msgOut}
	b.stats.BytesReceived, b.stats.BytesSent = ByteTotal{&b.bytesIn}, ByteTotal{&b.bytesOut}
	b.router.SetAvailable(func(s *session) bool { return s.online.Load() })
	if cfg.SysInterval > 0 {
		// $SYS client events listen like any other consumer.
		b.Listen(Events{
			Connected:    func(info *ClientInfo, _ bool) { b.clientEvent(info, "connected") },
			Disconnected: func(info *ClientInfo, _ string) { b.clientEvent(info, "disconnected") },
		})
	}
	b.matches.New = func() any { return new(topic.Matches[*session]) }
	return b
}

// Stats returns the broker's live counters.
func (b *Broker) Stats() *Stats { return &b.stats }

// Config returns the configuration in force, defaults filled in.
func (b *Broker) Config() Config { return b.cfg }

// SubscriptionCount is the number of subscriptions in the router.
func (b *Broker) SubscriptionCount() int { return b.router.Count() }

// RetainedCount is the number of retained messages.
func (b *Broker) RetainedCount() int { return b.retained.Len() }

// SessionCount is the number of sessions, connected or not.
func (b *Broker) SessionCount() int {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	return b.sessions.Len()
}

// allSessionsLocked appends every registered session to all; regMu is
// held.
func (b *Broker) allSessionsLocked(all []*session) []*session {
	b.sessions.Range(func(_ SessionKey, s SessionRef) bool {
		all = append(all, s)
		return true
	})
	return all
}

// Start runs the broker's background work ($SYS updates) until Close.
func (b *Broker) Start() {
	if b.cfg.SysInterval > 0 {
		b.wg.Add(1)
		go b.sysLoop()
	}
	if b.store != nil {
		b.wg.Add(1)
		go b.expireLoop()
	}
}

// Close ends every session: connected clients are kicked with
// ServerShuttingDown, pending wills whose session ends now are published
// [MQTT-3.1.2-8], and background work stops. With a store, persistent
// sessions do not end: they are recorded as disconnected now and their
// delayed wills wait in the store for the next start; the store is synced.
// It waits for nothing the adapters own; the gateway stops adapters first.
func (b *Broker) Close() {
	b.regMu.Lock()
	if b.closed {
		b.regMu.Unlock()
		return
	}
	b.closed = true
	all := make([]*session, 0, b.sessions.Len())
	all = b.allSessionsLocked(all)
	b.regMu.Unlock()
	close(b.stop)
	now := time.Now()
	for _, s := range all {
		s.mu.Lock()
		conn := s.conn
		s.detachLocked()
		var will *Will
		if s.persist {
			if conn != nil {
				s.storeErr("set expiry", b.store.Sessions().SetExpiry(s.key.store(), s.expiry, now))
				if s.will != nil && s.will.Delay <= 0 {
					// The connection is closed by the server: a will
					// without delay goes now; delayed ones survive.
					will = s.takeWillLocked()
				}
			}
			s.persistWillLocked()
		} else {
			will = s.takeWillLocked()
		}
		s.stopTimersLocked()
		info := s.info
		s.mu.Unlock()
		if conn != nil {
			conn.Kick(ServerShuttingDown)
			b.clientLeft(&info, "server shutting down")
		}
		if will != nil {
			b.publishWill(info, will)
		}
	}
	b.wg.Wait()
	if b.store != nil {
		if err := b.store.Sync(); err != nil {
			b.log.Error("store sync at close failed", "err", err)
			b.storeFailed(err)
		}
	}
}

// Authenticate runs the authentication chain for a connecting client. A
// client whose listener takes its verified certificate as the credential
// is authenticated by it; any other client needs a source that knows it,
// or, without a username, allow_anonymous. A refusal is counted under
// info's protocol (RefusalCounts).
func (b *Broker) Authenticate(ctx context.Context, info *ClientInfo, password []byte) Code {
	code, refusal, reason := b.authenticate(ctx, info, password)
	if code.Failed() {
		b.refuse(info, refusal)
		b.logClient(info, "authentication refused", slog.String("reason", reason))
	}
	return code
}

func (b *Broker) authenticate(ctx context.Context, info *ClientInfo, password []byte) (Code, Refusal, string) {
	if info.CertIdentity && info.CertCN != "" {
		// The certificate chain was verified against the listener's CA
		// during the handshake: that is the credential, as with
		// mosquitto's use_identity_as_username. ACLs still apply.
		return Success, 0, ""
	}
	if b.cfg.Authenticator != nil {
		v, err := b.cfg.Authenticator.Authenticate(ctx, info, password)
		if err != nil {
			b.log.Warn("authentication source failed", "client", info.ClientID, "username", info.Username, "err", err)
			return NotAuthorized, RefusedAuthSourceError, "authentication source failed"
		}
		switch v {
		case Allow:
			return Success, 0, ""
		case Deny:
			return BadUsernameOrPassword, RefusedBadCredentials, "bad username or password"
		}
		// Nothing knew this client: only anonymous clients may go on.
		if info.Username != "" {
			return BadUsernameOrPassword, RefusedBadCredentials, "unknown username"
		}
	}
	if !b.cfg.AllowAnonymous {
		return NotAuthorized, RefusedNotAuthorized, "anonymous access is off"
	}
	return Success, 0, ""
}

// Authorize runs the authorization chain. With no authorizer, or when every
// source ignores the request, the action is allowed. Denials are logged,
// limited per client.
func (b *Broker) Authorize(ctx context.Context, info *ClientInfo, a Action, t string) bool {
	if b.cfg.Authorizer == nil {
		return true
	}
	v, err := b.cfg.Authorizer.Authorize(ctx, info, a, t)
	if err != nil {
		b.log.Warn("authorization source failed", "client", info.ClientID, "action", a.String(), "topic", t, "err", err)
		b.logDenied(info, a, t)
		return false
	}
	if v == Deny {
		b.logDenied(info, a, t)
		return false
	}
	return true
}

func (b *Broker) logDenied(info *ClientInfo, a Action, t string) {
	b.logClient(info, "authorization denied", slog.String("action", a.String()), slog.String("topic", t))
}

// AssignClientID returns a fresh client identifier, unused in namespace,
// for a client that connected without one [MQTT-3.1.3-6]. It is 80 bits
// from a cryptographic source, so no client can guess the id another will
// be given and connect under it first to take over or resume that
// session; at 23 characters it also fits MQTT 3.1's limit.
func (b *Broker) AssignClientID(namespace string) string {
	var raw [10]byte
	for {
		randRead(raw[:])
		id := "mqgate-" + assignedIDEncoding.EncodeToString(raw[:])
		b.regMu.Lock()
		taken := b.sessions.Get(SessionKey{namespace, id}) != nil
		b.regMu.Unlock()
		if !taken {
			return id
		}
	}
}

// randRead fills ids with random bytes; crypto/rand's Read never fails.
// Tests replace it to force a collision.
var randRead = rand.Read

// assignedIDEncoding is lower-case base32 without padding: 10 bytes make
// 16 characters that are valid in every protocol's client id.
var assignedIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Will is a client's last-will message and its delay.
type Will struct {
	Message *Message      // topic as the client gave it, without mountpoint
	Delay   time.Duration // Will Delay Interval
	Expiry  time.Duration // message expiry counted from publication; 0: none
}

// ValidateTopicName checks a topic name against mqgate's rules (see
// core/topic.ValidateName).
func ValidateTopicName(name string, maxLevels int) error {
	return topic.ValidateName(name, maxLevels)
}

// Conn is the adapter side of a connection as the core sees it. Both
// methods are called with core locks held and must not block.
type Conn interface {
	// Notify says deliveries are waiting to be pulled.
	Notify()
	// Kick asks the adapter to close the connection with code c
	// (SessionTakenOver, ServerShuttingDown, AdministrativeAction).
	Kick(c Code)
}

// OpenRequest is what a connecting client asks of the core.
type OpenRequest struct {
	Info ClientInfo
	// Password is the client's credential for the authentication chain;
	// nil when it sent none.
	Password   []byte
	CleanStart bool
	// SessionExpiry is how long the session outlives the connection; 0 ends
	// it with the connection, NeverExpire keeps it forever (MQTT 3 clean
	// session 0). It is capped by Config.MaxSessionExpiry.
	SessionExpiry time.Duration
	Will          *Will
	// ReceiveMaximum is the client's inflight window (0: the server's).
	ReceiveMaximum int
	// KeepAlive is the keep alive in force, for the log and admin views;
	// the adapter enforces it.
	KeepAlive time.Duration
	// MaxQueued and MaxQueuedBytes replace the broker's queue limits for
	// this session (0: the broker's), above them too: a bridge's local
	// session queues as much as its outbox may hold.
	MaxQueued      int
	MaxQueuedBytes int64
	// RefuseWhenFull refuses a QoS 1/2 publish that would not fit in this
	// session's queue, with QuotaExceeded and delivered to nobody, instead
	// of dropping a message already acknowledged to its publisher: a
	// bridge whose outbox policy is refuse (and whose outbox is full,
	// so it stopped taking from this session).
	RefuseWhenFull bool
	// Retransmit says the adapter resends unsettled deliveries on its own
	// timer, as MQTT-SN and CoAP do over datagrams: the core stamps when
	// each delivery was handed out, for Redeliver.
	Retransmit bool
	Conn       Conn
}

// NeverExpire is a session expiry that never elapses.
const NeverExpire = time.Duration(1<<63 - 1)

// ErrClosed is returned by Open once the broker is closing.
var ErrClosed = &CodeError{Code: ServerShuttingDown, Msg: "broker closed"}

// Open authenticates a connecting client and attaches its connection to
// its session, creating, resuming or taking over the session registered
// under (namespace, client id); present reports a resumed session. The
// caller has settled the client id (AssignClientID). A failure is a Code
// (BadUsernameOrPassword, NotAuthorized) or a *CodeError that unwraps to
// one (ClientIDNotValid, ServerShuttingDown).
func (b *Broker) Open(ctx context.Context, req *OpenRequest) (c *Client, present bool, err error) {
	if ban, ok := b.bans.banned(&req.Info, time.Now()); ok {
		b.logClient(&req.Info, "connection refused: banned", slog.String("ban", string(ban.Kind)+" "+ban.Value),
			slog.String("reason", ban.Reason))
		b.refuse(&req.Info, RefusedBanned)
		return nil, false, Banned
	}
	if code := b.Authenticate(ctx, &req.Info, req.Password); code.Failed() {
		return nil, false, code
	}
	return b.open(req)
}

// open is Open after authentication.
func (b *Broker) open(req *OpenRequest) (c *Client, present bool, err error) {
	if req.Info.ClientID == "" {
		b.refuse(&req.Info, RefusedClientIDInvalid)
		return nil, false, &CodeError{Code: ClientIDNotValid, Msg: "empty client id"}
	}
	key := SessionKey{req.Info.Namespace, req.Info.ClientID}
	expiry := req.SessionExpiry
	if b.cfg.MaxSessionExpiry > 0 && expiry > b.cfg.MaxSessionExpiry {
		expiry = b.cfg.MaxSessionExpiry
	}

	b.regMu.Lock()
	if b.closed {
		b.regMu.Unlock()
		b.refuse(&req.Info, RefusedShuttingDown)
		return nil, false, ErrClosed
	}
	if _, banned := b.bans.banned(&req.Info, time.Now()); banned {
		// Again under regMu: a ban added since Open's check is stored
		// before AddBan sweeps the registry, so either this sees it or
		// the sweep sees this connection.
		b.regMu.Unlock()
		b.refuse(&req.Info, RefusedBanned)
		return nil, false, Banned
	}
	old := b.sessions.Get(key)
	var oldWill *Will
	var oldInfo ClientInfo
	var oldConn Conn
	var discard *session
	fresh := false // the old session ends here
	if old != nil {
		old.mu.Lock()
		if old.ended {
			// The session is ending (its expiry fired, or its connection
			// left with expiry 0) and is about to leave the registry: it
			// cannot be resumed.
			old.mu.Unlock()
			old = nil
		}
	}
	if old != nil {
		oldInfo = old.info
		oldConn = old.conn
		if oldConn != nil {
			// [MQTT-3.1.4-3] the existing connection is closed.
			old.detachLocked()
		}
		old.stopTimersLocked()
		// A session whose expiry is zero ends with its connection, also
		// when a takeover ends that connection: it cannot be resumed,
		// whatever the new connection asks [MQTT-3.1.2-6] [MQTT-3.2.2-2]
		// (MQTT 5 section 3.1.2.11.2).
		ends := req.CleanStart || oldConn != nil && old.expiry == 0
		will := old.takeWillLocked()
		if ends || will != nil && will.Delay == 0 {
			// The will is published now: its session ends, or its delay
			// is zero [MQTT-3.1.3-9].
			oldWill = will
		}
		if ends {
			fresh = true
			old.ended = true
			old.deleteLocked()
			discard = old
		}
		old.mu.Unlock()
	}
	s := old
	if s == nil || fresh {
		s = newSession(b, key)
		b.sessions.Put(key, s)
	} else {
		present = true
	}
	s.mu.Lock()
	s.info = req.Info
	s.keepAlive, s.connectedAt, s.leftAt = req.KeepAlive, time.Now(), time.Time{}
	s.expiry = expiry
	s.will = req.Will
	s.setWindowLocked(req.ReceiveMaximum)
	s.gen++
	s.conn = req.Conn
	s.online.Store(true)
	s.resend = len(s.inflight) > 0
	s.stamp = req.Retransmit
	s.maxQueued, s.maxQueuedBytes = req.MaxQueued, req.MaxQueuedBytes
	s.proto.Store(protoIndex(req.Info.Protocol))
	if s.refuse.Swap(req.RefuseWhenFull) != req.RefuseWhenFull {
		if req.RefuseWhenFull {
			b.refusers.Add(1)
		} else {
			b.refusers.Add(-1)
		}
	}
	if b.store != nil {
		if expiry > 0 {
			// A new persistent session, or a resumed one whose queue is
			// already in the store: the record is rewritten whole.
			s.persist = true
			s.putLocked()
		} else {
			// Resumed with expiry 0: the session now ends with this
			// connection and must not come back after a restart.
			s.deleteLocked()
		}
	}
	c = &Client{b: b, s: s, gen: s.gen, Info: req.Info}
	s.mu.Unlock()
	b.regMu.Unlock()

	if oldConn != nil {
		oldConn.Kick(SessionTakenOver)
		b.clientLeft(&oldInfo, "session taken over by a new connection")
	}
	if oldWill != nil {
		// The will is the old connection's: its mountpoint and identity,
		// not the new connection's.
		b.publishWill(oldInfo, oldWill)
	}
	if discard != nil {
		b.dropSubscriptions(discard)
		b.emitSessionEnded(key)
	}
	n := b.stats.ClientsConnected.Add(1)
	for {
		m := b.stats.ClientsMaximum.Load()
		if n <= m || b.stats.ClientsMaximum.CompareAndSwap(m, n) {
			break
		}
	}
	b.stats.Connects.Add(1)
	b.emitConnected(&req.Info, present)
	b.logClient(&req.Info, "client connected",
		slog.Int("version", int(req.Info.Version)),
		slog.Duration("keep_alive", req.KeepAlive),
		slog.Bool("clean_start", req.CleanStart),
		slog.Bool("session_present", present))
	if present {
		s.notify()
	}
	return c, present, nil
}

// clientLeft counts a connection gone, tells the listeners and logs why.
func (b *Broker) clientLeft(info *ClientInfo, reason string) {
	b.stats.ClientsConnected.Add(-1)
	b.emitDisconnected(info, reason)
	b.logClient(info, "client disconnected", slog.String("reason", reason))
}

// endSession removes s from the registry if it is still the registered
// session for its key, and drops its subscriptions.
func (b *Broker) endSession(s *session) {
	b.regMu.Lock()
	ended := b.sessions.Get(s.key) == s
	if ended {
		b.sessions.Delete(s.key)
	}
	b.regMu.Unlock()
	b.dropSubscriptions(s)
	if ended {
		b.emitSessionEnded(s.key)
	}
}

func (b *Broker) dropSubscriptions(s *session) {
	s.mu.Lock()
	subs := s.subs
	s.subs = nil
	s.queue.clear()
	s.queuedBytes = 0
	s.mu.Unlock()
	for _, sub := range subs {
		b.router.UnsubscribeKey(s, sub.opts.Key, sub.filter)
	}
}

// expire runs when an offline session's expiry elapses.
func (b *Broker) expire(s *session, gen uint64) {
	s.mu.Lock()
	if s.gen != gen || s.conn != nil || s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	will := s.takeWillLocked()
	s.deleteLocked()
	s.stopTimersLocked()
	info := s.info
	s.mu.Unlock()
	if will != nil {
		// [MQTT-3.1.2-8] the will is published when the session ends, even
		// before its delay.
		b.publishWill(info, will)
	}
	b.endSession(s)
}

// delayedWill runs when a will delay elapses with the session still
// disconnected.
func (b *Broker) delayedWill(s *session, gen uint64) {
	s.mu.Lock()
	if s.gen != gen || s.conn != nil {
		s.mu.Unlock()
		return
	}
	will := s.takeWillLocked()
	info := s.info
	s.mu.Unlock()
	if will != nil {
		b.publishWill(info, will)
	}
}

// publishWill publishes w as the client described by info, the connection
// that set the will.
func (b *Broker) publishWill(info ClientInfo, w *Will) {
	m := *w.Message
	m.Topic = info.Mountpoint + m.Topic
	m.Origin = Origin{Protocol: info.Protocol, Namespace: info.Namespace, ClientID: info.ClientID}
	if w.Expiry > 0 {
		m.Expiry = time.Now().Add(w.Expiry)
	}
	if isReservedTopic(m.Topic) || !b.Authorize(context.Background(), &info, ActionPublish, m.Topic) {
		b.stats.PublishDenied.Add(1)
		b.log.Info("will not authorized", "client", info.ClientID, "topic", m.Topic)
		return
	}
	b.stats.WillsPublished.Add(1)
	var d durable
	b.publish(&m, nil, &d)
	if err := b.settle(&d); err != nil {
		b.log.Error("will not stored", "client", info.ClientID, "err", err)
	}
}

// Publish publishes a message from a producer that is not a connected
// client: a bridge's inbound side, the HTTP API, MQTT-SN QoS -1. info
// names the producer to authorization and ACL templates and fills
// m.Origin; the message passes the checks a client's does (the mountpoint
// is added, the topic validated, broker-only topics refused, the publish
// authorized and counted). matched is the number of sessions it was
// queued for. A nil error means it was accepted and, at QoS 1 or 2, is
// durable in the store for every persistent session it was queued for:
// the producer may acknowledge it. A refusal is a Code (NotAuthorized,
// TopicNameInvalid, QuotaExceeded); a store that failed to make it durable
// is UnspecifiedError.
func (b *Broker) Publish(ctx context.Context, info *ClientInfo, m *Message) (matched int, err error) {
	d := durable{wake: wakeupsFrom(ctx)}
	code, n := b.checkedPublish(ctx, info, nil, m, &d)
	if code.Failed() {
		return 0, code
	}
	if err := b.settle(&d); err != nil {
		return 0, &CodeError{Code: UnspecifiedError, Msg: fmt.Sprintf("message on %q not stored: %v", m.Topic, err)}
	}
	return n, nil
}

// checkedPublish runs a client's publish checks on m and routes it; from
// is the publishing session, nil for a server-side producer. m.Topic is
// the topic as the producer sent it; the mountpoint is added here.
func (b *Broker) checkedPublish(ctx context.Context, info *ClientInfo, from *session, m *Message, d *durable) (Code, int) {
	if info.Mountpoint != "" {
		m.Topic = info.Mountpoint + m.Topic
	}
	if isReservedTopic(m.Topic) {
		b.stats.PublishDenied.Add(1)
		b.logDenied(info, ActionPublish, m.Topic)
		return NotAuthorized, 0
	}
	if err := topic.ValidateName(m.Topic, b.cfg.MaxTopicLevels); err != nil {
		if b.debug() {
			b.log.Debug("publish refused: invalid topic", "client", info.ClientID, "topic", m.Topic, "err", err)
		}
		return TopicNameInvalid, 0
	}
	if m.Retain && b.cfg.RetainDisabled {
		if b.debug() {
			b.log.Debug("publish refused: retained messages are disabled", "client", info.ClientID, "topic", m.Topic)
		}
		return QuotaExceeded, 0
	}
	if !b.Authorize(ctx, info, ActionPublish, m.Topic) {
		b.stats.PublishDenied.Add(1)
		return NotAuthorized, 0
	}
	m.Origin = Origin{Protocol: info.Protocol, Namespace: info.Namespace, ClientID: info.ClientID}
	if from != nil {
		b.msgIn.add(from.proto.Load(), m.QoS, 1, int64(len(m.Payload)))
	} else {
		b.msgIn.add(protoIndex(info.Protocol), m.QoS, 1, int64(len(m.Payload)))
	}
	n := b.publish(m, from, d)
	if n < 0 {
		b.stats.PublishRefused.Add(1)
		if b.debug() {
			b.log.Debug("publish refused: a subscriber that refuses when full has no room", "client", info.ClientID, "topic", m.Topic)
		}
		return QuotaExceeded, 0
	}
	if b.debug() {
		b.log.Debug("message routed", "client", info.ClientID, "topic", m.Topic,
			"qos", m.QoS, "retain", m.Retain, "bytes", len(m.Payload), "subscribers", n)
	}
	if n == 0 {
		return NoMatchingSubscribers, 0
	}
	return Success, n
}

// inject routes a message with none of the publish checks: the broker's
// own ($SYS, wills go through publishWill) and tests.
func (b *Broker) inject(m *Message) int {
	var d durable
	n := b.publish(m, nil, &d)
	if err := b.settle(&d); err != nil {
		b.log.Error("published message not stored", "topic", m.Topic, "err", err)
	}
	return n
}

// publish stores or clears a retained message and routes m to every
// matching session. It returns the number of sessions it was queued for.
// Store writes are unsynced and recorded in d; the caller settles d before
// acknowledging the message.
//
// It returns -1, having changed nothing, when a RefuseWhenFull session
// has no room for a QoS 1/2 message (OpenRequest.RefuseWhenFull).
func (b *Broker) publish(m *Message, from *session, d *durable) int {
	mt := b.matches.Get().(*topic.Matches[*session])
	pubID := ""
	if from != nil {
		pubID = from.key.ClientID
	}
	b.router.MatchFrom(m.Topic, from, from != nil, pubID, mt)
	if m.QoS > 0 && b.refusers.Load() > 0 {
		for i := range mt.Targets {
			if t := &mt.Targets[i]; t.QoS > 0 && t.Sub.refuse.Load() && !t.Sub.room(m) {
				b.matches.Put(mt)
				return -1
			}
		}
	}
	if m.Retain && !b.cfg.RetainDisabled {
		b.retain(m, d)
	}
	n := 0
	for i := range mt.Targets {
		t := &mt.Targets[i]
		qos := m.QoS
		if t.QoS < qos {
			qos = t.QoS
		}
		if t.Sub.enqueue(m, qos, m.Retain && t.RetainAsPublished, t.SubIDs, t.Key, d) {
			n++
		}
	}
	b.matches.Put(mt)
	return n
}

// retain sets, replaces or (empty payload) deletes the retained message of
// m's topic [MQTT-3.3.1-5, MQTT-3.3.1-6]. With a store the change is
// written too, and made durable before a QoS 1/2 publisher's ack.
func (b *Broker) retain(m *Message, d *durable) {
	if len(m.Payload) > 0 && len(m.Payload) > b.cfg.RetainedMaxPayload {
		b.stats.MessagesDropped.Add(1)
		return
	}
	// $SYS values are republished every interval and mean nothing after a
	// restart: they are not written.
	persist := b.store != nil && !strings.HasPrefix(m.Topic, "$SYS/")
	if persist {
		b.retainMu.Lock()
		defer b.retainMu.Unlock()
	}
	if len(m.Payload) == 0 {
		if b.retained.Delete(m.Topic) && persist {
			b.storeRetained(m.Topic, nil, m.QoS, d)
		}
		return
	}
	if _, ok := b.retained.Get(m.Topic); !ok && b.retained.Len() >= b.cfg.RetainedMax {
		b.stats.MessagesDropped.Add(1)
		return
	}
	b.retained.Set(m.Topic, m)
	if persist {
		b.storeRetained(m.Topic, m, m.QoS, d)
	}
}

// storeRetained writes (m) or deletes (nil) the retained message of t; a
// change made by a QoS 1/2 publish is synced before its ack.
func (b *Broker) storeRetained(t string, m *Message, qos byte, d *durable) {
	var err error
	if m == nil {
		err = b.store.Retained().Delete(t)
	} else {
		err = b.store.Retained().Set(d.message(m), false)
	}
	if err != nil {
		b.log.Error("store write failed", "op", "retained", "topic", t, "err", err)
		b.storeFailed(err)
		d.fail(err)
		return
	}
	if qos > 0 {
		d.dirty = true
	}
}

// isReservedTopic reports topics clients may not publish to: $SYS belongs
// to the broker, and names shaped like shared subscriptions would confuse
// every protocol that maps into the router.
func isReservedTopic(t string) bool {
	return strings.HasPrefix(t, "$SYS/") || t == "$SYS" ||
		strings.HasPrefix(t, "$share/") || strings.HasPrefix(t, "$queue/")
}
