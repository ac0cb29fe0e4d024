// What a second factor adds to signing in, on wrangler dev: the password
// step alone (POST /login) for users without MFA, against the second step
// of users with an authenticator app (GET /mfa, then POST /mfa with a TOTP
// code from `otpauth`). Prints median latency and the runtime's CPU per
// step (the workerd running the Worker, as bench/token-endpoint.mjs reads
// it). Each MFA user signs in once: a TOTP code is taken once per user.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  console.log(`sign-in on wrangler dev, ${USERS} users each, median latency and mean runtime CPU per step`);
  console.log(`password step (POST /login, argon2id)           ${pwd.ms.toFixed(1).padStart(7)} ms   cpu ${pwd.cpu.toFixed(1).padStart(6)} ms`);
  console.log(`second factor (GET /mfa + POST /mfa, TOTP)      ${second.ms.toFixed(1).padStart(7)} ms   cpu ${second.cpu.toFixed(1).padStart(6)} ms`);
  console.log(`a second factor adds ${((second.ms / pwd.ms) * 100).toFixed(0)} % to the password step's latency (plus the user's typing)`);
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
