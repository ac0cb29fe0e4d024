// Where a client_credentials token request's time goes inside the Worker
// isolate on wrangler dev: V8's sampling CPU profiler, read through
// wrangler's inspector, over PROFILE_REQUESTS requests (8 concurrent). Prints
// the functions with the most self time (Rust functions by their names in
// the module's name section, JS glue by name), and the share spent outside
// JavaScript and Wasm ("(program)": the runtime itself, I/O, the D1 and
// Queue simulators' calls into the isolate).
//
// A diagnosis tool, not a benchmark: the profiler itself costs CPU, so the
// shares matter, not the absolute figures (bench/token-endpoint.mjs has
// those). Usage: SKIP_WORKER_BUILD=1 node bench/profile-token.mjs [path]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, jsonCaller, migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { connect } from './lib/devtools.mjs';
import { startDevServer } from './lib/measure.mjs';

const REQUESTS = Number(process.env.PROFILE_REQUESTS || 3000);
const TOP = Number(process.env.PROFILE_TOP || 40);
const AUDIENCE = 'https://api.example.test';
const target = process.argv[2] || 'token';

const inspectorPort = await freePort();
process.env.INSPECTOR_PORT = String(inspectorPort);
const platformKey = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-profile-'));
migrate(persistTo);
const server = await startDevServer(path.join(root, 'wrangler.toml'), persistTo, { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true' });
const call = jsonCaller(server.url);
await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'bench' });
const key = (await call('POST', '/api/v1/internal/tenants/bench/api-keys', platformKey)).key;
await call('POST', '/t/bench/api/v1/resource-servers', key, { identifier: AUDIENCE, scopes: ['read:things'] });
const client = await call('POST', '/t/bench/api/v1/clients', key, { name: 'bench', grant_types: ['client_credentials'], audiences: [AUDIENCE], scopes: ['read:things'] });
const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
const requests = {
  token: () => fetch(`${server.url}/t/bench/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=read%3Athings&resource=${encodeURIComponent(AUDIENCE)}`,
  }),
  jwks: () => fetch(`${server.url}/t/bench/.well-known/jwks.json`),
  discovery: () => fetch(`${server.url}/t/bench/.well-known/openid-configuration`),
  floor: () => fetch(`${server.url}/healthz`),
};
const send = requests[target];
if (!send) throw new Error(`unknown target ${target}: one of ${Object.keys(requests).join(', ')}`);

async function drive(n) {
  let left = n;
  const worker = async () => {
    while (left > 0) {
      left -= 1;
      const r = await send();
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${target}: ${r.status} ${text}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

try {
  await drive(200); // warm-up: caches, tier-up
  const d = await connect(inspectorPort, { timeoutMs: 60_000 });
  await d.send('Profiler.enable');
  await d.send('Profiler.setSamplingInterval', { interval: 50 });
  await d.send('Profiler.start');
  await drive(REQUESTS);
  const { profile } = await d.send('Profiler.stop');
  // PROFILE_SOURCE=1: each bundled JavaScript function in the lists is
  // followed by the start of its source, since the bundle's line numbers
  // (wrangler's esbuild output, minified glue) name nothing by themselves.
  const sources = new Map();
  if (process.env.PROFILE_SOURCE) {
    await d.send('Debugger.enable');
    for (const n of profile.nodes) {
      const f = n.callFrame;
      if (!f.url || f.url.startsWith('wasm') || sources.has(f.scriptId)) continue;
      sources.set(f.scriptId, (await d.send('Debugger.getScriptSource', { scriptId: f.scriptId })).scriptSource.split('\n'));
    }
  }
  const snippet = (f) => {
    const lines = sources.get(f.scriptId);
    return lines ? `  | ${lines.slice(f.lineNumber, f.lineNumber + 3).join(' ').slice(Math.max(0, f.columnNumber - 40), f.columnNumber + 140).replace(/\s+/g, ' ')}` : '';
  };
  d.close();
  // Self time per function from the samples (each sample's node is the
  // function on top of the stack then).
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'}${f.url && !f.url.startsWith('wasm') ? ` ${path.basename(f.url)}:${f.lineNumber + 1}${snippet(f)}` : ''}`;
    const us = dt[i + 1] ?? 0;
    self.set(name, (self.get(name) || 0) + us);
    total += us;
  });
  // Inclusive time: every function on the sampled stack, counted once.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const inclusive = new Map();
  profile.samples.forEach((id, i) => {
    const us = dt[i + 1] ?? 0;
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n).callFrame;
      const name = `${f.functionName || '(anonymous)'}${f.url && !f.url.startsWith('wasm') ? ` ${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`;
      if (!seen.has(name)) { seen.add(name); inclusive.set(name, (inclusive.get(name) || 0) + us); }
    }
  });
  // Self time by kind of code: the module's Rust, the JavaScript bundled
  // with it (wasm-bindgen's glue, the entry, wrangler's dev middleware), the
  // runtime's own JavaScript, builtins and native calls (Response, crypto,
  // bindings), and V8's own bookkeeping.
  const kinds = new Map();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const kind = f.url.startsWith('wasm') || /::|^<|shim$/.test(f.functionName) ? 'Rust (Wasm)'
      : f.url.startsWith('cloudflare') || f.url.startsWith('node:') ? "the runtime's JavaScript"
      : f.url ? 'bundled JavaScript (glue, entry, dev middleware)'
      : /^\((program|garbage collector|idle)\)$/.test(f.functionName) ? f.functionName
      : 'builtins and native calls';
    kinds.set(kind, (kinds.get(kind) || 0) + (dt[i + 1] ?? 0));
  });
  console.log('by kind:');
  for (const [kind, us] of [...kinds].sort((a, b) => b[1] - a[1])) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000 / REQUESTS).toFixed(4)} ms/req  ${kind}`);
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]);
  console.log(`${target}: ${REQUESTS} requests, ${(total / 1000).toFixed(0)} ms sampled, ${(total / 1000 / REQUESTS).toFixed(3)} ms a request`);
  for (const [name, us] of rows.slice(0, TOP)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000 / REQUESTS).toFixed(4)} ms/req  ${name.slice(0, process.env.PROFILE_SOURCE ? 220 : 120)}`);
  }
  // PROFILE_CALLERS=regex: the stacks (Rust frames) that lead to a function.
  if (process.env.PROFILE_CALLERS) {
    const re = new RegExp(process.env.PROFILE_CALLERS);
    const stacks = new Map();
    profile.samples.forEach((id, i) => {
      const names = [];
      for (let n = id; n !== undefined; n = parent.get(n)) names.push(byId.get(n).callFrame.functionName);
      const at = names.findIndex((x) => re.test(x));
      if (at < 0) return;
      const key = names.slice(at).filter((x) => x.startsWith('tessera') || x.startsWith('<tessera')).map((x) => x.replace(/::h[0-9a-f]{16}$/, '')).slice(0, 6).join(' <- ');
      stacks.set(key, (stacks.get(key) || 0) + (dt[i + 1] ?? 0));
    });
    for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(us / 1000 / REQUESTS).toFixed(4)} ms/req  ${k}`);
  }
  console.log('inclusive (the function and what it calls):');
  for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, TOP * 2)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000 / REQUESTS).toFixed(4)} ms/req  ${name.slice(0, 140)}`);
  }
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
