// Shared fixtures for the end-to-end tests: a real `wrangler dev` (local
// workerd, local D1/KV/Queues) on a free port with its own state folder, and
// a tiny browser (cookie jar, forms with CSRF tokens) on top of fetch.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { answering, buildWorker, freePort, randomSecret, root, startWrangler, workerBuilt } from '../../scripts/lib/wrangler.mjs';

/** Which host the suite runs against: `workers` (wrangler dev) or `spin`. */
export const HOST = process.env.TESSERA_E2E_HOST || 'workers';

export const PLATFORM_KEY = `test-platform-${randomSecret(18).replace(/[^A-Za-z0-9]/g, '')}`;

/**
 * The Spin component on the Spin-compatible test host (tests/spin-host),
 * built beforehand by scripts/spin-check.mjs and cargo build.
 */
async function startSpin(vars) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-spin-'));
  const port = await freePort();
  vars = { PUBLIC_URL: `http://127.0.0.1:${port}`, ...vars };
  const env = { ...process.env };
  for (const [k, v] of Object.entries(vars)) env[`SPIN_VARIABLE_${k}`] = v;
  const child = spawn(path.join(root, 'target/debug/tessera-spin-test-host'), [
    path.join(root, 'target/wasm32-wasip2/release/tessera_spin.wasm'), `127.0.0.1:${port}`, path.join(dir, 'spin.db'),
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  let deliver = null;
  const kill = async (c) => {
    if (c && c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
  };
  const stop = async () => {
    await kill(deliver);
    await kill(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  let ready = false;
  while (!ready && Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`spin test host exited:\n${log}`);
    try {
      ready = await answering(url);
    } catch { /* not yet */ }
    if (!ready) await new Promise((r) => setTimeout(r, 300));
  }
  // The log-stream delivery worker: drains the outbox the component writes
  // audit events to and delivers them to the tenants' streams. Started once
  // the host has set the database file up (it switches it to WAL, which
  // fails while another connection is migrating it).
  if (ready) {
    deliver = spawn(path.join(root, 'target/debug/tessera-actions-host'), [
      'deliver', '--db', path.join(dir, 'spin.db'),
    ], {
      env: {
        ...process.env,
        MASTER_KEY: vars.MASTER_KEY ?? '',
        DEV_MODE: vars.DEV_MODE ?? '',
        LOG_SINK_HOSTS: vars.LOG_SINK_HOSTS ?? '',
        TESSERA_POLL_MS: '100',
        // post-user-registration runs from here on Spin.
        ...(vars.ACTIONS_URL ? { ACTIONS_URL: vars.ACTIONS_URL, ACTIONS_SECRET: vars.ACTIONS_SECRET ?? '' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let failed = false;
    deliver.on('error', (e) => { failed = true; log += `tessera-actions-host: ${e.message} (cargo build -p tessera-actions-host)\n`; });
    deliver.stdout.on('data', (d) => { log += d; });
    deliver.stderr.on('data', (d) => { log += d; });
    while (Date.now() < deadline) {
      if (failed || deliver.exitCode !== null) break;
      // Printed once the database is open and migrated.
      if (log.includes('delivering log streams from')) return { url, stop, log: () => log, pid: child.pid };
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`spin test host${ready ? "'s delivery worker" : ''} did not become ready:\n${log}`);
}

/**
 * Starts the host under test. `vars` replace the defaults: dev mode (the dev
 * mailbox and routes) unless `DEV_MODE: ''` asks for a production setup.
 */
export async function startServer(overrides = {}) {
  // Sinks may reach this machine's receivers only: a fuzzed or mistaken
  // stream never sends anything off the loopback interface.
  const all = {
    MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: PLATFORM_KEY, DEV_MODE: 'true', LOG_SINK_HOSTS: '127.0.0.1,localhost', ...overrides,
  };
  // An empty value means "not set".
  const vars = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== ''));
  if (HOST === 'spin') return startSpin(vars);
  if (!process.env.SKIP_WORKER_BUILD || !workerBuilt()) buildWorker();
  const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-'));
  const server = await startWrangler({ persistTo, vars: (url) => ({ PUBLIC_URL: url, ...vars }) });
  const stop = async () => {
    await server.stop();
    rmSync(persistTo, { recursive: true, force: true });
  };
  return { url: server.url, stop, log: server.log };
}

let ipCounter = 1;
/** A distinct client address per browser, so throttling stays per test. */
export function nextIp() {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

export class Api {
  constructor(base) { this.base = base; }

  async call(method, p, { token, json, body, headers = {} } = {}) {
    const h = { ...headers };
    if (token !== undefined) h.authorization = `Bearer ${token}`;
    let payload = body;
    if (json !== undefined) { h['content-type'] = 'application/json'; payload = JSON.stringify(json); }
    const r = await fetch(this.base + p, { method, headers: h, body: payload, redirect: 'manual' });
    const text = await r.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, headers: r.headers, text, json: parsed };
  }

  platform(method, p, json) { return this.call(method, p, { token: PLATFORM_KEY, json }); }

  /** Creates a tenant and returns a management API key for it. */
  async tenant(slug) {
    const t = await this.platform('POST', '/api/v1/internal/tenants', { slug, name: `Tenant ${slug}` });
    if (t.status !== 201) throw new Error(`create tenant ${slug}: ${t.status} ${t.text}`);
    const k = await this.platform('POST', `/api/v1/internal/tenants/${slug}/api-keys`);
    if (k.status !== 201) throw new Error(`api key: ${k.status} ${k.text}`);
    return k.json.key;
  }

  async mailbox(to) {
    const r = await this.platform('GET', `/api/v1/internal/dev/mailbox?to=${encodeURIComponent(to)}`);
    if (r.status !== 200) throw new Error(`mailbox: ${r.status} ${r.text}`);
    return r.json.messages;
  }

  /** The path of the link in the newest message to `to`. */
  async linkInMail(to) {
    const [msg] = await this.mailbox(to);
    if (!msg) throw new Error(`no mail for ${to}`);
    const m = msg.text.match(/https?:\/\/[^\s]+/);
    return new URL(m[0]).pathname + new URL(m[0]).search;
  }
}

export class Browser {
  constructor(base, ip = nextIp()) { this.base = base; this.ip = ip; this.cookies = new Map(); }

  cookieHeader() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }

  absorb(headers) {
    for (const c of headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const k = pair.slice(0, i);
      const v = pair.slice(i + 1);
      if (/Max-Age=0/i.test(c)) this.cookies.delete(k); else this.cookies.set(k, v);
    }
  }

  async request(method, p, body, headers = {}) {
    const r = await fetch(this.base + p, {
      method,
      body,
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'cf-connecting-ip': this.ip, ...headers },
    });
    this.absorb(r.headers);
    return { status: r.status, headers: r.headers, text: await r.text() };
  }

  get(p) { return this.request('GET', p); }

  post(p, fields) {
    return this.request('POST', p, new URLSearchParams(fields).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
    });
  }

  /** Loads `page`, then posts `fields` plus the page's CSRF token to `action`. */
  async submit(page, action, fields) {
    const g = await this.get(page);
    if (g.status !== 200) throw new Error(`GET ${page}: ${g.status} ${g.text.slice(0, 300)}`);
    return this.post(action, { csrf_token: hidden(g.text, 'csrf_token'), ...fields });
  }
}

export function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no hidden ${name} in page`);
  return m[1].replaceAll('&amp;', '&');
}

/** A raw request with a chosen Host header (fetch cannot set Host). */
export function rawGet(base, p, hostHeader, headers = {}) {
  return rawRequest(base, { path: p, headers: { ...headers, host: hostHeader } });
}

/** A raw HTTP/1.1 request: any Host header, any framing of the body. */
export function rawRequest(base, { method = 'GET', path: p, headers = {}, body, timeoutMs = 20_000 }) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method, headers }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: data }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
