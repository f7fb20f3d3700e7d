// mqttjs_client.js drives MQTT.js against mqgate for the Go interop tests.
//
//   node mqttjs_client.js roundtrip URL VERSION TOPIC
//       subscribe at QoS 1, publish at QoS 1 to itself, check what comes back
//   node mqttjs_client.js publish URL VERSION TOPIC PAYLOAD
//       publish PAYLOAD at QoS 1 (v5: with user property origin=mqttjs)
//   node mqttjs_client.js subscribe URL VERSION TOPIC PAYLOAD
//       subscribe at QoS 1, print SUBSCRIBED, expect exactly PAYLOAD
//       (v5: with user property origin=mosquitto), print RECEIVED
//
// VERSION is the MQTT.js protocolVersion, 4 (3.1.1) or 5. Exit status: 0 when
// every check passed, 1 when one failed, 2 on a connection error or timeout.
'use strict';

const assert = require('node:assert');
const mqtt = require('mqtt');

const [mode, url, versionArg, topic, payloadArg] = process.argv.slice(2);
const version = Number(versionArg);
if (!['roundtrip', 'publish', 'subscribe'].includes(mode) || !url || ![4, 5].includes(version) || !topic) {
  console.error('usage: node mqttjs_client.js roundtrip|publish|subscribe URL 4|5 TOPIC [PAYLOAD]');
  process.exit(2);
}

let finished = false; // set before a deliberate end, so 'close' is not an error
let acked = false;
let received = false;
let pubackSent = false;

const timer = setTimeout(() => fail(2, `timed out in ${mode}`), 15000);

const client = mqtt.connect(url, {
  protocolVersion: version,
  clientId: `mqttjs-${mode}-${process.pid}`,
  clean: true,
  reconnectPeriod: 0,
  connectTimeout: 10000,
});

function fail(code, msg) {
  console.error(`FAIL: ${msg}`);
  client.end(true);
  process.exit(code);
}

function done() {
  clearTimeout(timer);
  client.end(false, {}, () => process.exit(0));
}

client.on('error', (err) => fail(2, `client error: ${err.message}`));
client.on('close', () => { if (!finished) fail(2, 'connection closed early'); });

// eq is deepStrictEqual with a message that shows both values.
function eq(actual, expected, what) {
  const show = (v) => JSON.stringify(v, (k, x) => (x && x.type === 'Buffer' ? Buffer.from(x.data).toString('hex') : x));
  try {
    assert.deepStrictEqual(actual, expected);
  } catch {
    throw new Error(`${what}: got ${show(actual)}, want ${show(expected)}`);
  }
}

function check(fn) {
  try {
    fn();
  } catch (err) {
    fail(1, err.message);
  }
}

const roundtripPayload = Buffer.concat([Buffer.from('mqtt.js ✓ '), Buffer.from([0, 1, 127, 255])]);
const roundtripProps = {
  userProperties: { origin: 'mqttjs', tags: ['a', 'b'] },
  contentType: 'application/octet-stream',
  responseTopic: `${topic}/reply`,
  correlationData: Buffer.from([0xca, 0xfe]),
};

client.on('connect', (connack) => {
  check(() => eq(connack.returnCode ?? connack.reasonCode ?? 0, 0, 'CONNACK code'));
  if (mode === 'publish') {
    const opts = { qos: 1 };
    if (version === 5) opts.properties = { userProperties: { origin: 'mqttjs' } };
    client.publish(topic, payloadArg ?? '', opts, (err) => {
      if (err) fail(1, `publish: ${err.message}`);
      finished = true;
      done();
    });
    return;
  }
  client.subscribe(topic, { qos: 1 }, (err, granted) => {
    if (err) fail(1, `subscribe: ${err.message}`);
    check(() => eq(granted.map((g) => g.qos), [1], 'granted QoS'));
    if (mode === 'subscribe') {
      console.log('SUBSCRIBED');
      return;
    }
    const opts = { qos: 1 };
    if (version === 5) opts.properties = roundtripProps;
    client.publish(topic, roundtripPayload, opts, (err) => {
      if (err) fail(1, `publish: ${err.message}`);
      acked = true;
      if (pubackSent) { finished = true; done(); }
    });
  });
});

client.on('message', (t, payload, packet) => {
  if (received) fail(1, `second message on ${t}: ${payload.toString('hex')}`);
  received = true;
  check(() => {
    eq(t, topic, 'topic');
    eq(packet.qos, 1, 'delivered QoS');
    eq(packet.retain, false, 'retain flag');
    if (mode === 'roundtrip') {
      eq(payload.toString('hex'), roundtripPayload.toString('hex'), 'payload');
      if (version === 5) {
        const p = packet.properties ?? {};
        eq({ ...p.userProperties }, roundtripProps.userProperties, 'userProperties');
        eq(p.contentType, roundtripProps.contentType, 'contentType');
        eq(p.responseTopic, roundtripProps.responseTopic, 'responseTopic');
        eq(Buffer.from(p.correlationData ?? []).toString('hex'), 'cafe', 'correlationData');
      } else {
        eq(packet.properties, undefined, 'v3.1.1 PUBLISH has no properties');
      }
    } else {
      eq(payload.toString(), payloadArg, 'payload');
      if (version === 5) {
        eq({ ...packet.properties?.userProperties }, { origin: 'mosquitto' }, 'userProperties');
      }
    }
  });
  if (mode === 'subscribe') console.log('RECEIVED');
});

// MQTT.js sends PUBACK after the 'message' event and emits 'packetsend'
// just before writing it; ending any earlier would write PUBACK after
// DISCONNECT, on a connection the broker has already closed.
client.on('packetsend', (packet) => {
  if (packet.cmd !== 'puback' || !received) return;
  setImmediate(() => {
    pubackSent = true;
    if (mode === 'subscribe' || acked) {
      finished = true;
      done();
    }
  });
});
