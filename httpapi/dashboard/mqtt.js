// A minimal MQTT 3.1.1 client over WebSocket for the dashboard's live
// view: connect, subscribe at QoS 0, receive PUBLISH, keep alive. No
// library, no CDN: the dashboard is served by the binary.
"use strict";

class MiniMQTT {
  constructor(url, { clientId, username, password, onMessage, onState }) {
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.buf = new Uint8Array(0);
    this.nextId = 1;
    this.ws = new WebSocket(url, "mqtt");
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => this.send(this.connectPacket(clientId, username, password));
    this.ws.onmessage = (ev) => this.receive(new Uint8Array(ev.data));
    this.ws.onclose = () => { clearInterval(this.ping); this.onState("closed"); };
    this.ws.onerror = () => this.onState("error");
  }

  static str(s) {
    const b = new TextEncoder().encode(s);
    return [b.length >> 8, b.length & 0xff, ...b];
  }

  static packet(first, body) {
    const len = [];
    let n = body.length;
    do {
      let d = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) d |= 0x80;
      len.push(d);
    } while (n > 0);
    return new Uint8Array([first, ...len, ...body]);
  }

  connectPacket(clientId, username, password) {
    let flags = 0x02; // clean session
    const payload = [...MiniMQTT.str(clientId)];
    if (username) { flags |= 0x80; payload.push(...MiniMQTT.str(username)); }
    if (username && password) { flags |= 0x40; payload.push(...MiniMQTT.str(password)); }
    return MiniMQTT.packet(0x10, [...MiniMQTT.str("MQTT"), 4, flags, 0, 60, ...payload]);
  }

  send(p) { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(p); }

  subscribe(filter) {
    const id = this.nextId++;
    this.send(MiniMQTT.packet(0x82, [id >> 8, id & 0xff, ...MiniMQTT.str(filter), 0]));
  }

  close() { this.send(new Uint8Array([0xe0, 0])); this.ws.close(); }

  // receive parses every whole packet in the buffer; a partial one waits
  // for the next frame.
  receive(data) {
    const all = new Uint8Array(this.buf.length + data.length);
    all.set(this.buf); all.set(data, this.buf.length);
    let at = 0;
    for (;;) {
      if (all.length - at < 2) break;
      let len = 0, mult = 1, i = at + 1, done = false;
      while (i < all.length && i < at + 5) {
        const d = all[i++];
        len += (d & 0x7f) * mult;
        mult *= 128;
        if ((d & 0x80) === 0) { done = true; break; }
      }
      if (!done || all.length < i + len) break;
      this.handle(all[at], all.subarray(i, i + len));
      at = i + len;
    }
    this.buf = all.slice(at);
  }

  handle(first, body) {
    switch (first >> 4) {
      case 2: // CONNACK
        if (body[1] === 0) {
          this.ping = setInterval(() => this.send(new Uint8Array([0xc0, 0])), 30000);
          this.onState("connected");
        } else {
          this.onState("refused (" + body[1] + ")");
        }
        break;
      case 9: // SUBACK
        this.onState(body[2] === 0x80 ? "subscription refused" : "subscribed");
        break;
      case 3: { // PUBLISH, QoS 0 as subscribed
        const tlen = (body[0] << 8) | body[1];
        const topic = new TextDecoder().decode(body.subarray(2, 2 + tlen));
        let at = 2 + tlen;
        const qos = (first >> 1) & 3;
        if (qos > 0) {
          const id = [body[at], body[at + 1]];
          at += 2;
          this.send(new Uint8Array([qos === 1 ? 0x40 : 0x50, 2, ...id]));
        }
        this.onMessage(topic, new TextDecoder().decode(body.subarray(at)));
        break;
      }
    }
  }
}
