package mqtt

import "testing"

func TestLingeringReaderKeepsOnlyAPooledBuffer(t *testing.T) {
	c := &conn{keepBuf: true}
	c.rbuf = getReadBuf()[:10]
	c.consume(10)
	if c.rbuf == nil || len(c.rbuf) != 0 {
		t.Fatalf("a lingering reader dropped its pooled buffer: %v", c.rbuf == nil)
	}
	c.rbuf = make([]byte, 100, 3*readChunk) // grown for a large packet
	c.consume(100)
	if c.rbuf != nil {
		t.Fatalf("a lingering reader kept a grown buffer of %d bytes", cap(c.rbuf))
	}
	c.keepBuf = false
	c.rbuf = getReadBuf()[:10]
	c.consume(10)
	if c.rbuf != nil {
		t.Fatal("a reader that does not linger kept its buffer")
	}
}
