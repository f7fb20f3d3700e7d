package httpapi

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mqgate/mqgate/core"
)

// Drops counts the messages sessions lost, by reason, from the core's
// Dropped event, which fires only when a message is dropped.
type Drops struct {
	n [core.LastDropReason + 1]atomic.Int64
}

// Events returns the event functions to pass to core.Broker.Listen.
func (d *Drops) Events() core.Events {
	return core.Events{Dropped: func(_, _ string, _ *core.Message, r core.DropReason) {
		if int(r) < len(d.n) {
			d.n[r].Add(1)
		}
	}}
}

// Metrics returns the /metrics handler: the broker's counters, read when
// Prometheus scrapes, so that collecting costs the message path nothing,
// and the Go runtime and process collectors. storeBytes, when not nil,
// gives the size of the durable store on disk; bridges, when not nil, the
// bridges' state.
//
// storeSync, when not nil, gives the histogram of the store's device
// syncs: cumulative counts per bound of SyncBounds, the sum in seconds and
// the count.
func Metrics(admin core.Admin, conns *Conns, drops *Drops, storeBytes func() int64, bridges func() []BridgeStatus,
	storeSync *StoreSync) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{admin: admin, conns: conns, drops: drops, bridges: bridges, sync: storeSync},
	)
	if storeBytes != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mqgate_store_size_bytes", Help: "Bytes the durable store takes on disk.",
		}, func() float64 { return float64(storeBytes()) }))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

var (
	descConnections   = prometheus.NewDesc("mqgate_connections", "Open client connections.", []string{"protocol", "listener"}, nil)
	descConnects      = prometheus.NewDesc("mqgate_connects_total", "Client connections accepted.", []string{"protocol", "listener"}, nil)
	descDisconnects   = prometheus.NewDesc("mqgate_disconnects_total", "Client connections closed.", []string{"protocol", "listener"}, nil)
	descDiscReasons   = prometheus.NewDesc("mqgate_disconnects_by_reason_total", "Client connections closed, by protocol and kind of reason (client, timeout, lost, protocol_error, takeover, admin, shutdown, other).", []string{"protocol", "reason"}, nil)
	descConnMax       = prometheus.NewDesc("mqgate_connections_maximum", "Most connections open at once since start.", nil, nil)
	descMsgsIn        = prometheus.NewDesc("mqgate_messages_received_total", "Messages published into mqgate, by clients and producers.", nil, nil)
	descMsgsOut       = prometheus.NewDesc("mqgate_messages_sent_total", "Messages delivered to clients.", nil, nil)
	descBytesIn       = prometheus.NewDesc("mqgate_bytes_received_total", "Bytes received from clients.", nil, nil)
	descBytesOut      = prometheus.NewDesc("mqgate_bytes_sent_total", "Bytes sent to clients.", nil, nil)
	descDropped       = prometheus.NewDesc("mqgate_messages_dropped_total", "Messages a session lost, by reason.", []string{"reason"}, nil)
	descDroppedAll    = prometheus.NewDesc("mqgate_messages_dropped_all_total", "Messages dropped, every reason together (the $SYS figure).", nil, nil)
	descDenied        = prometheus.NewDesc("mqgate_authorization_denied_total", "Publishes and subscriptions refused by authorization.", []string{"action"}, nil)
	descSessions      = prometheus.NewDesc("mqgate_sessions", "Sessions, connected or not.", nil, nil)
	descSubscriptions = prometheus.NewDesc("mqgate_subscriptions", "Subscriptions in the router.", nil, nil)
	descRetained      = prometheus.NewDesc("mqgate_retained_messages", "Retained messages.", nil, nil)
	descWills         = prometheus.NewDesc("mqgate_wills_published_total", "Will messages published.", nil, nil)
	descUptime        = prometheus.NewDesc("mqgate_uptime_seconds", "Seconds since the broker started.", nil, nil)
	descQueueDepth    = prometheus.NewDesc("mqgate_session_queue_messages", "Sessions by the messages waiting in their queue.", nil, nil)
	descBridgeUp      = prometheus.NewDesc("mqgate_bridge_connected", "1 while the bridge is connected to its upstream.", []string{"bridge"}, nil)
	descBridgeQueued  = prometheus.NewDesc("mqgate_bridge_queued_messages", "Messages in the bridge's outbox.", []string{"bridge"}, nil)
	descBridgeBytes   = prometheus.NewDesc("mqgate_bridge_queued_bytes", "Bytes in the bridge's outbox.", []string{"bridge"}, nil)
	descBridgeAge     = prometheus.NewDesc("mqgate_bridge_oldest_age_seconds", "Age of the oldest message in the bridge's outbox.", []string{"bridge"}, nil)
	descBridgeDropped = prometheus.NewDesc("mqgate_bridge_dropped_total", "Messages the bridge dropped.", []string{"bridge"}, nil)
	descBridgeRecon   = prometheus.NewDesc("mqgate_bridge_reconnects_total", "Times the bridge reconnected to its upstream.", []string{"bridge"}, nil)
	descInflight      = prometheus.NewDesc("mqgate_session_inflight_messages", "Sessions by their messages delivered and not yet acknowledged.", nil, nil)
)

// depthBuckets are the upper bounds of the queue and inflight histograms:
// one series per bucket, never one per session.
var depthBuckets = []float64{0, 1, 10, 100, 1000, 10000}

// collector reads the core's counters at scrape time.
type collector struct {
	admin   core.Admin
	conns   *Conns
	drops   *Drops
	bridges func() []BridgeStatus
	sync    *StoreSync
}

// StoreSync reads the store's sync-latency histogram at scrape time.
type StoreSync struct {
	Bounds []float64 // upper bounds in seconds
	Read   func() (cumulative []uint64, sum float64, count uint64)
}

var descStoreSync = prometheus.NewDesc("mqgate_store_sync_seconds", "How long the durable store took to sync its log to the device.", nil, nil)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descConnects, descDisconnects, descConnMax, descMsgsIn, descMsgsOut,
		descDiscReasons, descStoreSync, descBytesIn, descBytesOut, descDropped, descDroppedAll, descDenied, descSessions, descSubscriptions, descRetained, descWills, descUptime,
		descQueueDepth, descInflight, descBridgeUp, descBridgeQueued, descBridgeBytes, descBridgeAge, descBridgeDropped, descBridgeRecon} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if c.conns != nil {
		for k, n := range c.conns.All() {
			gauge(descConnections, float64(n.Current), k.Protocol, k.Listener)
			counter(descConnects, float64(n.Connects), k.Protocol, k.Listener)
			counter(descDisconnects, float64(n.Disconnects), k.Protocol, k.Listener)
		}
		for k, n := range c.conns.Reasons() {
			counter(descDiscReasons, float64(n), k.Protocol, k.Reason)
		}
	}
	if c.drops != nil {
		for r := core.DropQueueFull; r <= core.LastDropReason; r++ {
			counter(descDropped, float64(c.drops.n[r].Load()), r.String())
		}
	}
	s := c.admin.Snapshot()
	gauge(descConnMax, float64(s.ClientsMaximum))
	counter(descMsgsIn, float64(s.MessagesReceived))
	counter(descMsgsOut, float64(s.MessagesSent))
	counter(descBytesIn, float64(s.BytesReceived))
	counter(descBytesOut, float64(s.BytesSent))
	counter(descDroppedAll, float64(s.MessagesDropped))
	counter(descDenied, float64(s.PublishDenied), "publish")
	counter(descDenied, float64(s.SubscribeDenied), "subscribe")
	gauge(descSessions, float64(s.Sessions))
	gauge(descSubscriptions, float64(s.Subscriptions))
	gauge(descRetained, float64(s.Retained))
	counter(descWills, float64(s.WillsPublished))
	gauge(descUptime, s.Uptime.Seconds())
	c.collectDepths(ch)
	if c.sync != nil {
		cum, sum, n := c.sync.Read()
		buckets := make(map[float64]uint64, len(cum))
		for i, b := range c.sync.Bounds {
			if i < len(cum) {
				buckets[b] = cum[i]
			}
		}
		ch <- prometheus.MustNewConstHistogram(descStoreSync, n, sum, buckets)
	}
	if c.bridges != nil {
		for _, b := range c.bridges() {
			up := 0.0
			if b.Status == "connected" {
				up = 1
			}
			gauge(descBridgeUp, up, b.Name)
			gauge(descBridgeQueued, float64(b.Queued), b.Name)
			gauge(descBridgeBytes, float64(b.QueuedBytes), b.Name)
			gauge(descBridgeAge, b.OldestSeconds, b.Name)
			counter(descBridgeDropped, float64(b.Dropped), b.Name)
			counter(descBridgeRecon, float64(b.Reconnects), b.Name)
		}
	}
}

// collectDepths walks the sessions a page at a time for the queue and
// inflight histograms: the cost is the scrape's, proportional to the
// sessions, and nothing is kept between scrapes.
func (c *collector) collectDepths(ch chan<- prometheus.Metric) {
	queued, inflight := newDepths(), newDepths()
	for cursor := ""; ; {
		p := c.admin.Sessions(core.SessionQuery{Cursor: cursor, Limit: 1000})
		for i := range p.Sessions {
			queued.add(p.Sessions[i].Queued)
			inflight.add(p.Sessions[i].Inflight)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	ch <- prometheus.MustNewConstHistogram(descQueueDepth, queued.count, queued.sum, queued.buckets)
	ch <- prometheus.MustNewConstHistogram(descInflight, inflight.count, inflight.sum, inflight.buckets)
}

type depths struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64 // cumulative, as Prometheus wants
}

func newDepths() *depths {
	d := &depths{buckets: make(map[float64]uint64, len(depthBuckets))}
	for _, b := range depthBuckets {
		d.buckets[b] = 0
	}
	return d
}

func (d *depths) add(n int) {
	d.count++
	d.sum += float64(n)
	for _, b := range depthBuckets {
		if float64(n) <= b {
			d.buckets[b]++
		}
	}
}
