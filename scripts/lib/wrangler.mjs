// Starts and stops `wrangler dev` (local workerd with local D1, KV and
// Queues) for the dev command, the end-to-end tests and the benchmarks.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdirSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wranglerBin = path.join(root, 'node_modules/.bin/wrangler');

// Offline, quiet, unattended wrangler; its config stays inside the repo.
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    XDG_CONFIG_HOME: path.join(root, '.xdg-config'),
    CI: '1',
    SKIP_WORKER_BUILD: '1',
    ...extra,
  };
}

/** Builds the worker bundle once (worker-build, release). */
export function buildWorker() {
  const r = spawnSync('sh', [path.join(root, 'scripts/build-worker.sh')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error('worker build failed');
}

export function workerBuilt() {
  return existsSync(path.join(root, 'edge/workers/build/worker/shim.mjs'));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function portInUse(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

export function randomSecret(bytes = 32) {
  return randomBytes(bytes).toString('base64');
}

/**
 * Applies migrations/ to the local D1 under `persistTo`.
 *
 * Tries up to three times. Seen in CI: `wrangler d1 migrations apply
 * --local` failed one migration with "false == true", wrangler's own
 * `assert(Array.isArray(results))` on what miniflare's `batch()` returned,
 * a hiccup of the local runtime rather than of the SQL. Wrangler sends each
 * migration and its `d1_migrations` row as one batch, which D1 runs as one
 * transaction, so a failed try leaves that migration either wholly applied
 * and recorded or not at all, and the next try goes on from there. A real
 * error in a migration fails all three tries and is reported.
 */
export function migrate(persistTo) {
  mkdirSync(persistTo, { recursive: true });
  let failure = '';
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const r = spawnSync(wranglerBin, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistTo], {
      cwd: root,
      env: wranglerEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status === 0) return;
    failure = `d1 migrations apply failed (try ${attempt} of 3):\n${r.stdout}\n${r.stderr}`;
    if (attempt < 3) console.error(`${failure}\ntrying again`);
  }
  throw new Error(failure);
}

/**
 * Wrangler writes every log line, at every level, to a debug file of its
 * own (devtools events included: tens of MB for one e2e run). Keeps the
 * newest few, for looking into a failure, and drops the rest.
 */
export function pruneWranglerLogs(keep = 10) {
  const dir = path.join(root, '.xdg-config/.wrangler/logs');
  if (!existsSync(dir)) return;
  const logs = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => ({ f, t: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of logs.slice(keep)) rmSync(path.join(dir, f), { force: true });
}

/**
 * Whether Tessera answers at `url`: its health check says ok, or says
 * which configuration is missing (a deployment under test may lack it on
 * purpose).
 */
export async function answering(url) {
  const r = await fetch(`${url}/healthz`);
  const text = await r.text();
  return (r.status === 200 && text === 'ok') || (r.status === 503 && text.includes('not configured'));
}

/**
 * Starts wrangler dev and resolves once the worker answers /healthz.
 * `vars` are passed with --var (they override wrangler.toml and .dev.vars);
 * they may be a function of the server's URL, for PUBLIC_URL.
 *
 * Without a `port`, a free one is picked after the migrations have run, just
 * before wrangler starts, and a wrangler that exits before answering is
 * started again on a new port (three tries), its output written to stderr so
 * that the reason stays on record. Seen once in CI (stop 30): wrangler dev
 * exited (1) a few seconds after listing its bindings, in one suite out of
 * some thirty starts in that run, and the reason was cut from the report. A
 * likely cause is the port: it was picked before the migrations, whose own
 * local runtime binds ports of the same ephemeral range meanwhile. A real
 * fault (a broken bundle or configuration) fails all three tries alike.
 * With a fixed `port` (the dev command) there is one try.
 */
export async function startWrangler({ port, persistTo, vars = {}, inherit = false, timeoutMs = 120_000 }) {
  if (port !== undefined && await portInUse(port)) throw new Error(`port ${port} is already in use`);
  pruneWranglerLogs();
  migrate(persistTo);
  const tries = port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt += 1) {
    const p = port ?? await freePort();
    try {
      return await startWranglerOn({ port: p, persistTo, vars, inherit, timeoutMs });
    } catch (e) {
      if (!(e instanceof EarlyExit) || attempt >= tries) throw e;
      console.error(`${e.message}
(try ${attempt} of ${tries}; starting again on a new port)`);
    }
  }
}

/** Wrangler ended before it answered. */
class EarlyExit extends Error {}

async function startWranglerOn({ port, persistTo, vars, inherit, timeoutMs }) {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    'dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', '0',
    '--persist-to', persistTo, '--show-interactive-dev-session=false',
    // Exposes /__scheduled locally, to fire the cron trigger on demand.
    '--test-scheduled',
  ];
  const values = typeof vars === 'function' ? vars(url) : vars;
  for (const [k, v] of Object.entries(values)) args.push('--var', `${k}:${v}`);
  const child = spawn(wranglerBin, args, {
    cwd: root,
    env: wranglerEnv(),
    stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
    detached: true,
  });
  let log = '';
  if (!inherit) {
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
  }
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    try { process.kill(-child.pid, 'SIGINT'); } catch { /* gone */ }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000).unref();
  });
  // "Ready on" is printed before the worker can answer: poll for the body.
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      // The runtime it started may outlive it for a moment; end the group.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      throw new EarlyExit(`wrangler dev exited (${child.exitCode}) on port ${port}:\n${log}`);
    }
    try {
      if (await answering(url)) return { url, stop, child, log: () => log };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready in ${timeoutMs} ms:\n${log}`);
}

/**
 * A caller of Tessera's JSON APIs at `base`, for fixtures and benchmarks:
 * `call(method, path, bearer, json)` answers the parsed body (null for none)
 * and throws on any status of 300 or more, with the body in the message.
 */
export function jsonCaller(base) {
  return async (method, p, token, json) => {
    const r = await fetch(base + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: json && JSON.stringify(json) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${p}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}
