package core

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store/pebble"
	"github.com/mqgate/mqgate/core/topic"
)

// BenchmarkPersistentQoS1 is persistent QoS 1 end to end through the core
// on the Pebble store with sync always: publishers with persistent
// sessions publish to one persistent subscriber that pulls and acks
// concurrently. Each Publish returns after its message is synced, as
// before a PUBACK. msgs/s is the rate; wchar-B/msg the bytes the process
// passed to write(2) per message (write-ahead log, flushes, compactions).
// Run it on the disk whose numbers you want: b.TempDir is under $TMPDIR.
func BenchmarkPersistentQoS1(b *testing.B) {
	for _, pubs := range []int{1, 16} {
		b.Run(fmt.Sprintf("publishers=%d", pubs), func(b *testing.B) {
			st, err := pebble.Open(b.TempDir(), pebble.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			br := NewBroker(Config{Store: st, AllowAnonymous: true, MaxQueued: 1 << 20, MaxQueuedBytes: 1 << 30})
			defer br.Close()
			sub, _, err := br.open(&OpenRequest{Info: ClientInfo{ClientID: "sub"}, SessionExpiry: time.Hour, Conn: nullConn{}})
			if err != nil {
				b.Fatal(err)
			}
			sub.Subscribe(context.Background(), []SubscribeRequest{{Filter: "sensors/#", Options: topic.Options{QoS: 1}}}, nil)
			clients := make([]*Client, pubs)
			for i := range clients {
				clients[i], _, _ = br.open(&OpenRequest{Info: ClientInfo{ClientID: "pub" + strconv.Itoa(i)}, SessionExpiry: time.Hour, Conn: nullConn{}})
			}
			payload := []byte(`{"t":21.5,"rh":48,"ts":1767225600}`)
			done := make(chan struct{})
			var consumer sync.WaitGroup
			consumer.Add(1)
			go func() {
				defer consumer.Done()
				var ds []Delivery
				for {
					ds = sub.Pull(ds[:0], 256)
					for _, d := range ds {
						sub.Settle(d.Tag, Accepted)
					}
					if len(ds) == 0 {
						select {
						case <-done:
							return
						case <-time.After(100 * time.Microsecond):
						}
					}
				}
			}()
			w0 := wchar()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for p, c := range clients {
				n := b.N / pubs
				if p < b.N%pubs {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						m := &Message{Topic: "sensors/" + c.Info.ClientID, QoS: 1, Payload: payload}
						if code := c.Publish(context.Background(), m); code.Failed() {
							b.Errorf("publish: %v", code)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(done)
			consumer.Wait()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			if w := wchar(); w0 >= 0 && w >= 0 {
				b.ReportMetric(float64(w-w0)/float64(b.N), "wchar-B/msg")
			}
		})
	}
}

// wchar returns the bytes this process passed to write(2) so far, from
// /proc/self/io, or -1 where there is no such file.
func wchar() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}
