// Token endpoint, discovery and JWKS under the same load against Tessera on
// wrangler dev and against node oidc-provider, in the same run. Prints
// req/s, p50/p99 latency and server CPU per request (read from /proc for
// the server processes: workerd for Tessera, node for oidc-provider), and
// the ratios. Bounded: a fixed number of requests per endpoint, loopback only.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { freePort, randomSecret, root, startWrangler } from '../scripts/lib/wrangler.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS || 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 8);
const AUDIENCE = 'https://api.example.test';
const TICK_MS = 1000 / 100; // USER_HZ

function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch { /* exited */ }
  }
  return ticks * TICK_MS;
}

function descendants(pid) {
  const children = new Map();
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (p) => { for (const c of children.get(p) || []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

async function load(name, pids, makeRequest) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  const before = cpuMs(pids);
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < REQUESTS) {
      next += 1;
      const t = process.hrtime.bigint();
      const r = await makeRequest();
      await r.arrayBuffer();
      if (r.status !== 200 && !name.includes('floor')) failures += 1;
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuMs(pids) - before;
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { name, rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), cpuPerReq: cpu / latencies.length, failures };
}

function row(r) {
  return `${r.name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   cpu ${r.cpuPerReq.toFixed(2).padStart(6)} ms/req${r.failures ? `   FAILURES ${r.failures}` : ''}`;
}

// --- Tessera on wrangler dev -------------------------------------------------
const platformKey = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
const tessera = await startWrangler({ port: await freePort(), persistTo, vars: { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey } });
const call = async (method, p, token, json) => {
  const r = await fetch(tessera.url + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: json && JSON.stringify(json) });
  const body = await r.json();
  if (r.status >= 300) throw new Error(`${p}: ${r.status} ${JSON.stringify(body)}`);
  return body;
};
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

const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
const tokenRequest = (url) => () => fetch(url, {
  method: 'POST',
  headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
  body: `grant_type=client_credentials&scope=read%3Athings&resource=${encodeURIComponent(AUDIENCE)}`,
});
const get = (url) => () => fetch(url);

const workerdPids = () => descendants(tessera.child.pid).filter((p) => {
  try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'workerd'; } catch { return false; }
});
const tPids = workerdPids();
const oPids = [op.pid];
try {
  // Warm both up (JIT, caches) before measuring.
  for (const f of [tokenRequest(`${tessera.url}/t/bench/oauth/token`), tokenRequest(`http://127.0.0.1:${opPort}/token`)]) {
    for (let i = 0; i < 50; i += 1) { const r = await f(); const text = await r.text(); if (r.status !== 200) throw new Error(`warm-up: ${r.status} ${text}`); }
  }
  const results = [];
  for (const [label, tReq, oReq] of [
    ['token (client_credentials, ES256)', tokenRequest(`${tessera.url}/t/bench/oauth/token`), tokenRequest(`http://127.0.0.1:${opPort}/token`)],
    ['discovery', get(`${tessera.url}/t/bench/.well-known/openid-configuration`), get(`http://127.0.0.1:${opPort}/.well-known/openid-configuration`)],
    ['jwks', get(`${tessera.url}/t/bench/.well-known/jwks.json`), get(`http://127.0.0.1:${opPort}/jwks`)],
    // The floor: a route that touches no storage (oidc-provider: a 404).
    ['floor (no storage)', get(`${tessera.url}/healthz`), get(`http://127.0.0.1:${opPort}/healthz`)],
  ]) {
    const t = await load(`tessera       ${label}`, tPids, tReq);
    const o = await load(`oidc-provider ${label}`, oPids, oReq);
    results.push([label, t, o]);
  }
  console.log(`${REQUESTS} requests per endpoint, ${CONCURRENCY} concurrent, loopback; server CPU from /proc (workerd: ${tPids.length} processes)`);
  for (const [label, t, o] of results) {
    console.log(row(t));
    console.log(row(o));
    console.log(`${''.padEnd(34)} ratio tessera/oidc-provider: throughput ${(t.rps / o.rps).toFixed(2)}x, cpu per request ${(t.cpuPerReq / o.cpuPerReq).toFixed(2)}x${label.startsWith('token') ? ' (target: <= 0.25)' : ''}`);
  }
} finally {
  op.kill('SIGTERM');
  await tessera.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
