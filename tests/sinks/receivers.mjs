// Receivers standing in for the log-stream sinks (issue #12), on 127.0.0.1.
// Each records what arrived and checks it against the destination's
// documented format, strictly: a request that breaks the format is recorded
// in `failures` (and answered 400), so a test asserts `failures` is empty.
//
//   http      JSON array or NDJSON, optional `Content-Encoding: gzip`, the
//             configured Authorization and extra headers
//   webhook   `tessera-signature: t=<unix s>,v1=<hex HMAC-SHA256(secret,
//             "<t>.<body>")>`, verified in constant time, t within 5 minutes
//   datadog   logs intake v2: `dd-api-key`, a JSON array of at most 1,000
//             entries and 5 MB, each with ddsource/service/hostname/message
//   splunk    HEC: `Authorization: Splunk <token>`, POST
//             /services/collector/event, one JSON envelope per line
//
// Every event inside must be a complete Auth0-style log record. Each
// receiver can be switched to fail (`fail(503)`, `fail('hang')`,
// `fail('close')`) and back (`succeed()`); a failing receiver records the
// attempt in `rejected` and nothing in `events`.
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

/** The fields every delivered event carries (Auth0's log event names). */
export const EVENT_FIELDS = [
  'log_id', 'date', 'type', 'description', 'category', 'severity', 'tenant_id', 'client_id', 'client_name',
  'ip', 'user_agent', 'hostname', 'user_id', 'user_name', 'details',
];
const NULLABLE = new Set(['tenant_id', 'client_id', 'client_name', 'user_agent', 'hostname', 'user_id', 'user_name']);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const DATADOG_MAX_ENTRIES = 1000;
export const DATADOG_MAX_BYTES = 5 * 1024 * 1024;
export const DATADOG_MAX_ENTRY_BYTES = 1024 * 1024;
export const WEBHOOK_TOLERANCE_S = 300;

class FormatError extends Error {}
const need = (ok, msg) => { if (!ok) throw new FormatError(msg); };

/** Problems with one event record (empty when it is well-formed). */
export function eventProblems(e) {
  const p = [];
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return ['the event is not a JSON object'];
  for (const f of EVENT_FIELDS) if (!(f in e)) p.push(`missing field ${f}`);
  for (const f of ['log_id', 'date', 'type', 'description', 'category', 'severity', 'ip']) {
    if (f in e && typeof e[f] !== 'string') p.push(`${f} is not a string`);
  }
  for (const f of NULLABLE) if (f in e && e[f] !== null && typeof e[f] !== 'string') p.push(`${f} is neither string nor null`);
  if (typeof e.log_id === 'string' && !e.log_id) p.push('empty log_id');
  if (typeof e.date === 'string' && (!ISO_DATE.test(e.date) || Number.isNaN(Date.parse(e.date)))) p.push(`date ${e.date} is not ISO 8601 UTC`);
  if (typeof e.severity === 'string' && !['info', 'warning', 'error'].includes(e.severity)) p.push(`severity ${e.severity}`);
  if ('details' in e && (e.details === null || typeof e.details !== 'object')) p.push('details is not an object');
  return p.map((x) => `${x} (log_id ${e?.log_id})`);
}

function checkEvent(e) {
  const p = eventProblems(e);
  need(p.length === 0, p.join('; '));
  return e;
}

function parseJson(text, what) {
  try { return JSON.parse(text); } catch (e) { throw new FormatError(`${what} is not JSON: ${e.message}`); }
}

function header(req, name) {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function mediaType(req) {
  return (header(req, 'content-type') || '').split(';')[0].trim().toLowerCase();
}

/** NDJSON: one JSON value per line, newline-terminated, no blank lines. */
function ndjson(text, what) {
  need(text.length > 0, `${what}: empty body`);
  need(text.endsWith('\n'), `${what}: the last line is not newline-terminated`);
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((l, i) => need(l.trim().length > 0, `${what}: blank line ${i + 1}`));
  return lines.map((l, i) => parseJson(l, `${what} line ${i + 1}`));
}

// ---------------------------------------------------------------------------
// Per-sink validators: (req, body Buffer, receiver) -> events (objects).

function validateHttp(req, body, r) {
  const o = r.options;
  need(req.method === 'POST', `method ${req.method}`);
  need(req.url === r.path, `path ${req.url}, expected ${r.path}`);
  const encoding = header(req, 'content-encoding');
  if (o.gzip) {
    need(encoding === 'gzip', `content-encoding ${encoding}, expected gzip`);
    need(body[0] === 0x1f && body[1] === 0x8b, 'content-encoding gzip but the body is not gzip');
    try { body = gunzipSync(body); } catch (e) { throw new FormatError(`gzip: ${e.message}`); }
  } else {
    need(encoding === undefined, `unexpected content-encoding ${encoding}`);
  }
  if (o.authorization !== undefined) {
    need(header(req, 'authorization') === o.authorization, 'the Authorization header is not the configured one');
  } else {
    need(header(req, 'authorization') === undefined, 'an Authorization header that was not configured');
  }
  for (const [k, v] of Object.entries(o.headers || {})) {
    need(header(req, k.toLowerCase()) === v, `header ${k} is not the configured value`);
  }
  need(/^\S+$/.test(header(req, 'tessera-batch-id') || ''), 'no tessera-batch-id header');
  const text = body.toString('utf8');
  if ((o.content_format || 'json_array') === 'json_lines') {
    need(mediaType(req) === 'application/x-ndjson', `content-type ${mediaType(req)} for NDJSON`);
    return ndjson(text, 'NDJSON body');
  }
  need(mediaType(req) === 'application/json', `content-type ${mediaType(req)} for a JSON array`);
  const arr = parseJson(text, 'body');
  need(Array.isArray(arr), 'the body is not a JSON array');
  return arr;
}

/** Verifies `tessera-signature` as a receiver following the docs would. */
export function verifyWebhookSignature(headerValue, body, secret, nowS = Math.floor(Date.now() / 1000)) {
  if (typeof headerValue !== 'string') return 'no tessera-signature header';
  const parts = Object.fromEntries(headerValue.split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
  }));
  if (!/^\d+$/.test(parts.t || '')) return `signature timestamp ${parts.t}`;
  if (!/^[0-9a-f]{64}$/.test(parts.v1 || '')) return 'v1 is not 64 lowercase hex digits';
  const t = Number(parts.t);
  if (Math.abs(nowS - t) > WEBHOOK_TOLERANCE_S) return `signature timestamp ${t} is more than 5 minutes from now (${nowS})`;
  const expected = createHmac('sha256', secret).update(`${parts.t}.`).update(body).digest();
  const given = Buffer.from(parts.v1, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the HMAC signature does not verify';
  return null;
}

function validateWebhook(req, body, r) {
  need(req.method === 'POST', `method ${req.method}`);
  need(req.url === r.path, `path ${req.url}`);
  need(mediaType(req) === 'application/json', `content-type ${mediaType(req)}`);
  need(typeof r.options.secret === 'string' && r.options.secret.length > 0, 'the receiver has no secret configured');
  const bad = verifyWebhookSignature(header(req, 'tessera-signature'), body, r.options.secret);
  need(bad === null, bad);
  need(/^\S+$/.test(header(req, 'tessera-batch-id') || ''), 'no tessera-batch-id header');
  const arr = parseJson(body.toString('utf8'), 'body');
  need(Array.isArray(arr), 'the body is not a JSON array');
  return arr;
}

function validateDatadog(req, body, r) {
  const o = r.options;
  need(req.method === 'POST', `method ${req.method}`);
  need(req.url === r.path, `path ${req.url}, expected ${r.path}`);
  need(mediaType(req) === 'application/json', `content-type ${mediaType(req)}`);
  need(header(req, 'dd-api-key') === o.api_key, 'dd-api-key is not the configured key');
  need(header(req, 'content-encoding') === undefined, 'unexpected content-encoding');
  need(body.length <= DATADOG_MAX_BYTES, `payload of ${body.length} bytes is over Datadog's 5 MB`);
  const arr = parseJson(body.toString('utf8'), 'body');
  need(Array.isArray(arr), 'the body is not a JSON array');
  need(arr.length >= 1 && arr.length <= DATADOG_MAX_ENTRIES, `${arr.length} entries (Datadog takes 1 to 1000)`);
  for (const e of arr) {
    need(Buffer.byteLength(JSON.stringify(e)) <= DATADOG_MAX_ENTRY_BYTES, `entry ${e?.log_id} over 1 MB`);
    need(e && typeof e === 'object', 'an entry is not an object');
    for (const f of ['ddsource', 'service', 'hostname', 'message']) need(typeof e[f] === 'string', `entry ${e.log_id}: ${f} is not a string`);
    need(e.ddsource === (o.source ?? 'tessera'), `ddsource ${e.ddsource}`);
    need(e.service === (o.service ?? 'tessera'), `service ${e.service}`);
    need(e.message === e.description, `message is not the event's description (${e.log_id})`);
    if (o.tags !== undefined) need(e.ddtags === o.tags, `ddtags ${e.ddtags}`);
    need(e.hostname.length > 0, 'empty hostname');
  }
  return arr.map((e) => {
    // The event's own fields are kept as attributes beside Datadog's.
    const { ddsource, service, message, ddtags, ...event } = e;
    return event;
  });
}

function validateSplunk(req, body, r) {
  const o = r.options;
  need(req.method === 'POST', `method ${req.method}`);
  need(req.url === '/services/collector/event', `path ${req.url}, expected /services/collector/event`);
  need(header(req, 'authorization') === `Splunk ${o.token}`, 'Authorization is not "Splunk <the configured token>"');
  need(mediaType(req) === 'application/json', `content-type ${mediaType(req)}`);
  const envelopes = ndjson(body.toString('utf8'), 'HEC body');
  return envelopes.map((env) => {
    need(env && typeof env === 'object' && !Array.isArray(env), 'an envelope is not an object');
    const allowed = new Set(['time', 'host', 'source', 'sourcetype', 'index', 'event', 'fields']);
    for (const k of Object.keys(env)) need(allowed.has(k), `unknown envelope key ${k}`);
    need(typeof env.time === 'number' && Number.isFinite(env.time), `time ${env.time} is not a number`);
    need(env.time > 1e9 && env.time < 1e11, `time ${env.time} is not in epoch seconds`);
    need(typeof env.host === 'string' && env.host.length > 0, 'host');
    need(env.source === (o.source ?? 'tessera'), `source ${env.source}`);
    need(env.sourcetype === (o.sourcetype ?? 'tessera:log'), `sourcetype ${env.sourcetype}`);
    if (o.index !== undefined) need(env.index === o.index, `index ${env.index}`);
    else need(!('index' in env), 'index set but not configured');
    if (o.host !== undefined) need(env.host === o.host, `host ${env.host}`);
    need(env.event && typeof env.event === 'object' && !Array.isArray(env.event), 'event is not an object');
    const ms = Date.parse(env.event.date);
    need(Math.abs(env.time * 1000 - ms) < 1, `time ${env.time} is not the event's date ${env.event.date}`);
    return env.event;
  });
}

const KINDS = {
  http: { validate: validateHttp, ok: [200, { 'content-type': 'text/plain' }, 'ok'] },
  webhook: { validate: validateWebhook, ok: [200, { 'content-type': 'text/plain' }, 'ok'] },
  // What the real intake answers on success.
  datadog: { validate: validateDatadog, ok: [202, { 'content-type': 'application/json' }, '{}'] },
  splunk: { validate: validateSplunk, ok: [200, { 'content-type': 'application/json' }, '{"text":"Success","code":0}'] },
};

/**
 * A receiver for one sink type. `options` are the sink settings it checks
 * against (authorization, headers, gzip, content_format, secret, api_key,
 * token, index, ...). `path` is where it expects requests.
 */
export class Receiver {
  constructor(kind, options = {}, { path = '/ingest' } = {}) {
    if (!KINDS[kind]) throw new Error(`no receiver for ${kind}`);
    this.kind = kind;
    this.options = options;
    this.path = kind === 'datadog' ? '/api/v2/logs' : path;
    this.requests = []; // every request: { at, method, url, headers, bytes, status }
    this.accepted = []; // accepted requests: { at, headers, body (as sent), events }
    this.events = []; // every event accepted, in arrival order (duplicates kept)
    this.failures = []; // format violations
    this.rejected = 0; // attempts answered with a failure on purpose
    this.mode = { kind: 'ok' };
    this.hanging = new Set();
    this.sockets = new Set();
    this.waiters = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.origin = `http://127.0.0.1:${this.port}`;
    this.url = this.origin + this.path;
    return this;
  }

  /**
   * Fail from now on: an HTTP status (`fail(503)`), with an optional body
   * (a function of the request, to echo headers back) and headers (a
   * `location` makes it a redirect); `'hang'` (hold the
   * request for `hangMs`, then drop the connection); `'close'` (drop the
   * connection at once).
   */
  fail(how, { body, headers = {}, hangMs = 12_000 } = {}) {
    this.mode = typeof how === 'number' ? { kind: 'status', status: how, body, headers } : { kind: how, hangMs };
  }

  succeed() { this.mode = { kind: 'ok' }; }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry = { at: Date.now(), method: req.method, url: req.url, headers: req.headers, bytes: body.length, status: null };
      this.requests.push(entry);
      const mode = this.mode;
      if (mode.kind === 'status') {
        this.rejected += 1;
        entry.status = mode.status;
        const text = typeof mode.body === 'function' ? mode.body(req) : (mode.body ?? 'unavailable');
        res.writeHead(mode.status, { 'content-type': 'text/plain', ...mode.headers }).end(text);
        return this.notify();
      }
      if (mode.kind === 'close') {
        this.rejected += 1;
        entry.status = 'closed';
        req.socket.destroy();
        return this.notify();
      }
      if (mode.kind === 'hang') {
        this.rejected += 1;
        entry.status = 'hung';
        const t = setTimeout(() => { this.hanging.delete(t); req.socket.destroy(); }, mode.hangMs);
        this.hanging.add(t);
        return this.notify();
      }
      let events;
      try {
        events = KINDS[this.kind].validate(req, body, this);
        events.forEach(checkEvent);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        this.failures.push(`${this.kind} ${req.method} ${req.url}: ${e.message}`);
        entry.status = 400;
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`invalid: ${e.message}`);
        return this.notify();
      }
      const [status, headers, text] = KINDS[this.kind].ok;
      entry.status = status;
      this.accepted.push({ at: entry.at, headers: req.headers, body, events });
      this.events.push(...events);
      res.writeHead(status, headers).end(text);
      this.notify();
    });
  }

  /** The log_ids received so far. */
  ids() { return new Set(this.events.map((e) => e.log_id)); }

  notify() { for (const w of this.waiters) w(); }

  /** Resolves once `pred(this)` holds; rejects after `timeoutMs`. */
  waitFor(pred, timeoutMs = 30_000, what = 'the receiver') {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      const check = () => { if (pred(this)) { done(); resolve(); } };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what} did not get there in ${timeoutMs} ms (${this.kind}: ${this.requests.length} requests, `
          + `${this.events.length} events, failures ${JSON.stringify(this.failures)})`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Waits until every id in `ids` has arrived. */
  waitForIds(ids, timeoutMs = 30_000) {
    const want = [...ids];
    const missing = () => want.filter((i) => !this.ids().has(i));
    return this.waitFor((r) => { const got = r.ids(); return want.every((i) => got.has(i)); }, timeoutMs,
      `${want.length} events`).catch((e) => {
      e.missing = missing();
      e.message += `; missing ${e.missing.length}: ${e.missing.slice(0, 10).join(', ')}`;
      throw e;
    });
  }

  async close() {
    for (const t of this.hanging) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export async function startReceiver(kind, options = {}, opts = {}) {
  return new Receiver(kind, options, opts).start();
}
