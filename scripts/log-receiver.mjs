// A local log-stream receiver for trying log streaming: prints each event
// that arrives (JSON array, NDJSON, gzip, Splunk HEC envelopes, Datadog
// entries), and with --webhook-secret checks the webhook signature.
//
//   node scripts/log-receiver.mjs [--port 9999] [--webhook-secret whsec_...]
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const port = Number(arg('--port', 9999));
const secret = arg('--webhook-secret', '');

/** Verifies `tessera-signature: t=<s>,v1=<hex>` over `<t>.<body>`, within 5 minutes. */
export function verifySignature(header, body, key, nowSeconds = Date.now() / 1000) {
  const parts = Object.fromEntries((header || '').split(',').map((p) => p.split('=')));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(nowSeconds - t) > 300 || !parts.v1) return false;
  const expected = createHmac('sha256', key).update(`${t}.`).update(body).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function events(body) {
  const text = body.toString('utf8').trim();
  if (text.startsWith('[')) return JSON.parse(text);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((e) => e.event ?? e);
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    if (secret && req.headers['tessera-signature']) {
      const ok = verifySignature(req.headers['tessera-signature'], Buffer.concat(chunks), secret);
      console.log(`signature ${ok ? 'valid' : 'INVALID'}`);
      if (!ok) { res.writeHead(401).end(); return; }
    }
    try {
      for (const e of events(body)) console.log(`${e.date}  ${e.type.padEnd(12)} ${e.log_id}  ${e.description}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } catch (err) {
      console.log(`unreadable body (${err.message})`);
      res.writeHead(400).end();
    }
  });
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/`));
