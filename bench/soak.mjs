// A soak of the Worker under mixed traffic on wrangler's dev server (local
// D1, KV and Queues; see bench/lib/dev-server.mjs): for SOAK_SECONDS
// (default 180), 8 at a time, discovery, JWKS, the login page,
// client-credentials tokens, introspection, failed client authentication,
// malformed token requests, and the users and logs lists (SOAK_ONLY picks
// some of them).
// Prints the requests and the 5xx per kind, and the resident memory of the
// workerd that runs the Worker at the start, every 30 s and at the end, so
// that growth shows as a figure per request. The resident size is the whole
// runtime's (the isolate's heap and wrangler's local simulators of
// D1/KV/Queues inside the same process), so two yardsticks run first for as
// long: an empty JS Worker and a JS Worker that only writes and reads D1.
// With SOAK_INSPECTOR_PORT set, wrangler's inspector is opened on that port
// and the Worker isolate's own heap (JS and Wasm linear memory) is printed
// too (the inspector costs CPU, not the Worker's memory).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jsonCaller, migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { connect } from './lib/devtools.mjs';
import { startDevServer } from './lib/measure.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS || 180);
const CONCURRENCY = 8;
const AUDIENCE = 'https://api.example.test';

/** Resident set size of `pid` in MB, from /proc (`field`: VmRSS, RssAnon, RssFile). */
function rssMb(pid, field = 'VmRSS') {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resident memory split into anonymous (heaps) and file-backed (mapped files, e.g. SQLite's). */
const residentSplit = (pid) => `anonymous ${rssMb(pid, 'RssAnon').toFixed(0)} MB, file-backed ${rssMb(pid, 'RssFile').toFixed(0)} MB`;

/** Bytes on disk under `dir` (the local D1/KV/Queues state). */
function diskMb(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return total / 1024 / 1024;
}

/**
 * The Worker isolate's own memory through the devtools protocol, when
 * SOAK_INSPECTOR_PORT opened wrangler's inspector: V8's JS heap, the
 * embedder's and array buffer backing stores (`Runtime.getHeapUsage`) after
 * a collection, and the Rust module's linear memory, a WebAssembly.Memory
 * whose backing store the figures above do not count.
 * One connection for the whole soak (bench/lib/devtools.mjs says why).
 */
async function inspector(port) {
  let contextId;
  const { send, close } = await connect(port, {
    onEvent: (m) => { if (m.method === 'Runtime.executionContextCreated') contextId = m.params.context.id; },
  });
  await send('Runtime.enable');
  const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  return {
    async heap() {
      await send('HeapProfiler.collectGarbage');
      const usage = await send('Runtime.getHeapUsage');
      const proto = await send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype', contextId });
      const found = await send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const sizes = await send('Runtime.callFunctionOn', {
        objectId: found.objects.objectId,
        functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength); }',
        returnByValue: true,
      });
      const wasm = sizes.result.value.map(mb).join(' + ') || 'none';
      return `isolate: JS heap ${mb(usage.usedSize)} used of ${mb(usage.totalSize)}, embedder ${mb(usage.embedderHeapUsedSize)}, array buffers ${mb(usage.backingStorageSize)}, Wasm linear memory ${wasm}`;
    },
    close,
  };
}

/**
 * Sends what `next()` names (`[kind, send]`), CONCURRENCY at a time, until
 * SECONDS have passed, counting requests and 5xx in all and per kind, and
 * calls `tick` every 30 s before the end.
 */
async function drive(next, tick) {
  const totals = { requests: 0, errors5xx: 0, kinds: {} };
  const began = Date.now();
  const deadline = began + SECONDS * 1000;
  const ticker = setInterval(() => { if (Date.now() < deadline - 1000) tick((Date.now() - began) / 1000, totals); }, 30_000);
  const worker = async () => {
    while (Date.now() < deadline) {
      const [kind, send] = next();
      const r = await send();
      await r.arrayBuffer();
      const c = (totals.kinds[kind] ??= { requests: 0, errors5xx: 0 });
      totals.requests += 1;
      c.requests += 1;
      if (r.status >= 500) {
        totals.errors5xx += 1;
        c.errors5xx += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearInterval(ticker);
  return totals;
}

// The yardsticks: the same dev server running JS Workers with no Tessera
// code for as long, an empty one (the runtime's own machinery) and one that
// writes and reads local D1 on every request (wrangler's D1 simulator), so
// that what they keep per request shows apart from what Tessera adds.
async function yardstick(label, dir) {
  const persist = mkdtempSync(path.join(os.tmpdir(), 'tessera-soak-yardstick-'));
  const worker = await startDevServer(path.join(root, dir, 'wrangler.toml'), persist);
  const [pid] = worker.groups.runtime;
  try {
    const start = rssMb(pid);
    const t = await drive(() => [label, () => fetch(`${worker.url}/`)], () => {});
    const end = rssMb(pid);
    const perRequest = ((end - start) * 1024 * 1024) / t.requests;
    console.log(`${label}: ${t.requests} requests in ${SECONDS} s, ${t.errors5xx} 5xx; runtime workerd resident memory ${start.toFixed(0)} MB -> ${end.toFixed(0)} MB (${residentSplit(pid)}): ${perRequest.toFixed(0)} bytes per request`);
    return perRequest;
  } finally {
    await worker.stop();
    rmSync(persist, { recursive: true, force: true });
  }
}
const emptyPerRequest = await yardstick('empty JS Worker (no Tessera code)', 'bench/lib/empty-worker');
await yardstick('JS Worker with one D1 write and one read per request (no Tessera code)', 'bench/lib/d1-worker');

const inspectorPort = process.env.SOAK_INSPECTOR_PORT;
if (inspectorPort) process.env.INSPECTOR_PORT = inspectorPort;
const platformKey = `soak-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-soak-'));
migrate(persistTo);
const server = await startDevServer(path.join(root, 'wrangler.toml'), persistTo, { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true' });
const [runtime] = server.groups.runtime;
try {
  const call = jsonCaller(server.url);
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'soak' });
  const key = (await call('POST', '/api/v1/internal/tenants/soak/api-keys', platformKey)).key;
  await call('POST', '/t/soak/api/v1/resource-servers', key, { identifier: AUDIENCE, scopes: ['read:things'] });
  const client = await call('POST', '/t/soak/api/v1/clients', key, { name: 'soak', grant_types: ['client_credentials'], audiences: [AUDIENCE], scopes: ['read:things'] });
  const basic = (secret) => `Basic ${Buffer.from(`${client.client_id}:${secret}`).toString('base64')}`;
  const form = (authorization, body) => ({ method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body });
  const tokenBody = `grant_type=client_credentials&resource=${encodeURIComponent(AUDIENCE)}`;
  let lastToken = '';
  const u = (p) => `${server.url}/t/soak${p}`;
  // One of each in turn; the token's response feeds introspection.
  const mix = [
    ['discovery', () => fetch(u('/.well-known/openid-configuration'))],
    ['jwks', () => fetch(u('/.well-known/jwks.json'))],
    ['login page', () => fetch(u('/login'))],
    ['token', async () => {
      const r = await fetch(u('/oauth/token'), form(basic(client.client_secret), tokenBody));
      const j = await r.clone().json().catch(() => ({}));
      if (j.access_token) lastToken = j.access_token;
      return r;
    }],
    ['introspection', () => fetch(u('/oauth/introspect'), form(basic(client.client_secret), `token=${lastToken}`))],
    ['failed client auth', () => fetch(u('/oauth/token'), form(basic('not-the-secret'), tokenBody))],
    ['malformed token request', () => fetch(u('/oauth/token'), form(basic(client.client_secret), 'grant_type=%ZZ&&='))],
    ['users list', () => fetch(u('/api/v1/users?limit=20'), { headers: { authorization: `Bearer ${key}` } })],
    ['logs list', () => fetch(u('/api/v1/logs?limit=20'), { headers: { authorization: `Bearer ${key}` } })],
  ];
  // SOAK_ONLY="token,jwks" soaks with those kinds alone, to find which one
  // grows the runtime.
  const only = process.env.SOAK_ONLY?.split(',').map((n) => n.trim());
  if (only) mix.splice(0, mix.length, ...mix.filter(([n]) => only.includes(n)));
  if (mix.length === 0) throw new Error(`SOAK_ONLY names none of the request kinds`);
  const start = rssMb(runtime);
  console.log(`Tessera: ${SECONDS} s, ${CONCURRENCY} concurrent; runtime workerd resident memory at start ${start.toFixed(0)} MB (${residentSplit(runtime)}), local state on disk ${diskMb(persistTo).toFixed(1)} MB`);
  const devtools = inspectorPort ? await inspector(inspectorPort) : undefined;
  if (devtools) console.log(`  at start, ${await devtools.heap()}`);
  let next = 0;
  const t = await drive(() => mix[next++ % mix.length], (elapsed, totals) => {
    const line = `  ${elapsed.toFixed(0).padStart(4)} s: ${totals.requests} requests, ${totals.errors5xx} 5xx, resident ${rssMb(runtime).toFixed(0)} MB (${residentSplit(runtime)}), on disk ${diskMb(persistTo).toFixed(1)} MB`;
    if (!devtools) return console.log(line);
    devtools.heap().then((h) => console.log(`${line}; ${h}`), (e) => console.log(`${line}; ${e.message}`));
  });
  const end = rssMb(runtime);
  const perRequest = ((end - start) * 1024 * 1024) / t.requests;
  console.log(`Tessera: ${t.requests} requests in ${SECONDS} s (${(t.requests / SECONDS).toFixed(0)}/s), ${t.errors5xx} 5xx`);
  for (const [name] of mix) if (t.kinds[name]) console.log(`  ${name.padEnd(24)} ${String(t.kinds[name].requests).padStart(7)} requests, ${t.kinds[name].errors5xx} 5xx`);
  console.log(`runtime workerd resident memory: ${start.toFixed(0)} MB at start, ${end.toFixed(0)} MB at the end (${residentSplit(runtime)}): ${perRequest.toFixed(0)} bytes per request, ${(perRequest - emptyPerRequest).toFixed(0)} more than the empty Worker's; local state on disk ${diskMb(persistTo).toFixed(1)} MB`);
  if (devtools) {
    console.log(`at the end, ${await devtools.heap()}`);
    devtools.close();
  }
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
