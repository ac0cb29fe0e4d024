// End-to-end: log streams (issue #12) on the host under test — the Worker's
// queue consumer on wrangler dev, or the native delivery worker
// (`tessera-actions-host deliver`) beside the Spin test host. Events are made
// by ordinary requests (failed and successful token requests, management
// calls); every test asserts what ARRIVED at a real receiver on 127.0.0.1
// that checks the destination's documented format (tests/sinks/receivers.mjs),
// and S3 objects are read back from moto's server, which verifies the SigV4
// signature of every PUT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { Api, HOST, startServer } from './support.mjs';
import { freePort, root } from '../../scripts/lib/wrangler.mjs';
import { startReceiver, verifyWebhookSignature } from '../sinks/receivers.mjs';

const run = promisify(execFile);
const PY = path.join(root, '.venv/bin/python');

let server;
let api;
const cleanups = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let slugCounter = 0;

// ---------------------------------------------------------------------------
// Helpers

/** The server's log lines about delivery, for failure messages. */
function serverLog() {
  const lines = (server?.log() || '').split('\n').filter((l) => /tessera|error|panic/i.test(l));
  return lines.slice(-25).join('\n');
}

/** Polls `fn` until it returns a truthy value; fails with the last value after `timeoutMs`. */
async function until(what, fn, timeoutMs = 30_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}\n--- server log ---\n${serverLog()}`);
    }
    await sleep(everyMs);
  }
}

async function receiver(kind, options = {}, opts = {}) {
  const r = await startReceiver(kind, options, opts);
  cleanups.push(() => r.close());
  return r;
}

/** A fresh tenant and its management key, with the calls the tests use. */
async function tenant(label) {
  slugCounter += 1;
  const slug = `ls-${label}-${slugCounter}-${Math.random().toString(36).slice(2, 7)}`;
  const key = await api.tenant(slug);
  const call = (method, p, json) => api.call(method, `/t/${slug}/api/v1${p}`, { token: key, json });
  const t = {
    slug,
    key,
    call,
    async stream(spec) {
      const r = await call('POST', '/log-streams', spec);
      assert.equal(r.status, 201, `create ${spec.type} stream: ${r.text}`);
      return r.json;
    },
    async status(id) {
      const r = await call('GET', `/log-streams/${id}`);
      assert.equal(r.status, 200, r.text);
      return r.json;
    },
    async deliveries(id) {
      const r = await call('GET', `/log-streams/${id}/deliveries?limit=100`);
      assert.equal(r.status, 200, r.text);
      return r.json.deliveries;
    },
    async deadLetters(id) {
      const r = await call('GET', `/log-streams/${id}/dead-letters?limit=100`);
      assert.equal(r.status, 200, r.text);
      return r.json.dead_letters;
    },
    /** The tenant's stored events (newest first), optionally of one type. */
    async logs(type) {
      const r = await call('GET', `/logs?limit=100${type ? `&type=${type}` : ''}`);
      assert.equal(r.status, 200, r.text);
      return r.json.logs;
    },
    async ids(type = 'feacft') { return new Set((await t.logs(type)).map((e) => e.log_id)); },
    /** A failed client-credentials token request: one `feacft` event. */
    async failToken() {
      const r = await api.call('POST', `/t/${slug}/oauth/token`, {
        body: 'grant_type=client_credentials&audience=urn%3Atessera%3Amanagement',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('no-such-client:wrong-secret').toString('base64')}`,
        },
      });
      assert.equal(r.status, 401, r.text);
    },
    /** `n` failed token requests; returns the ids of the events they made. */
    async failTokens(n) {
      const seen = await t.ids();
      for (let i = 0; i < n; i += 1) await t.failToken();
      const ids = await until(`${n} new feacft events of ${slug}`, async () => {
        const now = await t.ids();
        const fresh = [...now].filter((id) => !seen.has(id));
        return fresh.length >= n && fresh;
      }, 10_000);
      assert.equal(ids.length, n);
      return ids;
    },
    async tenantId() {
      const [e] = await t.logs();
      assert.ok(e?.tenant_id, 'the tenant has events with its id');
      return e.tenant_id;
    },
  };
  return t;
}

/**
 * Waits until `r` has received every id; on a timeout the error tells what
 * the missing events were and how the streams stood.
 */
async function arrived(t, r, ids, timeoutMs = 30_000) {
  try {
    await r.waitForIds(ids, timeoutMs);
  } catch (e) {
    const logs = await t.logs(null);
    const types = (e.missing || []).map((id) => logs.find((l) => l.log_id === id)?.type ?? '?');
    const streams = (await t.call('GET', '/log-streams')).json?.log_streams?.map((s) => ({ name: s.name, ...s.status }));
    e.message += `\nmissing types: ${JSON.stringify(types)}\nstreams: ${JSON.stringify(streams)}\n--- server log ---\n${serverLog()}`;
    throw e;
  }
}

/** Waits until the stream has nothing waiting and returns its status. */
function drained(t, id, timeoutMs = 30_000) {
  return until(`stream ${id} drained`, async () => {
    const s = await t.status(id);
    return s.status.events_pending === 0 && s;
  }, timeoutMs, 250);
}

const FEACFT = { types: ['feacft'] };

// ---------------------------------------------------------------------------

before(async () => {
  server = await startServer();
  api = new Api(server.url);
  await startSuspensionScenario();
});

after(async () => {
  if (suspension?.timer) clearInterval(suspension.timer);
  for (const c of cleanups.reverse()) {
    try { await c(); } catch { /* already gone */ }
  }
  await server?.stop();
});

test('http sink: a JSON array with the configured Authorization and extra header; events are Auth0-style records', async () => {
  const t = await tenant('http');
  const auth = 'Bearer http-sink-token-0123456789';
  const r = await receiver('http', { authorization: auth, headers: { 'X-Tenant-Label': 'acme-prod' } });
  const s = await t.stream({
    name: 'siem', type: 'http', filters: FEACFT,
    sink: { url: r.url, content_format: 'json_array', authorization: auth, headers: { 'X-Tenant-Label': 'acme-prod' } },
  });
  assert.equal(s.type, 'http');
  assert.equal(s.status.state, 'active');
  const ids = await t.failTokens(3);
  await arrived(t, r, ids);
  assert.deepEqual(r.failures, []);
  // Exactly what the filter takes, and each record as the audit log shows it.
  const stored = new Map((await t.logs('feacft')).map((e) => [e.log_id, e]));
  const tenantId = await t.tenantId();
  for (const e of r.events) {
    assert.ok(stored.has(e.log_id), `an event that was generated: ${e.log_id}`);
    assert.deepEqual(e, stored.get(e.log_id));
    assert.equal(e.type, 'feacft');
    assert.equal(e.category, 'auth.token_exchange.fail');
    assert.equal(e.severity, 'warning');
    assert.equal(e.tenant_id, tenantId);
    assert.equal(e.client_id, 'no-such-client');
  }
  const done = await drained(t, s.id);
  assert.ok(done.status.events_delivered >= 3);
  assert.equal(done.status.events_failed, 0);
  assert.ok(done.status.last_success_at);
  assert.equal(done.status.last_error, null);
  const rows = await t.deliveries(s.id);
  assert.ok(rows.length >= 1 && rows.every((d) => d.status_code === 200 && d.error === null), JSON.stringify(rows));
  assert.equal(rows.reduce((n, d) => n + d.events, 0), r.events.length);
});

test('http sink: NDJSON, gzip-compressed', async () => {
  const t = await tenant('ndjson');
  const r = await receiver('http', { content_format: 'json_lines', gzip: true });
  await t.stream({ name: 'ndjson', type: 'http', filters: FEACFT, sink: { url: r.url, content_format: 'json_lines', gzip: true } });
  const ids = await t.failTokens(3);
  await arrived(t, r, ids);
  assert.deepEqual(r.failures, []);
  assert.ok(r.accepted.every((a) => a.headers['content-encoding'] === 'gzip'));
  assert.deepEqual([...r.ids()].sort(), [...ids].sort());
});

test('webhook sink: a generated secret is shown once; every batch carries a verifiable HMAC signature', async () => {
  const t = await tenant('webhook');
  const r = await receiver('webhook', {});
  const s = await t.stream({ name: 'hook', type: 'webhook', filters: FEACFT, sink: { url: r.url } });
  const secret = s.sink.secret;
  assert.match(secret, /^whsec_[A-Za-z0-9_-]{40,}$/, 'generated and shown in the 201 response');
  const shown = await t.status(s.id);
  assert.notEqual(shown.sink.secret, secret);
  assert.match(shown.sink.secret, /^\*\*\*\*/);
  assert.ok(!JSON.stringify(shown).includes(secret), 'never shown again');
  r.options.secret = secret;
  const ids = await t.failTokens(3);
  await arrived(t, r, ids);
  assert.deepEqual(r.failures, []);
  // The receiver's check is not vacuous: another secret, a changed body or
  // an old timestamp does not verify.
  const a = r.accepted[0];
  const sig = a.headers['tessera-signature'];
  assert.equal(verifyWebhookSignature(sig, a.body, secret), null);
  assert.notEqual(verifyWebhookSignature(sig, a.body, `${secret}x`), null);
  assert.notEqual(verifyWebhookSignature(sig, Buffer.concat([a.body, Buffer.from(' ')]), secret), null);
  assert.notEqual(verifyWebhookSignature(sig, a.body, secret, Math.floor(Date.now() / 1000) + 301), null);
});

test('datadog sink: logs intake v2 entries with dd-api-key, ddsource, service, hostname, message and ddtags; 202 is success', async () => {
  const t = await tenant('datadog');
  const opts = { api_key: 'dd0123456789abcdef0123456789abcd', service: 'tessera-e2e', source: 'tessera', tags: 'env:e2e,team:identity' };
  const r = await receiver('datadog', opts);
  const s = await t.stream({ name: 'dd', type: 'datadog', filters: FEACFT, sink: { site: 'datadoghq.eu', ...opts, url: r.url } });
  assert.equal(s.sink.site, 'datadoghq.eu');
  assert.equal(s.sink.api_key, '****abcd');
  const ids = await t.failTokens(3);
  await arrived(t, r, ids);
  assert.deepEqual(r.failures, []);
  const done = await drained(t, s.id);
  assert.equal(done.status.events_failed, 0);
  const rows = await t.deliveries(s.id);
  assert.ok(rows.every((d) => d.status_code === 202 && d.error === null), JSON.stringify(rows));
});

test('splunk sink: HEC envelopes with time, host, source, sourcetype and index; Authorization: Splunk <token>', async () => {
  const t = await tenant('splunk');
  const opts = { token: 'hec-0123456789-abcdef-token', index: 'auth', source: 'tessera-e2e', sourcetype: '_json' };
  const r = await receiver('splunk', opts);
  const s = await t.stream({ name: 'hec', type: 'splunk', filters: FEACFT, sink: { url: r.origin, ...opts } });
  assert.equal(s.sink.token, '****oken');
  const ids = await t.failTokens(3);
  await arrived(t, r, ids);
  assert.deepEqual(r.failures, []);
  const rows = await t.deliveries(s.id);
  assert.ok(rows.every((d) => d.status_code === 200 && d.error === null), JSON.stringify(rows));
});

// ---------------------------------------------------------------------------
// S3: moto's server verifies SigV4; a capturing proxy in front of it keeps
// one request for botocore's independent check (tests/sinks/sigv4_check.py).

async function startMoto() {
  const port = await freePort();
  const child = spawn(path.join(root, '.venv/bin/moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '4' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  });
  // A TCP probe only: every HTTP request would count against the four
  // unauthenticated actions.
  await until('moto_server listening', () => new Promise((resolve) => {
    if (child.exitCode !== null) throw new Error(`moto_server exited:\n${log}`);
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), 20_000, 150);
  return { endpoint: `http://127.0.0.1:${port}`, port, log: () => log };
}

/** Forwards to moto unchanged (Host included), keeping every request. */
async function captureProxy(targetPort) {
  const captured = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const pairs = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const entry = { method: req.method, url: req.url, headers: pairs, body, status: null, answer: '' };
      captured.push(entry);
      const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        const back = [];
        ur.on('data', (c) => back.push(c));
        ur.on('end', () => {
          entry.status = ur.statusCode;
          entry.answer = Buffer.concat(back).toString('utf8');
          res.writeHead(ur.statusCode, ur.headers).end(Buffer.concat(back));
        });
      });
      up.on('error', (e) => { entry.status = 'error'; res.writeHead(502).end(String(e)); });
      up.end(body);
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return { origin: `http://127.0.0.1:${srv.address().port}`, captured };
}

test('s3 sink: gzip NDJSON objects under prefix/tenant/yyyy/mm/dd, SigV4-signed (moto verifies; a wrong secret gets 403)', async (tt) => {
  if (!existsSync(path.join(root, '.venv/bin/moto_server'))) {
    assert.fail('moto is not installed: run scripts/setup.sh (moto[server] in .venv)');
  }
  const moto = await startMoto();
  const bucket = 'tessera-audit';
  const region = 'eu-west-1';
  const { stdout } = await run(PY, [path.join(root, 'tests/sinks/s3_helper.py'), 'setup', '--endpoint', moto.endpoint, '--bucket', bucket, '--region', region]);
  const creds = JSON.parse(stdout);
  const proxy = await captureProxy(moto.port);

  const t = await tenant('s3');
  const sink = { bucket, region, prefix: 'logs/e2e', endpoint: proxy.origin, path_style: true, access_key_id: creds.access_key_id };
  const good = await t.stream({ name: 's3', type: 's3', filters: FEACFT, sink: { ...sink, secret_access_key: creds.secret_access_key } });
  assert.equal(good.sink.secret_access_key, `****${creds.secret_access_key.slice(-4)}`);
  const wrongSecret = `${creds.secret_access_key.slice(0, -6)}WRONG0`;
  const bad = await t.stream({ name: 's3-wrong', type: 's3', filters: FEACFT, sink: { ...sink, secret_access_key: wrongSecret } });

  const ids = await t.failTokens(3);
  const done = await until('the good S3 stream delivered all three', async () => {
    const s = await t.status(good.id);
    return s.status.events_pending === 0 && s.status.events_delivered >= 3 && s;
  }, 30_000, 300);
  assert.equal(done.status.events_failed, 0, JSON.stringify(done.status));

  // The wrong secret: moto refuses the signature.
  const badRows = await until('a failed delivery of the wrong-secret stream', async () => {
    const rows = await t.deliveries(bad.id);
    return rows.length > 0 && rows;
  }, 20_000);
  for (const d of badRows) {
    assert.equal(d.status_code, 403, JSON.stringify(d));
    assert.match(d.error, /SignatureDoesNotMatch/);
    assert.ok(!d.error.includes(wrongSecret));
  }
  const badStatus = await t.status(bad.id);
  assert.equal(badStatus.status.events_delivered, 0);
  assert.ok(badStatus.status.events_failed > 0);
  assert.match(badStatus.status.last_error, /403/);
  assert.equal((await t.call('DELETE', `/log-streams/${bad.id}`)).status, 204);

  // Read the objects back with boto3.
  const tenantId = await t.tenantId();
  const { stdout: listing } = await run(PY, [path.join(root, 'tests/sinks/s3_helper.py'), 'read', '--endpoint', moto.endpoint,
    '--bucket', bucket, '--region', region, '--prefix', `logs/e2e/${tenantId}/`], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: creds.access_key_id, AWS_SECRET_ACCESS_KEY: creds.secret_access_key },
  });
  const { objects } = JSON.parse(listing);
  assert.ok(objects.length >= 1, 'at least one object');
  const days = [0, 1].map((d) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '/'));
  const arrived = new Set();
  for (const o of objects) {
    assert.equal(o.error, null, `${o.key}: ${o.error}`);
    assert.ok(o.gzip, `${o.key} is gzip`);
    assert.equal(o.content_encoding, 'gzip');
    const m = o.key.match(new RegExp(`^logs/e2e/${tenantId}/(\\d{4}/\\d{2}/\\d{2})/([^/]+)\\.ndjson\\.gz$`));
    assert.ok(m, `key layout: ${o.key}`);
    assert.ok(days.includes(m[1]), `dated today (UTC): ${o.key}`);
    for (const e of o.events) {
      assert.equal(e.tenant_id, tenantId);
      assert.equal(e.type, 'feacft');
      arrived.add(e.log_id);
    }
  }
  assert.deepEqual([...arrived].sort(), [...ids].sort());

  // Every PUT that moto accepted is a signature botocore computes too.
  const put = proxy.captured.find((c) => c.method === 'PUT' && c.status === 200);
  assert.ok(put, `a PUT went through: ${JSON.stringify(proxy.captured.map((c) => [c.method, c.url, c.status]))}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-sigv4-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'headers.json'), JSON.stringify(put.headers));
  writeFileSync(path.join(dir, 'body.bin'), put.body);
  const check = await run(PY, [path.join(root, 'tests/sinks/sigv4_check.py'), '--method', 'PUT', '--url', proxy.origin + put.url,
    '--headers', path.join(dir, 'headers.json'), '--body', path.join(dir, 'body.bin'), '--secret', creds.secret_access_key])
    .catch((e) => e);
  const verdict = JSON.parse(check.stdout);
  assert.equal(verdict.match, true, JSON.stringify(verdict.problems));
  assert.equal(verdict.service, 's3');
  assert.equal(verdict.region, region);
  // And the refused ones are refused by botocore too (the signer is not just
  // "accepted by moto").
  const refused = proxy.captured.find((c) => c.method === 'PUT' && c.status === 403);
  if (refused) {
    writeFileSync(path.join(dir, 'headers.json'), JSON.stringify(refused.headers));
    writeFileSync(path.join(dir, 'body.bin'), refused.body);
    const c2 = await run(PY, [path.join(root, 'tests/sinks/sigv4_check.py'), '--method', 'PUT', '--url', proxy.origin + refused.url,
      '--headers', path.join(dir, 'headers.json'), '--body', path.join(dir, 'body.bin'), '--secret', creds.secret_access_key])
      .catch((e) => e);
    assert.equal(JSON.parse(c2.stdout).signature_match, false);
  }
  tt.diagnostic(`s3: ${objects.length} objects, ${proxy.captured.length} requests through the proxy`);
});

// ---------------------------------------------------------------------------

test('filters: a stream on auth.token_exchange.fail gets the failed token requests and never sapi or seccft', async () => {
  const t = await tenant('filters');
  const filtered = await receiver('http', {});
  const everything = await receiver('http', {});
  // The unfiltered one first: every later event is fanned out to both. (The
  // tenant's own creation events may be fanned out before it exists.)
  const earlier = await t.ids(null);
  await t.stream({ name: 'all', type: 'http', sink: { url: everything.url } });
  const f = await t.stream({ name: 'fails', type: 'http', filters: { categories: ['auth.token_exchange.fail'] }, sink: { url: filtered.url } });
  // A client and a successful client-credentials token (seccft)...
  const c = await t.call('POST', '/clients', {
    name: 'bot', grant_types: ['client_credentials'], audiences: ['urn:tessera:management'], scopes: ['read:users'],
  });
  assert.equal(c.status, 201, c.text);
  const ok = await api.call('POST', `/t/${t.slug}/oauth/token`, {
    body: 'grant_type=client_credentials&audience=urn%3Atessera%3Amanagement',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${c.json.client_id}:${c.json.client_secret}`).toString('base64')}`,
    },
  });
  assert.equal(ok.status, 200, ok.text);
  // ...failed ones (feacft), and management calls (sapi) before and after.
  const ids = await t.failTokens(3);
  assert.equal((await t.call('GET', '/log-streams')).status, 200);
  // On Workers a client's own token writes nothing on the request path: its
  // event reaches the audit table through the queue consumer, seconds later.
  const seccft = await until('the seccft event', async () => { const s = [...await t.ids('seccft')]; return s.length > 0 && s; }, 10_000);
  const sapi = [...await t.ids('sapi')].filter((id) => !earlier.has(id));
  assert.equal(seccft.length, 1);
  assert.ok(sapi.length >= 3);
  // The unfiltered stream shows the other events were there to be sent.
  await arrived(t, everything, [...ids, ...seccft, ...sapi]);
  await arrived(t, filtered, ids);
  await drained(t, f.id);
  assert.deepEqual(filtered.failures, []);
  assert.deepEqual(everything.failures, []);
  assert.deepEqual([...filtered.ids()].sort(), [...ids].sort());
  for (const e of filtered.events) {
    assert.equal(e.category, 'auth.token_exchange.fail');
    assert.ok(!['sapi', 'seccft'].includes(e.type));
  }
  // Filters are validated: a typo is refused rather than matching nothing.
  const typo = await t.call('POST', '/log-streams', { name: 'x', type: 'http', filters: { categories: ['auth.tokn'] }, sink: { url: filtered.url } });
  assert.equal(typo.status, 400, typo.text);
});

test("tenant isolation: two tenants' streams never see each other's events", async () => {
  const a = await tenant('iso-a');
  const b = await tenant('iso-b');
  const ra = await receiver('http', {});
  const rb = await receiver('webhook', {});
  // Events from before a stream existed are not its to send.
  const earlier = new Set([...await a.ids(null), ...await b.ids(null)]);
  await a.stream({ name: 'all', type: 'http', sink: { url: ra.url } });
  const sb = await b.stream({ name: 'all', type: 'webhook', sink: { url: rb.url } });
  rb.options.secret = sb.sink.secret;
  const idsA = [];
  const idsB = [];
  for (let i = 0; i < 3; i += 1) {
    idsA.push(...await a.failTokens(1));
    idsB.push(...await b.failTokens(1));
  }
  const [tenantA, tenantB] = [await a.tenantId(), await b.tenantId()];
  assert.notEqual(tenantA, tenantB);
  await arrived(a, ra, idsA);
  await arrived(b, rb, idsB);
  // Everything of each tenant (management calls included) is in by now.
  await arrived(a, ra, [...await a.ids(null)].filter((id) => !earlier.has(id)));
  await arrived(b, rb, [...await b.ids(null)].filter((id) => !earlier.has(id)));
  assert.deepEqual(ra.failures, []);
  assert.deepEqual(rb.failures, []);
  assert.ok(ra.events.every((e) => e.tenant_id === tenantA), 'A sees only A');
  assert.ok(rb.events.every((e) => e.tenant_id === tenantB), 'B sees only B');
  const bIds = rb.ids();
  assert.ok([...ra.ids()].every((id) => !bIds.has(id)));
});

test('outage: 503s, then a hanging receiver, then dropped connections; after recovery every event arrives and the DLQ is empty', async (tt) => {
  const t = await tenant('outage');
  const r = await receiver('http', {});
  const s = await t.stream({ name: 'flaky', type: 'http', filters: FEACFT, sink: { url: r.url } });
  const ids = [];

  r.fail(503);
  ids.push(...await t.failTokens(3));
  await r.waitFor((x) => x.rejected >= 2, 20_000, 'two 503 answers');
  ids.push(...await t.failTokens(1));

  // Held past the sink's deadline (native: 10 s), then dropped.
  const before = r.requests.length;
  r.fail('hang', { hangMs: 12_000 });
  ids.push(...await t.failTokens(2));
  await r.waitFor((x) => x.requests.slice(before).some((q) => q.status === 'hung'), 30_000, 'a hung request');

  r.fail('close');
  const beforeClose = r.requests.length;
  ids.push(...await t.failTokens(2));
  await r.waitFor((x) => x.requests.slice(beforeClose).some((q) => q.status === 'closed'), 40_000, 'a dropped connection');
  const mid = await t.status(s.id);
  assert.ok(mid.status.events_failed > 0);
  assert.ok(mid.status.failing_since, 'failing since the first failure');
  assert.equal(r.events.length, 0, 'nothing was accepted during the outage');

  r.succeed();
  ids.push(...await t.failTokens(2));
  const t0 = Date.now();
  await arrived(t, r, ids, 90_000);
  tt.diagnostic(`outage: all ${ids.length} events arrived ${Date.now() - t0} ms after recovery`);
  assert.deepEqual(r.failures, []);
  assert.ok(r.events.every((e) => ids.includes(e.log_id)));
  const done = await drained(t, s.id);
  assert.equal(done.status.dead_letters, 0);
  assert.equal(done.status.events_pending, 0);
  assert.equal(done.status.failing_since, null);
  assert.equal((await t.deadLetters(s.id)).length, 0);
  const rows = await t.deliveries(s.id);
  assert.ok(rows.some((d) => d.status_code === 503), 'the 503s are recorded');
  assert.ok(rows.some((d) => d.status_code === null && d.error), 'transport failures are recorded without a status');
  assert.ok(rows.some((d) => d.status_code === 200));
  if (HOST === 'spin') assert.ok(rows.some((d) => /timed out/.test(d.error || '')), `a timeout: ${JSON.stringify(rows.map((d) => d.error))}`);
});

test('always failing: retries up to the limit, then dead letters; secrets echoed by the receiver stay out of errors; pause, resume and redeliver', async (tt) => {
  const t = await tenant('dlq');
  const auth = 'Bearer dlq-secret-token-9f8e7d6c5b4a';
  const extra = 'x-api-key-value-5566778899';
  const r = await receiver('http', { authorization: auth, headers: { 'X-Api-Key': extra } });
  // The receiver answers 500 and echoes the request's credentials back.
  r.fail(500, { body: (req) => `denied: authorization=${req.headers.authorization} key=${req.headers['x-api-key']}` });
  const s = await t.stream({
    name: 'broken', type: 'http', filters: FEACFT, suspend_after_seconds: 600,
    sink: { url: r.url, authorization: auth, headers: { 'X-Api-Key': extra } },
  });
  // Both events wait while paused, so that every attempt carries both.
  assert.equal((await t.call('POST', `/log-streams/${s.id}/pause`)).status, 200);
  const ids = await t.failTokens(2);
  await until('both events pending', async () => (await t.status(s.id)).status.events_pending === 2, 15_000);

  // Eight failed attempts, each retry brought forward by pausing and
  // resuming (a resume makes every waiting event due now; resuming an
  // active stream does nothing) instead of waiting out the backoff.
  let attempts = 0;
  let lastFailed = 0;
  const started = Date.now();
  while (attempts < 8) {
    if (attempts > 0) assert.equal((await t.call('POST', `/log-streams/${s.id}/pause`)).status, 200);
    assert.equal((await t.call('POST', `/log-streams/${s.id}/resume`)).status, 200);
    const rows = await until(`failed attempt ${attempts + 1}`, async () => {
      const rs = await t.deliveries(s.id);
      return rs.length > attempts && rs;
    }, 20_000, 150);
    attempts = rows.length;
    const st = await t.status(s.id);
    assert.ok(st.status.events_failed > lastFailed, 'events_failed grows');
    lastFailed = st.status.events_failed;
  }
  tt.diagnostic(`dlq: 8 attempts in ${Date.now() - started} ms`);
  const dead = await until('two dead letters', async () => {
    const d = await t.deadLetters(s.id);
    return d.length === 2 && d;
  }, 10_000);
  assert.deepEqual(dead.map((d) => d.log_id).sort(), [...ids].sort());
  for (const d of dead) {
    assert.equal(d.attempts, 8);
    assert.equal(d.event.log_id, d.log_id);
    assert.match(d.last_error, /HTTP 500/);
    assert.ok(!d.last_error.includes(auth) && !d.last_error.includes(extra), d.last_error);
  }
  const rows = await t.deliveries(s.id);
  assert.equal(rows.length, 8);
  assert.deepEqual(rows.map((d) => d.attempt).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const d of rows) {
    assert.equal(d.status_code, 500);
    assert.match(d.error, /\[redacted\]/, 'the echoed secret is replaced');
    assert.ok(!d.error.includes(auth) && !d.error.includes(extra) && !d.error.includes('dlq-secret-token'), d.error);
  }
  let st = await t.status(s.id);
  assert.equal(st.status.dead_letters, 2);
  assert.equal(st.status.events_pending, 0);
  assert.equal(st.status.events_failed, 16);
  assert.equal(st.status.state, 'active', 'not suspended: it has failed for less than suspend_after_seconds');
  assert.ok(!st.status.last_error.includes(auth) && !st.status.last_error.includes(extra), st.status.last_error);
  assert.equal(r.events.length, 0);

  // Paused: events collect, nothing is sent.
  r.succeed();
  const paused = await t.call('POST', `/log-streams/${s.id}/pause`);
  assert.equal(paused.status, 200);
  assert.equal(paused.json.status.state, 'paused');
  const sentBefore = r.requests.length;
  const later = await t.failTokens(2);
  st = await until('two events pending while paused', async () => {
    const x = await t.status(s.id);
    return x.status.events_pending === 2 && x;
  }, 15_000);
  assert.ok(st.status.lag_ms > 0);
  const test409 = await t.call('POST', `/log-streams/${s.id}/test`);
  assert.equal(test409.status, 409, 'no test event to a paused stream');
  // One dead letter back while paused: it waits too.
  const one = await t.call('POST', `/log-streams/${s.id}/dead-letters/${dead[0].log_id}/redeliver`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.redelivered, 1);
  assert.equal((await t.call('POST', `/log-streams/${s.id}/dead-letters/${dead[0].log_id}/redeliver`)).status, 404);
  st = await t.status(s.id);
  assert.equal(st.status.events_pending, 3);
  assert.equal(st.status.dead_letters, 1);
  await sleep(1500);
  assert.equal(r.requests.length, sentBefore, 'nothing is sent while paused');

  // Resumed: they arrive; then the rest of the DLQ.
  const resumed = await t.call('POST', `/log-streams/${s.id}/resume`);
  assert.equal(resumed.json.status.state, 'active');
  await arrived(t, r, [...later, dead[0].log_id], 20_000);
  const all = await t.call('POST', `/log-streams/${s.id}/dead-letters/redeliver`);
  assert.equal(all.json.redelivered, 1);
  await arrived(t, r, [...ids, ...later], 20_000);
  assert.deepEqual(r.failures, []);
  st = await drained(t, s.id);
  assert.equal(st.status.dead_letters, 0);
  assert.equal(st.status.failing_since, null);
  assert.ok(st.status.last_success_at);
});

test('secrets: never echoed by the API (create, get, list, patch, audit log); a PATCH without them keeps them', async () => {
  const t = await tenant('secrets');
  const secrets = {
    http: 'Bearer http-authz-secret-aaaa1111bbbb',
    header: 'hdr-secret-cccc2222dddd',
    webhook: 'whsec_given-secret-eeee3333ffff',
    dd: 'dd-api-key-gggg4444hhhh5555',
    hec: 'hec-token-iiii6666jjjj7777',
    s3: 's3-secret-kkkk8888llll9999/+mmmm',
    session: 'session-token-nnnn0000oooo',
  };
  const splunk = await receiver('splunk', { token: secrets.hec, source: 'tessera', sourcetype: 'tessera:log' });
  const specs = [
    { name: 'h', type: 'http', sink: { url: 'http://127.0.0.1:9/x', authorization: secrets.http, headers: { 'X-Key': secrets.header } } },
    { name: 'w', type: 'webhook', sink: { url: 'http://127.0.0.1:9/x', secret: secrets.webhook } },
    { name: 'd', type: 'datadog', sink: { api_key: secrets.dd, url: 'http://127.0.0.1:9/x' } },
    { name: 'sp', type: 'splunk', filters: FEACFT, sink: { url: splunk.origin, token: secrets.hec } },
    // Test servers allow loopback sinks only (LOG_SINK_HOSTS), so the S3
    // stream names a local endpoint.
    { name: 's3', type: 's3', sink: { bucket: 'b-logs', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', path_style: true, access_key_id: 'AKIDEXAMPLE', secret_access_key: secrets.s3, session_token: secrets.session } },
  ];
  const leaks = (text) => Object.values(secrets).filter((v) => text.includes(v) || text.includes(v.slice(0, 12)));
  const created = [];
  for (const spec of specs) {
    const r = await t.call('POST', '/log-streams', spec);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(leaks(r.text), [], `create ${spec.type}`);
    created.push(r.json);
  }
  // Paused right away: these point nowhere.
  for (const c of created.filter((c) => c.type !== 'splunk')) await t.call('POST', `/log-streams/${c.id}/pause`);
  assert.equal(created[0].sink.authorization, '****bbbb');
  assert.deepEqual(created[0].sink.headers, { 'X-Key': '****dddd' });
  for (const c of created) {
    const g = await t.call('GET', `/log-streams/${c.id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(leaks(g.text), [], `get ${c.type}`);
  }
  const list = await t.call('GET', '/log-streams');
  assert.equal(list.json.log_streams.length, specs.length);
  assert.deepEqual(leaks(list.text), [], 'list');
  // PATCH the Splunk stream without its token: the token stays, the answer masks it.
  const sp = created.find((c) => c.type === 'splunk');
  const p = await t.call('PATCH', `/log-streams/${sp.id}`, { name: 'hec (renamed)', sink: { index: 'security' } });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(leaks(p.text), [], 'patch');
  assert.equal(p.json.sink.index, 'security');
  assert.equal(p.json.sink.token, '****7777');
  splunk.options.index = 'security';
  const ids = await t.failTokens(2);
  await arrived(t, splunk, ids);
  assert.deepEqual(splunk.failures, [], 'the kept token still authenticates');
  // A PATCH that sets a secret answers masked too.
  const p2 = await t.call('PATCH', `/log-streams/${created[2].id}`, { sink: { api_key: 'dd-new-key-pppp1111qqqq' } });
  assert.equal(p2.status, 200, p2.text);
  assert.ok(!p2.text.includes('dd-new-key-pppp1111qqqq'));
  assert.equal(p2.json.sink.api_key, '****qqqq');
  // The audit log of all this holds no secret either.
  const logs = await t.call('GET', '/logs?limit=100');
  assert.deepEqual(leaks(logs.text), [], 'audit log');
  assert.ok(!logs.text.includes('dd-new-key-pppp1111qqqq'));
});

test('test event: POST /test delivers a log_stream_test event with that log_id to that stream only', async () => {
  const t = await tenant('testevent');
  const target = await receiver('http', {});
  const other = await receiver('http', {});
  // The target's filter would not take the test event: it is routed to it regardless.
  const s = await t.stream({ name: 'target', type: 'http', filters: FEACFT, sink: { url: target.url } });
  await t.stream({ name: 'other', type: 'http', sink: { url: other.url } });
  const r = await t.call('POST', `/log-streams/${s.id}/test`);
  assert.equal(r.status, 202, r.text);
  const logId = r.json.log_id;
  assert.ok(logId);
  await arrived(t, target, [logId]);
  const e = target.events.find((x) => x.log_id === logId);
  assert.equal(e.type, 'log_stream_test');
  assert.equal(e.tenant_id, await t.tenantId());
  assert.equal(e.details.stream_id, s.id);
  // The other stream gets the audit of the call, never the test event.
  await other.waitFor((x) => x.events.some((y) => y.type === 'sapi' && JSON.stringify(y.details).includes(logId)), 20_000, 'the audit of the test call');
  await drained(t, s.id);
  assert.ok(!other.events.some((y) => y.type === 'log_stream_test'));
  assert.ok(!other.ids().has(logId));
  assert.deepEqual(target.failures, []);
  assert.deepEqual(other.failures, []);
  const rows = await t.deliveries(s.id);
  assert.ok(rows.some((d) => d.status_code === 200 && d.events >= 1));
  assert.equal((await t.call('POST', '/log-streams/lst_nope/test')).status, 404);
});

// ---------------------------------------------------------------------------
// Both hosts: no redirect is followed, and a sink request has a deadline
// (actions-host/src/outbound.rs, edge/workers/src/adapters.rs).

test('redirects: a sink answering 3xx is a failed attempt; the batch and its credentials never reach the redirect target', async () => {
  const t = await tenant('redirect');
  const target = await receiver('datadog', { api_key: 'dd-redirect-key-0011223344' });
  const dd = await receiver('http', {});
  dd.fail(308, { headers: { location: target.url } });
  const hook = await receiver('http', {});
  hook.fail(302, { headers: { location: `${target.origin}/elsewhere` } });
  const a = await t.stream({ name: 'dd', type: 'datadog', filters: FEACFT, sink: { api_key: 'dd-redirect-key-0011223344', url: dd.origin + '/api/v2/logs' } });
  const b = await t.stream({ name: 'h', type: 'http', filters: FEACFT, sink: { url: hook.url, headers: { 'X-Api-Key': 'redirect-header-secret-5566' } } });
  try {
    await t.failTokens(1);
    for (const s of [a, b]) {
      const rows = await until(`an attempt of ${s.name}`, async () => {
        const d = await t.deliveries(s.id);
        return d.length > 0 && d;
      }, 15_000);
      assert.ok(rows[0].status_code >= 300 && rows[0].status_code < 400, JSON.stringify(rows[0]));
      assert.ok(rows[0].error);
    }
    await sleep(500);
    assert.deepEqual(target.requests.map((q) => [q.method, q.url, q.headers['dd-api-key'] ?? null, q.headers['x-api-key'] ?? null]), []);
  } finally {
    await t.call('DELETE', `/log-streams/${a.id}`);
    await t.call('DELETE', `/log-streams/${b.id}`);
  }
});

test('a receiver that never answers: the attempt is given up at the sink deadline and retried', async () => {
  const t = await tenant('deadline');
  const r = await receiver('http', {});
  r.fail('hang', { hangMs: 60_000 });
  const s = await t.stream({ name: 'silent', type: 'http', filters: FEACFT, sink: { url: r.url } });
  try {
    await t.failTokens(1);
    await r.waitFor((x) => x.requests.length >= 1, 15_000, 'the request');
    const rows = await until('the hung attempt recorded as failed', async () => {
      const d = await t.deliveries(s.id);
      return d.length > 0 && d;
    }, 15_000, 250);
    assert.equal(rows[0].status_code, null);
    assert.ok(rows[0].error, 'an error is recorded');
    assert.ok(rows[0].duration_ms < 15_000, `gave up after ${rows[0].duration_ms} ms`);
  } finally {
    // Drops the held connection, so nothing stays stuck behind it.
    await r.close();
    await t.call('DELETE', `/log-streams/${s.id}`);
  }
});

// ---------------------------------------------------------------------------
// Suspension needs a stream failing for at least 60 s (the least
// suspend_after_seconds). It starts in before(), with an event every two
// seconds, and is checked last, so the wait overlaps the other tests.

let suspension;
async function startSuspensionScenario() {
  const t = await tenant('suspend');
  const r = await receiver('http', {});
  r.fail(503);
  const s = await t.stream({ name: 'dead end', type: 'http', filters: FEACFT, suspend_after_seconds: 60, sink: { url: r.url } });
  suspension = { t, r, s, startedAt: Date.now(), generated: 0 };
  await t.failToken();
  suspension.timer = setInterval(() => {
    t.failToken().then(() => { suspension.generated += 1; }, () => {});
  }, 2000);
}

test('suspension: a stream failing longer than suspend_after_seconds is suspended; resume and redelivery deliver everything', async (tt) => {
  const { t, r, s } = suspension;
  const st = await until('the stream suspended', async () => {
    const x = await t.status(s.id);
    return x.status.state === 'suspended' && x;
  }, Math.max(10_000, suspension.startedAt + 120_000 - Date.now()), 500);
  clearInterval(suspension.timer);
  suspension.timer = null;
  tt.diagnostic(`suspended ${Math.round((Date.now() - suspension.startedAt) / 1000)} s after the first event`);
  const failingFor = Date.parse(st.status.last_error_at) - Date.parse(st.status.failing_since);
  assert.ok(failingFor >= 60_000, `failing for ${failingFor} ms before suspension`);
  const suspendedEvents = await t.logs('log_stream_suspended');
  assert.equal(suspendedEvents.length, 1);
  assert.equal(suspendedEvents[0].details.stream_id, s.id);
  assert.equal(suspendedEvents[0].severity, 'error');
  // Suspended: nothing is attempted, whatever arrives.
  const attempts = r.requests.length;
  await t.failTokens(2);
  await sleep(1500);
  assert.equal(r.requests.length, attempts, 'no attempt while suspended');
  assert.equal((await t.call('POST', `/log-streams/${s.id}/test`)).status, 409);

  // Fixed and resumed: the waiting events go out, then the dead letters.
  r.succeed();
  const resumed = await t.call('POST', `/log-streams/${s.id}/resume`);
  assert.equal(resumed.status, 200);
  assert.equal(resumed.json.status.state, 'active');
  await drained(t, s.id, 30_000);
  const dead = await t.deadLetters(s.id);
  if (dead.length) {
    const redo = await t.call('POST', `/log-streams/${s.id}/dead-letters/redeliver`);
    assert.equal(redo.json.redelivered, dead.length);
  }
  tt.diagnostic(`suspension: ${dead.length} events had been dead-lettered`);
  const ids = await t.ids();
  await arrived(t, r, ids, 30_000);
  assert.deepEqual(r.failures, []);
  const end = await drained(t, s.id);
  assert.equal(end.status.dead_letters, 0);
  assert.equal(end.status.state, 'active');
});
