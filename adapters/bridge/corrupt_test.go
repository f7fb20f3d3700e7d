package bridge

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	engine "github.com/cockroachdb/pebble/v2"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/core/store/pebble"
)

// damageOutbox opens the closed store in dir with pebble itself and
// damages the outbox records (the only values holding the remote topic
// up/seq) at the given positions: garbled ones are overwritten with bytes
// no record starts with, truncated ones lose their second half, as the
// last record written before a power cut may.
func damageOutbox(t *testing.T, dir string, garbled, truncated []int) {
	t.Helper()
	db, err := engine.Open(dir, &engine.Options{FormatMajorVersion: engine.FormatNewest, Logger: quietLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys, vals [][]byte
	for it.First(); it.Valid(); it.Next() {
		if bytes.Contains(it.Value(), []byte("up/seq")) {
			keys = append(keys, bytes.Clone(it.Key()))
			vals = append(vals, bytes.Clone(it.Value()))
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	for _, i := range garbled {
		if err := db.Set(keys[i], bytes.Repeat([]byte{0xff}, len(vals[i])), engine.Sync); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range truncated {
		if err := db.Set(keys[i], vals[i][:len(vals[i])/2], engine.Sync); err != nil {
			t.Fatal(err)
		}
	}
}

// quietLog keeps pebble's recovery chatter out of the test's output.
type quietLog struct{ t *testing.T }

func (quietLog) Infof(string, ...any)           {}
func (quietLog) Errorf(string, ...any)          {}
func (l quietLog) Fatalf(f string, args ...any) { l.t.Fatalf(f, args...) }

// TestCorruptOutboxRecordsAreQuarantined damages outbox records on disk
// between two runs, one garbled and the last one truncated as by a power
// cut (checklist #3): the gateway's bridges still start, the unreadable
// records are taken out of the outbox and counted, and every other message
// is forwarded, in order.
func TestCorruptOutboxRecordsAreQuarantined(t *testing.T) {
	dir := t.TempDir()
	up := newNode(t, "cloud", nil)
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	cfg := testConfig("c", up.addr, "5", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 1})
	const n = 10

	st, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local := newNode(t, "edge", st)
	set := New([]Config{cfg}, "edge", st, local.Broker, nil)
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, local.Broker, "sensor", "seq", 0, n, 1)
	waitFor(t, 10*time.Second, "the messages in the outbox", func() bool { return set.bridge("c").Status().Queued == n })
	set.Stop(context.Background())
	local.Broker.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	damageOutbox(t, dir, []int{3}, []int{n - 1})

	st, err = pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	local = newNode(t, "edge", st)
	set = startBridges(t, local.Broker, st, cfg)
	br := set.bridge("c")
	up.up()
	waitFor(t, 20*time.Second, "the readable messages upstream", func() bool { return len(got.messages()) >= n-2 && br.Status().Queued == 0 })
	var vs []int
	for _, m := range got.messages() {
		v, _ := strconv.Atoi(string(m.Payload))
		if v == 3 || v == n-1 {
			t.Fatalf("message %d was damaged on disk, yet it arrived", v)
		}
		if v > 3 {
			v-- // numbered as if 3 had never been
		}
		vs = append(vs, v)
	}
	checkOrder(t, vs, n-2)
	if st := br.Status(); st.Quarantined != 2 || st.Dropped != 0 {
		t.Fatalf("status %+v: want 2 quarantined, none dropped", st)
	}
}

// TestCorruptDeliveryRecordDoesNotStopTheBridge damages the QoS 2
// delivery record of an outbox entry on disk (checklist #3): the bridge
// still starts, clears the records, and sends the entry again as new.
func TestCorruptDeliveryRecordDoesNotStopTheBridge(t *testing.T) {
	dir := t.TempDir()
	st, err := pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := toStore(core.NewMessage("seq", []byte("0")), "up/seq", 2, false)
	seq, err := st.Outbox().Append("c", m, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Outbox().SetDelivery("c", store.OutboxDelivery{Seq: seq, PacketID: 7, State: store.Published}, true); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The delivery record is the only key of its kind ('d').
	db, err := engine.Open(dir, &engine.Options{FormatMajorVersion: engine.FormatNewest, Logger: quietLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	it, err := db.NewIter(&engine.IterOptions{LowerBound: []byte{'d'}, UpperBound: []byte{'e'}})
	if err != nil {
		t.Fatal(err)
	}
	var key []byte
	for it.First(); it.Valid(); it.Next() {
		key = bytes.Clone(it.Key())
	}
	it.Close()
	if key == nil {
		t.Fatal("no delivery record on disk")
	}
	if err := db.Set(key, []byte{0xff, 0xff}, engine.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err = pebble.Open(dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Outbox().Deliveries("c"); err == nil {
		t.Fatal("the damaged record reads: the test damaged nothing")
	}
	up := newNode(t, "cloud", nil)
	up.up()
	got := newSink(t, up.Broker, "cloud-app", "up/#")
	local := newNode(t, "edge", st)
	startBridges(t, local.Broker, st, testConfig("c", up.addr, "3.1.1", Rule{Direction: "out", Local: "seq", Remote: "up/seq", QoS: 2}))
	waitFor(t, 10*time.Second, "the entry upstream", func() bool { return len(got.messages()) >= 1 })
	if ds, err := st.Outbox().Deliveries("c"); err != nil {
		t.Fatalf("delivery records still unreadable: %v (%v)", err, ds)
	}
}
