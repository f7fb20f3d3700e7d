// stompjs_client.js drives @stomp/stompjs over WebSocket against mqgate
// for the Go interop tests.
//
// URL is ws://... for STOMP over WebSocket, or http://... for SockJS
// (sockjs-client with the transports SOCKJS_TRANSPORTS lists, comma
// separated; default xhr-streaming,xhr-polling).
//
//   node stompjs_client.js roundtrip URL DEST
//       subscribe with ack client-individual, send to itself with a
//       header, check what comes back, ACK it, disconnect
//   node stompjs_client.js publish URL DEST PAYLOAD
//       send PAYLOAD with header origin:stompjs and wait for its receipt
//   node stompjs_client.js subscribe URL DEST PAYLOAD
//       subscribe, print SUBSCRIBED once the server has it, expect exactly
//       PAYLOAD, print RECEIVED
//
// Exit status: 0 when every check passed, 1 when one failed, 2 on a
// connection error or timeout.
'use strict';

const assert = require('node:assert');
const { Client } = require('@stomp/stompjs');
const WebSocket = require('ws');
const SockJS = require('sockjs-client');

const [mode, url, dest, payload] = process.argv.slice(2);
if (!['roundtrip', 'publish', 'subscribe'].includes(mode) || !url || !dest) {
  console.error('usage: node stompjs_client.js roundtrip|publish|subscribe URL DEST [PAYLOAD]');
  process.exit(2);
}

const timer = setTimeout(() => fail(2, `timed out in ${mode}`), 15000);
let finished = false;

function fail(code, msg) {
  if (finished) return;
  finished = true;
  console.error(msg);
  process.exit(code);
}

async function done() {
  finished = true;
  clearTimeout(timer);
  await client.deactivate();
  process.exit(0);
}

const sockjs = url.startsWith('http');
const client = new Client({
  webSocketFactory: () => sockjs
    ? new SockJS(url, null, { transports: (process.env.SOCKJS_TRANSPORTS || 'xhr-streaming,xhr-polling').split(',') })
    : new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
  reconnectDelay: 0,
  heartbeatIncoming: 10000,
  heartbeatOutgoing: 10000,
  onStompError: (f) => fail(1, `ERROR frame: ${f.headers.message} ${f.body}`),
  onWebSocketError: (e) => fail(2, `websocket error: ${e.message || e}`),
  onWebSocketClose: () => fail(2, 'websocket closed'),
});

function waitReceipt(id) {
  return new Promise((resolve) => client.watchForReceipt(id, resolve));
}

client.onConnect = async (frame) => {
  try {
    assert.strictEqual(frame.headers.version, '1.2');
    if (!sockjs) assert.strictEqual(client.webSocket.protocol, 'v12.stomp');
    if (mode === 'publish') {
      const r = waitReceipt('sent');
      client.publish({ destination: dest, body: payload, headers: { origin: 'stompjs', receipt: 'sent' } });
      await r;
      return done();
    }
    const subscribed = waitReceipt('subscribed');
    const received = new Promise((resolve) => {
      client.subscribe(dest, resolve, { ack: mode === 'roundtrip' ? 'client-individual' : 'auto', receipt: 'subscribed' });
    });
    await subscribed;
    console.log('SUBSCRIBED');
    if (mode === 'roundtrip') {
      client.publish({ destination: dest, body: 'round trip', headers: { 'content-type': 'text/plain', origin: 'stompjs' } });
    }
    const m = await received;
    if (mode === 'roundtrip') {
      assert.strictEqual(m.body, 'round trip');
      assert.strictEqual(m.headers.origin, 'stompjs');
      assert.strictEqual(m.headers['content-type'], 'text/plain');
      assert.strictEqual(m.headers.destination, dest);
      const acked = waitReceipt('acked');
      m.ack({ receipt: 'acked' });
      await acked;
    } else {
      assert.strictEqual(m.body, payload);
    }
    console.log('RECEIVED');
    return done();
  } catch (e) {
    fail(1, e.stack || String(e));
  }
};

client.activate();
