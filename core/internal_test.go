package core

import (
	"context"
	"testing"
)

// TestOpenInternalSkipsAuthentication: with anonymous access off and no
// source that knows it, Open refuses a client and OpenInternal admits it.
func TestOpenInternalSkipsAuthentication(t *testing.T) {
	b := NewBroker(Config{})
	b.Start()
	t.Cleanup(b.Close)
	req := &OpenRequest{Info: ClientInfo{Protocol: "bridge", Namespace: "bridge", ClientID: "up"}, Conn: nullConn{}}
	if _, _, err := b.Open(context.Background(), req); err == nil {
		t.Fatal("Open admitted an anonymous client with anonymous access off")
	}
	c, _, err := b.OpenInternal(req)
	if err != nil {
		t.Fatal(err)
	}
	c.Disconnect(DisconnectNormal, "done")
}

// TestPublishSysRetainsUnderTheNode: PublishSys reaches $SYS, where a
// producer may not publish, as a retained message under the node's name.
func TestPublishSysRetainsUnderTheNode(t *testing.T) {
	b := newBroker(t, Config{NodeName: "edge"})
	info := ClientInfo{Protocol: "test", ClientID: "p"}
	if _, err := b.Publish(context.Background(), &info, NewMessage("$SYS/brokers/edge/x", []byte("no"))); err == nil {
		t.Fatal("a producer published under $SYS")
	}
	b.PublishSys("bridges/up/status", []byte(`{"connected":true}`))
	m, ok := b.RetainedMessage("$SYS/brokers/edge/bridges/up/status")
	if !ok || string(m.Payload) != `{"connected":true}` || !m.Retain {
		t.Fatalf("retained %+v %v", m, ok)
	}
}
