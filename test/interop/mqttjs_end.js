// mqttjs_end.js has MQTT.js publish at QoS 1 and call end() at once, RUNS
// times one after another, for the Go interop tests:
//
//   node mqttjs_end.js URL VERSION TOPIC RUNS
//
// end() waits for the PUBACK, sends DISCONNECT and then closes the stream;
// over WebSocket that close is a close frame, written after DISCONNECT. A
// broker that drops the TCP connection on DISCONNECT, without the
// WebSocket close handshake, resets the connection under that write
// (ECONNRESET, EPIPE), and the WebSocket closes as 1006 (abnormal) instead
// of with the broker's close frame. The ws library MQTT.js runs on drops
// its socket's errors, so the socket is watched here too. A run fails on
// any error, and unless the WebSocket closed with status 1000; each
// failure is printed as "run N: ...". The exit status is 0 when no run
// failed, 1 otherwise, 2 on a usage error or timeout.
'use strict';

const mqtt = require('mqtt');
// The ws package MQTT.js itself uses.
const WebSocket = require(require.resolve('ws', { paths: [require.resolve('mqtt')] }));

const [url, versionArg, topic, runsArg] = process.argv.slice(2);
const version = Number(versionArg);
const runs = Number(runsArg);
if (!url || ![4, 5].includes(version) || !topic || !(runs > 0)) {
  console.error('usage: node mqttjs_end.js URL 4|5 TOPIC RUNS');
  process.exit(2);
}

const timer = setTimeout(() => {
  console.error('FAIL: timed out');
  process.exit(2);
}, 20000);

// run connects, publishes, ends and resolves with the errors it saw once
// the connection is closed.
function run(i) {
  return new Promise((resolve) => {
    const errors = [];
    let closeCode = 0;
    const client = mqtt.connect(url, {
      protocolVersion: version,
      clientId: `mqttjs-end-${process.pid}-${i}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      createWebsocket: (wsURL, protocols, opts) => {
        const ws = new WebSocket(wsURL, protocols, opts.wsOptions);
        ws.on('upgrade', (res) => res.socket.on('error', (err) => errors.push(`socket error: ${err.message}`)));
        ws.on('close', (code) => { closeCode = code; });
        return ws;
      },
    });
    client.on('error', (err) => errors.push(`client error: ${err.code ?? ''} ${err.message}`));
    client.on('close', () => {
      // A write error of the stream is reported before its close; leave
      // the event loop one turn for one that is still on its way.
      setImmediate(() => {
        client.removeAllListeners();
        client.on('error', () => {});
        if (closeCode !== 1000) errors.push(`WebSocket closed with ${closeCode}, want 1000`);
        resolve(errors);
      });
    });
    client.on('connect', () => {
      client.publish(topic, `run ${i}`, { qos: 1 }, (err) => {
        if (err) errors.push(`publish: ${err.message}`);
      });
      client.end((err) => {
        if (err) errors.push(`end: ${err.message}`);
      });
    });
  });
}

(async () => {
  let failed = 0;
  for (let i = 1; i <= runs; i++) {
    const errors = await run(i);
    if (errors.length > 0) failed++;
    for (const e of errors) console.log(`run ${i}: ${e}`);
  }
  clearTimeout(timer);
  console.log(`${failed} of ${runs} runs reported errors`);
  process.exit(failed > 0 ? 1 : 0);
})();
