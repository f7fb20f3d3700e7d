// coapjs_client.js drives npm's coap (node-coap) against mqgate's CoAP
// gateway for the Go interop tests.
//
//   node coapjs_client.js publish PORT PATH PAYLOAD con|non
//       POST PAYLOAD to PATH, print the response code, expect 2.04
//   node coapjs_client.js observe PORT PATH COUNT
//       GET PATH with Observe 0, print REGISTERED after the 2.05, then each
//       notification's payload on a line of its own; exit after COUNT
//   node coapjs_client.js get PORT PATH
//       GET PATH, print the response code and payload
//
// Exit status: 0 when every check passed, 1 when one failed, 2 on a
// timeout or usage error.
'use strict';

const coap = require('coap');

const [mode, portArg, path, arg, arg2] = process.argv.slice(2);
const port = Number(portArg);
if (!['publish', 'observe', 'get'].includes(mode) || !port || !path) {
  console.error('usage: node coapjs_client.js publish|observe|get PORT PATH [PAYLOAD con|non | COUNT]');
  process.exit(2);
}
const timer = setTimeout(() => { console.error(`timed out in ${mode}`); process.exit(2); }, 20000);
const agent = new coap.Agent({ type: 'udp4' });
const [pathname, query] = path.split('?');
const opts = { hostname: '127.0.0.1', port, pathname, query: query || '', agent };

function done(code) {
  clearTimeout(timer);
  process.exit(code);
}

if (mode === 'publish') {
  const req = coap.request({ ...opts, method: 'POST', confirmable: arg2 !== 'non' });
  req.on('response', (res) => {
    console.log(res.code);
    done(res.code === '2.04' ? 0 : 1);
  });
  req.on('error', (err) => { console.error(err.message); done(2); });
  req.end(Buffer.from(arg || ''));
} else if (mode === 'get') {
  const req = coap.request({ ...opts, method: 'GET' });
  req.on('response', (res) => {
    console.log(`${res.code} ${res.payload.toString()}`);
    done(0);
  });
  req.on('error', (err) => { console.error(err.message); done(2); });
  req.end();
} else {
  const want = Number(arg);
  let got = 0;
  const req = coap.request({ ...opts, method: 'GET', observe: true });
  req.on('response', (res) => {
    if (res.code !== '2.05' || !res.headers.Observe && res.headers.Observe !== 0) {
      console.log(`registration answered ${res.code}`);
      done(1);
    }
    console.log('REGISTERED');
    res.on('data', (chunk) => {
      if (chunk.length === 0) return; // the registration's empty 2.05
      console.log(chunk.toString());
      if (++got === want) {
        res.close();
        done(0);
      }
    });
  });
  req.on('error', (err) => { console.error(err.message); done(2); });
  req.end();
}
