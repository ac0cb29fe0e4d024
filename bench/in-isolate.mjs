// Tessera's own CPU per request inside one isolate, for the floor
// (GET /healthz) and the client_credentials token: a Worker
// (bench/lib/in-isolate/worker.mjs, with Tessera's bindings) hands N requests
// to Tessera's entry in a loop, then the same N to an empty handler, in
// alternating rounds, and the runtime's CPU is read from /proc for each.
//
// bench/token-endpoint.mjs measures what production pays per HTTP request,
// but on a shared 2-core machine its "own" figure moves by ±0.02 ms (floor)
// to ±0.08 ms (token) from run to run. Without the HTTP server, the dev
// proxy and the per-request dispatch (the same for every Worker), this one
// compares two builds within a few microseconds. It reads lower than the
// HTTP figure: a loop keeps the module's code hot in the CPU's caches, where
// between two HTTP requests the proxy and the kernel run.
// Usage: SKIP_WORKER_BUILD=1 node bench/in-isolate.mjs   (after scripts/build-worker.sh)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jsonCaller, migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { cpuMsExact, startDevServer } from './lib/measure.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 10);
// BENCH_COLD=MiB: between two requests the loop writes that much memory
// (8 is enough on this machine), which evicts the module's code and data
// from the CPU's caches, as the HTTP server, the dev proxy and the kernel do
// between two HTTP requests. Both handlers pay the same writes; the
// difference is what Tessera's code costs cold. See the README: this is
// the closer stand-in for the HTTP figures.
const EVICT_BYTES = Math.round(Number(process.env.BENCH_COLD || 0) * 1024 * 1024);
const scaled = (n) => (EVICT_BYTES > 0 ? Math.ceil(n / 5) : n);
const SETTLE_MS = 1500;
const AUDIENCE = 'https://api.example.test';

// Tessera's own wrangler.toml (its bindings, D1 included), with the loop
// Worker as its entry and no build step.
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-in-isolate-'));
const config = readFileSync(path.join(root, 'wrangler.toml'), 'utf8')
  .replace(/^main = .*$/m, `main = "${path.join(root, 'bench/lib/in-isolate/worker.mjs')}"`)
  .replace(/^\[build\][\s\S]*?^command = .*$/m, '');
writeFileSync(path.join(dir, 'wrangler.toml'), config);
const persistTo = path.join(dir, 'state');
migrate(persistTo);
const platformKey = `bench-${randomSecret(18)}`;
const server = await startDevServer(path.join(dir, 'wrangler.toml'), persistTo, { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true' });
const [pid] = server.groups.runtime;

const call = jsonCaller(server.url);
await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'bench' });
const key = (await call('POST', '/api/v1/internal/tenants/bench/api-keys', platformKey)).key;
await call('POST', '/t/bench/api/v1/resource-servers', key, { identifier: AUDIENCE, scopes: ['read:things'] });
const client = await call('POST', '/t/bench/api/v1/clients', key, { name: 'bench', grant_types: ['client_credentials'], audiences: [AUDIENCE], scopes: ['read:things'] });
const targets = [
  { label: 'floor (GET /healthz)', path: '/healthz', n: scaled(20000), headers: {} },
  {
    label: 'token (client_credentials, ES256)',
    path: '/t/bench/oauth/token',
    n: scaled(3000),
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      'x-body': `grant_type=client_credentials&scope=read%3Athings&resource=${encodeURIComponent(AUDIENCE)}`,
    },
  },
];

// µs of the runtime's CPU per request.
const run = async (which, t, n) => {
  const before = cpuMsExact([pid]);
  const r = await fetch(`${server.url}/loop?which=${which}&n=${n}&evict=${EVICT_BYTES}&path=${encodeURIComponent(t.path)}`, { headers: t.headers });
  const [failed, loopMs] = (await r.text()).split(' ').map(Number);
  if (r.status !== 200 || failed !== 0) throw new Error(`${t.label}: ${r.status}, ${failed} of ${n} failed`);
  // The token's audit events reach the queue consumer (in this same
  // runtime) within about a second: their storage is counted with the
  // round that caused it, not with the next one.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { cpu: ((cpuMsExact([pid]) - before) / n) * 1000, loop: (loopMs / n) * 1000 };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
try {
  for (const t of targets) {
    // Warm: V8's tiers, the isolate's caches.
    await run('tessera', t, t.n);
    await run('empty', t, t.n);
    const own = [];
    const loop = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      const tessera = await run('tessera', t, t.n);
      const empty = await run('empty', t, t.n);
      own.push(tessera.cpu - empty.cpu);
      loop.push(tessera.loop - empty.loop);
    }
    const spread = (xs) => { const s = [...xs].sort((a, b) => a - b); return `${s[0].toFixed(1)}-${s[s.length - 1].toFixed(1)}`; };
    console.log(`in one isolate${EVICT_BYTES > 0 ? `, caches evicted between requests (${process.env.BENCH_COLD} MiB written)` : ''}, ${t.label}: Tessera's own ${median(own).toFixed(1)} µs a request (median of ${ROUNDS} rounds of ${t.n}; ${spread(own)}), the loop's time alone ${median(loop).toFixed(1)} µs (${spread(loop)})`);
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
