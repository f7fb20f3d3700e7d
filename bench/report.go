package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"
)

// Summary is the result of a run; with -json it is printed as one JSON line
// of type "summary". Latencies are in microseconds. Pointer fields are
// omitted when they cannot be computed.
type Summary struct {
	Type          string   `json:"type"`
	Scenario      string   `json:"scenario"`
	PubProto      string   `json:"pub_proto,omitempty"` // mqtt or mqttsn
	SubProto      string   `json:"sub_proto,omitempty"`
	IdleProto     string   `json:"idle_proto,omitempty"`
	Pubs          int      `json:"pubs"`
	Subs          int      `json:"subs"`
	Idle          int      `json:"idle"`
	QoS           int      `json:"qos"`
	Version       int      `json:"version"`
	Size          int      `json:"size"`
	Seconds       float64  `json:"seconds"`
	Connected     int64    `json:"connected"`
	ConnFailed    int64    `json:"conn_failed"`
	ConnRate      float64  `json:"conn_rate"`
	Sent          int64    `json:"sent"`
	Acked         int64    `json:"acked"`
	Received      int64    `json:"received"`
	Expected      *int64   `json:"expected,omitempty"`
	Lost          *int64   `json:"lost,omitempty"`
	SendRate      float64  `json:"send_rate"`
	RecvRate      float64  `json:"recv_rate"`
	Samples       uint64   `json:"latency_samples"`
	P50           float64  `json:"p50_us"`
	P99           float64  `json:"p99_us"`
	P999          float64  `json:"p999_us"`
	Max           float64  `json:"max_us"`
	Errors        int64    `json:"errors"`
	Retransmits   int64    `json:"retransmits,omitempty"`
	BrokerCPU     float64  `json:"broker_cpu_s,omitempty"`
	CPUPerMillion *float64 `json:"broker_cpu_s_per_million,omitempty"`
	CPUPerConn    *float64 `json:"broker_cpu_us_per_conn,omitempty"` // connections only: connect to disconnect
	BrokerRSS     int64    `json:"broker_rss_bytes,omitempty"`
	RSSPerConn    *float64 `json:"rss_per_conn_bytes,omitempty"`
	BenchCPU      float64  `json:"bench_cpu_pct"`
}

func (s *Summary) setLatency(h *HistSnapshot) {
	s.Samples = h.Total
	s.P50 = us(h.Percentile(50))
	s.P99 = us(h.Percentile(99))
	s.P999 = us(h.Percentile(99.9))
	s.Max = us(h.Max)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// interval is one per-second report line.
type interval struct {
	Type     string  `json:"type"`
	T        float64 `json:"t"`
	Conns    int64   `json:"conns"`
	ConnRate float64 `json:"conn_rate"`
	SendRate float64 `json:"send_rate"`
	RecvRate float64 `json:"recv_rate"`
	P50      float64 `json:"p50_us"`
	P99      float64 `json:"p99_us"`
	P999     float64 `json:"p999_us"`
	Max      float64 `json:"max_us"`
	Errors   int64   `json:"errors"`
}

// reporter prints per-second lines and the summary, as an aligned table or
// as JSON lines.
type reporter struct {
	mu    sync.Mutex
	w     io.Writer // results
	ew    io.Writer // errors
	json  bool
	quiet bool // no per-second lines
}

const intervalFormat = "%7s %7s %8s %10s %10s %9s %9s %9s %9s %7s\n"

func (p *reporter) errorf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.ew, "bench: "+format+"\n", args...)
}

// loop prints one line a second until stop is closed.
func (p *reporter) loop(r *run, stop <-chan struct{}) {
	if p.quiet {
		<-stop
		return
	}
	if !p.json {
		p.mu.Lock()
		fmt.Fprintf(p.w, intervalFormat, "time", "conns", "conn/s", "sent/s", "recv/s", "p50", "p99", "p99.9", "max", "errors")
		p.mu.Unlock()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	last := start
	var lastConn, lastSent, lastRecv int64
	lastHist := r.st.latency.Snapshot()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		nowT := time.Now()
		dt := nowT.Sub(last).Seconds()
		conn, sent, recv := r.st.connected.Load(), r.st.sent.Load(), r.st.received.Load()
		h := r.st.latency.Snapshot()
		d := h.Sub(lastHist)
		iv := interval{
			Type: "interval", T: nowT.Sub(start).Seconds(), Conns: conn,
			ConnRate: float64(conn-lastConn) / dt,
			SendRate: float64(sent-lastSent) / dt, RecvRate: float64(recv-lastRecv) / dt,
			P50: us(d.Percentile(50)), P99: us(d.Percentile(99)), P999: us(d.Percentile(99.9)), Max: us(d.Max),
			Errors: r.st.errors.Load(),
		}
		last, lastConn, lastSent, lastRecv, lastHist = nowT, conn, sent, recv, h
		p.mu.Lock()
		if p.json {
			b, _ := json.Marshal(iv)
			fmt.Fprintf(p.w, "%s\n", b)
		} else {
			fmt.Fprintf(p.w, intervalFormat, fmt.Sprintf("%.0fs", iv.T), num(float64(iv.Conns)), num(iv.ConnRate),
				num(iv.SendRate), num(iv.RecvRate), usStr(iv.P50), usStr(iv.P99), usStr(iv.P999), usStr(iv.Max),
				fmt.Sprint(iv.Errors))
		}
		p.mu.Unlock()
	}
}

// summary prints the final result.
func (p *reporter) summary(s *Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(s)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	fmt.Fprintf(tw, "summary: %s\n", s.Scenario)
	row("clients", fmt.Sprintf("%d publishers%s, %d subscribers%s, %d idle%s; QoS %d, %d B payload",
		s.Pubs, s.protoName(s.PubProto), s.Subs, s.protoName(s.SubProto), s.Idle, s.protoName(s.IdleProto), s.QoS, s.Size))
	row("connected", fmt.Sprintf("%d (%d failed) at %s conn/s", s.Connected, s.ConnFailed, num(s.ConnRate)))
	row("sent", fmt.Sprintf("%d in %.1fs, %s msg/s (%d acknowledged)", s.Sent, s.Seconds, num(s.SendRate), s.Acked))
	row("delivered", fmt.Sprintf("%d, %s msg/s", s.Received, num(s.RecvRate)))
	if s.Expected != nil {
		row("lost", fmt.Sprintf("%d of %d expected", *s.Lost, *s.Expected))
	}
	if s.Samples > 0 {
		row("latency", fmt.Sprintf("p50 %s  p99 %s  p99.9 %s  max %s  (%d samples)",
			usStr(s.P50), usStr(s.P99), usStr(s.P999), usStr(s.Max), s.Samples))
	}
	row("errors", fmt.Sprint(s.Errors))
	if s.Retransmits > 0 {
		row("retransmits", fmt.Sprint(s.Retransmits))
	}
	if s.CPUPerMillion != nil {
		row("broker cpu", fmt.Sprintf("%.2fs, %.2f s per million delivered", s.BrokerCPU, *s.CPUPerMillion))
	} else if s.BrokerCPU > 0 {
		row("broker cpu", fmt.Sprintf("%.2fs", s.BrokerCPU))
	}
	if s.CPUPerConn != nil {
		row("broker cpu/conn", fmt.Sprintf("%.1fus per connection, connect to disconnect", *s.CPUPerConn))
	}
	if s.RSSPerConn != nil {
		row("broker rss", fmt.Sprintf("%s, %s per connection", bytesStr(float64(s.BrokerRSS)), bytesStr(*s.RSSPerConn)))
	}
	row("bench cpu", fmt.Sprintf("%.0f%% of one core", s.BenchCPU))
	tw.Flush()
}

// protoName labels a role's protocol in the summary table.
func (s *Summary) protoName(p string) string {
	switch p {
	case "":
		return ""
	case protoMQTTSN:
		return " (MQTT-SN)"
	case protoCoAP:
		return " (CoAP)"
	case protoEcho:
		return " (raw TCP to an echo server)"
	}
	return fmt.Sprintf(" (MQTT v%d)", s.Version)
}

// num formats a count or rate compactly: 950, 12.3k, 1.25M.
func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// usStr formats microseconds: 85us, 1.25ms, 2.1s.
func usStr(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 1000:
		return fmt.Sprintf("%.0fus", v)
	case v < 1e6:
		return fmt.Sprintf("%.2fms", v/1e3)
	default:
		return fmt.Sprintf("%.2fs", v/1e6)
	}
}

func bytesStr(v float64) string {
	switch {
	case v >= 1<<20 || v <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10 || v <= -(1<<10):
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}
