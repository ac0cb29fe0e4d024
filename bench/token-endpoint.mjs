// Token endpoint, discovery and JWKS under the same load against Tessera on
// wrangler dev and against node oidc-provider, in the same run. Prints
// req/s, p50/p99 latency and server CPU per request, and the ratios.
// Bounded: a fixed number of requests per endpoint, loopback only.
//
// Server CPU is read from /proc. For oidc-provider it is its node process.
// For Tessera it is every process of the dev server, split in two:
// - runtime: the workerd process that runs the Worker, with wrangler's
//   local simulators of D1, KV and Queues inside it;
// - dev proxy: wrangler's proxy workerd in front of it and wrangler's node
//   process (live reload, logging), which production does not have.
// The dev server is wrangler's own (startWorker, what `wrangler dev` runs)
// with the devtools inspector off: see bench/lib/dev-server.mjs.
//
// The rows of an endpoint (Tessera, oidc-provider, the empty Worker and the
// shaped one, every server up at once and idle but for the one under load)
// are measured in turns, BENCH_ROUNDS rounds of a share of the requests
// each (bench/lib/measure.mjs `interleaved`): run one after the other, a
// minute apart, Tessera's own token figure moved between 0.25 and 0.60 ms
// from run to run within an hour, as the shared machine's speed drifted.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { freePort, jsonCaller, migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { interleaved, load as measure, row, startDevServer } from './lib/measure.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS || 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 8);
// Each endpoint is first served this many requests, unmeasured, on both
// servers: the figures are the steady state of a warm isolate, not V8's
// tier-up of the code that endpoint runs (a one-time cost, which
// bench/worker-startup.mjs measures apart). With 50 sequential warm-up
// requests and none per endpoint, as before, the token's first run carried
// about 0.07 ms a request of it.
const WARMUP = Number(process.env.BENCH_WARMUP || 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 4);
// After each turn, before its CPU is read: Tessera's queue consumer stores
// a turn's audit events within about a second and a quarter (the outbox's
// 250 ms, the local queue's batching of up to a second).
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS || 1500);
// An endpoint's rows, warmed up one by one, then measured in turns.
const load = async (entries) => {
  for (const e of entries) {
    if (WARMUP > 0) await measure(e.name, e.groups, e.makeRequest, { requests: WARMUP, concurrency: CONCURRENCY });
  }
  return interleaved(entries, { requests: REQUESTS, rounds: ROUNDS, concurrency: CONCURRENCY, settleMs: SETTLE_MS });
};
const AUDIENCE = 'https://api.example.test';
// --- Tessera on wrangler dev -------------------------------------------------
const platformKey = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
migrate(persistTo);
const tessera = await startDevServer(path.join(root, 'wrangler.toml'), persistTo, { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true' });
const call = jsonCaller(tessera.url);
const tmk = (await (async () => {
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'bench' });
  return (await call('POST', '/api/v1/internal/tenants/bench/api-keys', platformKey)).key;
})());
await call('POST', '/t/bench/api/v1/resource-servers', tmk, { identifier: AUDIENCE, scopes: ['read:things'] });
const client = await call('POST', '/t/bench/api/v1/clients', tmk, { name: 'bench', grant_types: ['client_credentials'], audiences: [AUDIENCE], scopes: ['read:things'] });

// --- oidc-provider ---------------------------------------------------------------
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'ES256' };
const opPort = await freePort();
const op = spawn(process.execPath, [path.join(root, 'bench/lib/oidc-provider-server.mjs'), String(opPort), client.client_id, client.client_secret, AUDIENCE, JSON.stringify(jwk)], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  op.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
  op.once('exit', (c) => reject(new Error(`oidc-provider exited ${c}`)));
});

// BENCH_IDENTITY=1: every request says `accept-encoding: identity`. By
// default it says what Node's fetch says (`br, gzip`), and wrangler's local
// runtime then compresses each compressible response inside the measured
// workerd (miniflare's entry Worker emulating the compression Cloudflare's
// front line does outside the Worker in production), the empty Worker's
// "ok" included.
const encoding = process.env.BENCH_IDENTITY ? { 'accept-encoding': 'identity' } : {};
const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
const tokenRequest = (url) => () => fetch(url, {
  method: 'POST',
  headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', ...encoding },
  body: `grant_type=client_credentials&scope=read%3Athings&resource=${encodeURIComponent(AUDIENCE)}`,
});
const get = (url) => () => fetch(url, { headers: encoding });

const tGroups = tessera.groups;
const oGroups = { node: [op.pid] };
try {
  // Both answer a token request (and warm their caches) before anything is
  // measured.
  for (const f of [tokenRequest(`${tessera.url}/t/bench/oauth/token`), tokenRequest(`http://127.0.0.1:${opPort}/token`)]) {
    for (let i = 0; i < 50; i += 1) { const r = await f(); const text = await r.text(); if (r.status !== 200) throw new Error(`warm-up: ${r.status} ${text}`); }
  }
  // BENCH_ONLY=regex: only the endpoints whose label matches (with their
  // yardstick rows), for a quicker look at one of them.
  const only = new RegExp(process.env.BENCH_ONLY || '.');
  const endpoints = [
    ['token (client_credentials, ES256)', '/t/bench/oauth/token', tokenRequest, `http://127.0.0.1:${opPort}/token`],
    ['discovery', '/t/bench/.well-known/openid-configuration', get, `http://127.0.0.1:${opPort}/.well-known/openid-configuration`],
    ['jwks', '/t/bench/.well-known/jwks.json', get, `http://127.0.0.1:${opPort}/jwks`],
    // The floor: a route that touches no storage (oidc-provider: a 404).
    ['floor (no storage)', '/healthz', get, `http://127.0.0.1:${opPort}/healthz`],
  ].filter(([label]) => only.test(label));
  // Tessera's responses as they stand, headers and body, for the shaped
  // calibration rows.
  const shapes = {};
  for (const [, p, send] of endpoints) {
    const r = await send(`${tessera.url}${p}`)();
    shapes[p] = { body: await r.text(), headers: [...r.headers].filter(([name]) => !['content-length', 'date', 'content-encoding', 'transfer-encoding'].includes(name)) };
  }
  // The yardsticks, each under a dev server of its own like Tessera's: the
  // smallest possible Worker, and a Worker answering each endpoint's
  // request (reading a token request's form) with Tessera's own response
  // to it, with no work behind it: what the exchange's shape alone costs
  // the runtime and the dev proxy.
  const empty = await startDevServer(path.join(root, 'bench/lib/empty-worker/wrangler.toml'));
  const shapedWorker = await startDevServer(path.join(root, 'bench/lib/shaped-worker/wrangler.toml'), null, { SHAPES: JSON.stringify(shapes) });
  const results = [];
  try {
    for (const [label, p, send, oUrl] of endpoints) {
      const [t, o, e, y] = await load([
        { name: `tessera       ${label}`, groups: tGroups, makeRequest: send(`${tessera.url}${p}`) },
        { name: `oidc-provider ${label}`, groups: oGroups, makeRequest: send(oUrl) },
        { name: 'empty JS Worker (no Tessera code)', groups: empty.groups, makeRequest: get(`${empty.url}/`) },
        { name: `empty JS Worker, ${label.split(' ')[0]}-shaped`, groups: shapedWorker.groups, makeRequest: send(`${shapedWorker.url}${p}`) },
      ]);
      results.push({ label, t, o, e, y });
    }
  } finally {
    await empty.stop();
    await shapedWorker.stop();
  }

  console.log(`${REQUESTS} requests per endpoint, ${CONCURRENCY} concurrent, loopback, each row in ${ROUNDS} turns with the endpoint's other rows; server CPU from /proc (the runtime's read ${SETTLE_MS} ms after each turn); ${process.env.BENCH_IDENTITY ? 'accept-encoding: identity (the local runtime compresses nothing)' : "accept-encoding as Node's fetch sends it (the local runtime compresses compressible bodies, as Cloudflare's front line would outside the Worker)"}`);
  console.log('Tessera: "runtime" is the workerd running the Worker with local D1/KV/Queues; "dev proxy" is wrangler\'s proxy workerd and node.');
  for (const { t, o, e, y } of results) {
    console.log(row(t));
    console.log(row(o));
    console.log(`${''.padEnd(34)} ratio tessera/oidc-provider: throughput ${(t.rps / o.rps).toFixed(2)}x, cpu per request ${(t.cpuPerReq / o.cpuPerReq).toFixed(2)}x, runtime only ${(t.parts.runtime / o.cpuPerReq).toFixed(2)}x`);
    console.log(row(e));
    console.log(row(y));
  }
  const token = results.find(({ label }) => label.startsWith('token'));
  if (token) console.log(`${''.padEnd(34)} the runtime's own floor is ${(token.e.parts.runtime / token.o.cpuPerReq).toFixed(2)}x oidc-provider's whole token request`);
  // Tessera's own cost: its runtime CPU minus the empty Worker's in the same
  // turns, against the edge hot-path targets (the token's: half of
  // oidc-provider's whole request, at most 0.35 ms; and req/s within 15 %
  // of the empty Worker's).
  console.log("Tessera's own runtime CPU per request (runtime minus the empty Worker's):");
  for (const { label, t, o, e } of results) {
    const own = t.parts.runtime - e.parts.runtime;
    const limit = label.startsWith('token') ? Math.min(0.35, o.cpuPerReq / 2) : 0.05;
    const extra = label.startsWith('token') ? `; req/s ${(t.rps / e.rps * 100).toFixed(0)} % of the empty Worker's (target >= 85 %)` : '';
    console.log(`  ${label.padEnd(34)} ${own.toFixed(2)} ms (target <= ${limit.toFixed(2)})${extra}`);
  }
  // Not a target: the same figures against the empty Worker answering the
  // same request with the same response, so what is left is the work
  // behind the answer.
  console.log("Beside the empty Worker giving Tessera's own response to the same request (its req/s as a share of the plain empty Worker's):");
  for (const { label, t, e, y } of results) {
    console.log(`  ${label.padEnd(34)} ${(t.parts.runtime - y.parts.runtime).toFixed(2)} ms of runtime CPU more; req/s ${(t.rps / y.rps * 100).toFixed(0)} % of its (it: ${(y.rps / e.rps * 100).toFixed(0)} %)`);
  }
} finally {
  op.kill('SIGTERM');
  await tessera.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
