// Actions: what a run costs through the actions host's HTTP endpoint (the
// release build), for a trivial post-login action and a 200-line one
// (bench/fixtures/post-login-200.js), next to the same decision as a plain
// function in Node; then what one bound post-login action adds to a sign-in
// on wrangler dev (GET /authorize, which runs it, with and without).
//
// Per run: p50/p99 of the signed request's round trip, the time inside the
// sandbox (instantiate + run, as the host reports it), and the host's CPU
// (its process, from /proc) divided by the runs.
// BENCH_RUNS and BENCH_LOGINS set the counts; BENCH_SKIP_SIGNIN=1 leaves out
// the sign-in part (no wrangler dev).
import { createHmac } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startActionsHost } from '../scripts/lib/actions-host.mjs';
import { jsonCaller, migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { cpuMs, startDevServer } from './lib/measure.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 2000);
const LOGINS = Number(process.env.BENCH_LOGINS || 40);
const TRIVIAL = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/plan', 'pro'); };";
const LONG = readFileSync(path.join(root, 'bench/fixtures/post-login-200.js'), 'utf8');
const EVENT = {
  tenant: { id: 'ten_bench' },
  user: { user_id: 'usr_1', email: 'ana@dept3.example.com', name: 'Ana Lovelace', app_metadata: { groups: ['g5', 'g9'] }, user_metadata: {} },
  client: { client_id: 'cli_1', name: 'Bench' },
  request: { ip: '198.51.100.7', user_agent: 'Mozilla/5.0', geoip: { countryCode: 'FR' } },
  authentication: { methods: [{ name: 'pwd' }] },
};

// node:http on one kept-alive connection, as the edge's client holds one:
// fetch (undici) alone adds about half a millisecond a request here.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const post = (url, headers, body) => new Promise((resolve, reject) => {
  const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
  });
  req.on('error', reject);
  req.end(body);
});

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const hostCpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
};

async function viaHost(host, source, label) {
  const sha = (await import('node:crypto')).createHash('sha256').update(source).digest('hex');
  let n = 0;
  const once = async () => {
    // As the edge does: the action by hash, its source only when the host
    // answers unknown_module (the first run here).
    const send = async (code) => {
      n += 1;
      const body = JSON.stringify({
        id: `bench_${n}`, tenant: 'ten_bench', trigger: 'post-login', now_ms: Date.now(), event: EVENT,
        actions: [{ action_id: 'act_bench', version: 1, runtime: 'js', hash: sha, ...(code ? { code } : {}), secrets: {} }],
      });
      const t = Math.floor(Date.now() / 1000);
      const sig = createHmac('sha256', host.secret).update(`${t}.${body}`).digest('hex');
      const r = await post(`${host.url}/v1/run`, { 'content-type': 'application/json', 'tessera-signature': `t=${t},v1=${sig}` }, body);
      return { r, out: JSON.parse(r.text) };
    };
    const t0 = process.hrtime.bigint();
    let { r, out } = await send();
    if (out.results?.[0]?.error?.kind === 'unknown_module') ({ r, out } = await send(source));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const res = out.results[0];
    if (r.status !== 200 || res.error) throw new Error(`${label}: ${r.status} ${JSON.stringify(out).slice(0, 300)}`);
    return { ms, inside: res.duration_us / 1000 };
  };
  for (let i = 0; i < 100; i += 1) await once();
  const rt = [];
  const inside = [];
  const c0 = hostCpuMs(host.pid);
  for (let i = 0; i < RUNS; i += 1) {
    const x = await once();
    rt.push(x.ms);
    inside.push(x.inside);
  }
  const cpu = (hostCpuMs(host.pid) - c0) / RUNS;
  console.log(`${label.padEnd(28)} round trip p50 ${pct(rt, 50).toFixed(2)} ms  p99 ${pct(rt, 99).toFixed(2)} ms | in the sandbox p50 ${pct(inside, 50).toFixed(2)} ms  p99 ${pct(inside, 99).toFixed(2)} ms | host CPU ${cpu.toFixed(2)} ms/run`);
}

async function inNode(source, label) {
  const m = { exports: {} };
  new Function('exports', 'module', source)(m.exports, m);
  const once = async () => {
    const decisions = [];
    const push = (type) => (...a) => decisions.push([type, ...a]);
    const api = {
      access: { deny: push('deny') }, idToken: { setCustomClaim: push('id') }, accessToken: { setCustomClaim: push('at'), addScope: push('scope') },
      user: { setAppMetadata: push('app'), setUserMetadata: push('user') }, multifactor: { enable: push('mfa') },
    };
    const event = JSON.parse(JSON.stringify(EVENT));
    const t0 = process.hrtime.bigint();
    await m.exports.onExecutePostLogin(event, api);
    JSON.stringify(decisions);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const log = console.log;
  console.log = () => {};
  for (let i = 0; i < 100; i += 1) await once();
  const xs = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < RUNS; i += 1) xs.push(await once());
  const c = process.cpuUsage(c0);
  console.log = log;
  console.log(`${label.padEnd(28)} call p50 ${pct(xs, 50).toFixed(3)} ms  p99 ${pct(xs, 99).toFixed(3)} ms | Node CPU ${((c.user + c.system) / 1000 / RUNS).toFixed(3)} ms/call (JIT, warm, no isolation)`);
}

async function signInCost() {
  const host = await startActionsHost({ binary: path.join(root, 'target/release/tessera-actions-host') });
  const platformKey = `bench-${randomSecret(18)}`;
  const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  migrate(persistTo);
  const server = await startDevServer(path.join(root, 'wrangler.toml'), persistTo, {
    MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true', ACTIONS_URL: host.url, ACTIONS_SECRET: host.secret,
  });
  const call = jsonCaller(server.url);
  try {
    await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'bench' });
    const key = (await call('POST', '/api/v1/internal/tenants/bench/api-keys', platformKey)).key;
    const cb = 'http://127.0.0.1:9/cb';
    const cl = await call('POST', '/t/bench/api/v1/clients', key, { name: 'Bench', first_party: true, redirect_uris: [cb] });
    await call('POST', '/t/bench/api/v1/users', key, { email: 'ana@bench.test', password: 'benchmark password 1', email_verified: true });
    // One signed-in browser; each measured step is GET /authorize -> 303 with a code.
    const cookies = new Map();
    const req = async (method, p, form) => {
      const headers = { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
      let body;
      if (form) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(form).toString(); }
      const r = await fetch(server.url + p, { method, headers, body, redirect: 'manual' });
      for (const c of r.headers.getSetCookie()) { const [pair] = c.split(';'); const i = pair.indexOf('='); cookies.set(pair.slice(0, i), pair.slice(i + 1)); }
      return { status: r.status, text: await r.text(), location: r.headers.get('location') };
    };
    const page = await req('GET', '/t/bench/login');
    const token = page.text.match(/name="csrf_token" value="([^"]+)"/)[1];
    await req('POST', '/t/bench/login', { csrf_token: token, email: 'ana@bench.test', password: 'benchmark password 1' });
    const authorize = `/t/bench/authorize?client_id=${cl.client_id}&redirect_uri=${encodeURIComponent(cb)}&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`;
    const measure = async () => {
      for (let i = 0; i < 5; i += 1) await req('GET', authorize);
      const ms = [];
      const c0 = cpuMs(server.groups.runtime);
      for (let i = 0; i < LOGINS; i += 1) {
        const t0 = process.hrtime.bigint();
        const r = await req('GET', authorize);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status !== 303 || !r.location.includes('code=')) throw new Error(`authorize: ${r.status} ${r.location}`);
      }
      return { p50: pct(ms, 50), cpu: (cpuMs(server.groups.runtime) - c0) / LOGINS };
    };
    const without = await measure();
    const a = await call('POST', '/t/bench/api/v1/actions', key, { name: 'plan', trigger: 'post-login', code: TRIVIAL });
    await call('POST', `/t/bench/api/v1/actions/${a.id}/deploy`, key);
    await call('PUT', '/t/bench/api/v1/triggers/post-login', key, { bindings: [{ action_id: a.id }] });
    const withAction = await measure();
    console.log(`sign-in on wrangler dev (GET /authorize -> code), ${LOGINS} each: without actions p50 ${without.p50.toFixed(1)} ms (Worker CPU ${without.cpu.toFixed(1)} ms); with one post-login action p50 ${withAction.p50.toFixed(1)} ms (Worker CPU ${withAction.cpu.toFixed(1)} ms): +${(withAction.p50 - without.p50).toFixed(1)} ms`);
  } finally {
    await server.stop();
    await host.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

const host = await startActionsHost({ binary: path.join(root, 'target/release/tessera-actions-host') });
try {
  console.log(`actions, ${RUNS} sequential runs each, one connection at a time`);
  await viaHost(host, TRIVIAL, 'trivial (host)');
  await viaHost(host, LONG, '200 lines (host)');
  await inNode(TRIVIAL, 'trivial (plain Node)');
  await inNode(LONG, '200 lines (plain Node)');
} finally {
  await host.stop();
}
if (!process.env.BENCH_SKIP_SIGNIN) await signInCost();
