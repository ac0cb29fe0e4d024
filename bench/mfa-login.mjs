// What signing in costs on wrangler dev. First a whole authorization-code
// login of a confidential client with PKCE, step by step (authorize, the
// login page, the password with its Argon2id hash, the consent page and
// decision, the code for tokens), with the latency and runtime CPU of each
// and the Argon2id share measured apart in the same Worker. Then what a
// second factor adds to signing in: the password
// step alone (POST /login) for users without MFA, against the second step
// of users with an authenticator app (GET /mfa, then POST /mfa with a TOTP
// code from `otpauth`). Prints median latency and the runtime's CPU per
// step (the workerd running the Worker, as bench/token-endpoint.mjs reads
// it). Each MFA user signs in once: a TOTP code is taken once per user.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { cpuMs, startDevServer } from './lib/measure.mjs';

const USERS = Number(process.env.BENCH_USERS || 20);
const PASSWORD = 'benchmark password 1';
const SECRET = OTPAuth.Secret.fromBase32('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');

const platformKey = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
migrate(persistTo);
const server = await startDevServer(path.join(root, 'wrangler.toml'), persistTo, { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true' });

async function call(method, p, token, json) {
  const r = await fetch(server.url + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: json && JSON.stringify(json) });
  const body = await r.json();
  if (r.status >= 300) throw new Error(`${p}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/** A cookie jar over fetch, enough for the hosted forms. */
class Jar {
  constructor() { this.cookies = new Map(); }
  async req(method, p, form) {
    const headers = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body;
    if (form) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(form).toString(); }
    const r = await fetch(server.url + p, { method, headers, body, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: r.status, text: await r.text(), location: r.headers.get('location') };
  }
}
/** The form's hidden fields (name -> value), entity-decoded as the pages encode them. */
const hiddenFields = (html) => Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
  .map(([, n, v]) => [n, v.replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')]));
const csrf = (html) => html.match(/name="csrf_token" value="([^"]+)"/)[1];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runtime = server.groups.runtime;

/** Times `step` (latency and runtime CPU) after `prepare`, per user. */
async function measure(emails, prepare, step) {
  const ms = [];
  const cpu = [];
  for (const email of emails) {
    const jar = new Jar();
    const state = await prepare(jar, email);
    const c0 = cpuMs(runtime);
    const t0 = process.hrtime.bigint();
    await step(jar, state);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    cpu.push(cpuMs(runtime) - c0);
  }
  return { ms: median(ms), cpu: cpu.reduce((a, b) => a + b, 0) / cpu.length };
}

try {
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'bench' });
  const key = (await call('POST', '/api/v1/internal/tenants/bench/api-keys', platformKey)).key;
  const plain = [];
  const mfa = [];
  for (let i = 0; i < USERS; i += 1) {
    plain.push(`plain${i}@bench.test`);
    mfa.push(`mfa${i}@bench.test`);
  }
  for (const email of [...plain, ...mfa]) {
    const u = await call('POST', '/t/bench/api/v1/users', key, { email, password: PASSWORD, email_verified: true });
    if (email.startsWith('mfa')) await call('PUT', `/t/bench/api/v1/users/${u.id}/mfa/totp`, key, { secret: SECRET.base32, encoding: 'base32' });
  }
  // A third-party confidential client, so the consent page is part of the login.
  const CALLBACK = 'https://rp.bench.test/callback';
  const rp = await call('POST', '/t/bench/api/v1/clients', key, { name: 'bench RP', redirect_uris: [CALLBACK], grant_types: ['authorization_code'], scopes: ['openid', 'email'] });
  const totp = new OTPAuth.TOTP({ secret: SECRET });
  const loginPage = async (jar) => csrf((await jar.req('GET', '/t/bench/login')).text);
  const password = async (jar, { token, email }) => {
    const r = await jar.req('POST', '/t/bench/login', { csrf_token: token, email, password: PASSWORD });
    if (r.status !== 303) throw new Error(`login: ${r.status}`);
    return r;
  };
  // Warm up.
  for (const email of plain.slice(0, 3)) { const jar = new Jar(); await password(jar, { token: await loginPage(jar), email }); }

  const pwd = await measure(plain, async (jar, email) => ({ token: await loginPage(jar), email }), password);
  const second = await measure(
    mfa,
    async (jar, email) => {
      const r = await password(jar, { token: await loginPage(jar), email });
      if (!r.location.includes('/mfa?')) throw new Error(`expected the challenge, got ${r.location}`);
      return r.location;
    },
    async (jar, location) => {
      const page = await jar.req('GET', location);
      const r = await jar.req('POST', '/t/bench/mfa', { csrf_token: csrf(page.text), code: totp.generate(), method: 'totp' });
      if (r.status !== 303) throw new Error(`challenge: ${r.status} ${r.text.slice(0, 200)}`);
    },
  );
  // The whole code flow, per user in a fresh browser. Each step's latency
  // and runtime CPU; the steps' medians and means are summed.
  const b64url = (buf) => buf.toString('base64url');
  const steps = ['GET /authorize', 'GET /login', 'POST /login (Argon2id)', 'GET /authorize (consent page)', 'POST /consent', 'POST /oauth/token (code)'];
  const flow = Object.fromEntries(steps.map((n) => [n, { ms: [], cpu: [] }]));
  // Each user once (consent is remembered); the first three warm up.
  for (const [i, email] of plain.entries()) {
    const jar = new Jar();
    const verifier = b64url(randomBytes(32));
    const authorize = `/t/bench/authorize?${new URLSearchParams({
      response_type: 'code', client_id: rp.client_id, redirect_uri: CALLBACK, scope: 'openid email',
      state: b64url(randomBytes(12)), nonce: b64url(randomBytes(12)),
      code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
    })}`;
    let r;
    let code;
    const run = [
      async () => { r = await jar.req('GET', authorize); if (r.status !== 303) throw new Error(`authorize: ${r.status}`); },
      async () => { r = await jar.req('GET', new URL(r.location, server.url).pathname + new URL(r.location, server.url).search); if (r.status !== 200) throw new Error(`login page: ${r.status}`); },
      async () => { r = await jar.req('POST', '/t/bench/login', { ...hiddenFields(r.text), email, password: PASSWORD }); if (r.status !== 303) throw new Error(`login: ${r.status} ${r.text.slice(0, 200)}`); },
      async () => { const u = new URL(r.location, server.url); r = await jar.req('GET', u.pathname + u.search); if (r.status !== 200) throw new Error(`consent page: ${r.status} ${r.location}`); },
      async () => {
        r = await jar.req('POST', '/t/bench/consent', { ...hiddenFields(r.text), decision: 'allow' });
        code = r.location && new URL(r.location).searchParams.get('code');
        if (r.status !== 303 || !code) throw new Error(`consent: ${r.status} ${r.location}`);
      },
      async () => {
        const t = await fetch(`${server.url}/t/bench/oauth/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${rp.client_id}:${rp.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: verifier }),
        });
        const j = await t.json();
        if (t.status !== 200 || !j.id_token) throw new Error(`token: ${t.status} ${JSON.stringify(j)}`);
      },
    ];
    for (const [k, step] of run.entries()) {
      const c0 = cpuMs(runtime);
      const t0 = process.hrtime.bigint();
      await step();
      if (i < 3) continue;
      flow[steps[k]].ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      flow[steps[k]].cpu.push(cpuMs(runtime) - c0);
    }
  }
  // Argon2id alone in the same Worker: a request hashing five times against
  // one hashing none (the dev-only bench route bench/argon2-worker.mjs uses).
  const timedHashes = async (n) => {
    const t0 = process.hrtime.bigint();
    const h = await fetch(`${server.url}/api/v1/internal/dev/bench/argon2?what=argon2&n=${n}`, { method: 'POST', headers: { authorization: `Bearer ${platformKey}` } });
    await h.arrayBuffer();
    if (h.status !== 200) throw new Error(`argon2 bench route: ${h.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const none = [];
  const five = [];
  for (let i = 0; i < 7; i += 1) { none.push(await timedHashes(0)); five.push(await timedHashes(5)); }
  const argon2 = (median(five) - median(none)) / 5;
  console.log(`a whole authorization-code login on wrangler dev (confidential client, PKCE, consent), ${USERS - 3} users, median latency and mean runtime CPU per step`);
  let totalMs = 0;
  let totalCpu = 0;
  for (const n of steps) {
    const ms = median(flow[n].ms);
    const cpu = flow[n].cpu.reduce((a, b) => a + b, 0) / flow[n].cpu.length;
    totalMs += ms;
    totalCpu += cpu;
    console.log(`  ${n.padEnd(46)} ${ms.toFixed(1).padStart(7)} ms   cpu ${cpu.toFixed(1).padStart(6)} ms`);
  }
  console.log(`  ${'the whole login'.padEnd(46)} ${totalMs.toFixed(1).padStart(7)} ms   cpu ${totalCpu.toFixed(1).padStart(6)} ms`);
  console.log(`  of which Argon2id (one hash, timed alone in the same Worker): ${argon2.toFixed(1)} ms, ${(argon2 / totalCpu * 100).toFixed(0)} % of the login's runtime CPU; everything else ${(totalCpu - argon2).toFixed(1)} ms`);

  console.log(`sign-in on wrangler dev, ${USERS} users each, median latency and mean runtime CPU per step`);
  console.log(`password step (POST /login, argon2id)           ${pwd.ms.toFixed(1).padStart(7)} ms   cpu ${pwd.cpu.toFixed(1).padStart(6)} ms`);
  console.log(`second factor (GET /mfa + POST /mfa, TOTP)      ${second.ms.toFixed(1).padStart(7)} ms   cpu ${second.cpu.toFixed(1).padStart(6)} ms`);
  console.log(`a second factor adds ${((second.ms / pwd.ms) * 100).toFixed(0)} % to the password step's latency (plus the user's typing)`);
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
