// Starts the native actions host (`tessera-actions-host serve`) on a free
// port: the e2e suite, the benchmarks and scripts/dev.mjs share this. The
// binary and the JavaScript runner must be built (cargo build -p
// tessera-actions-host; scripts/build-actions.sh).
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { freePort, randomSecret, root } from './wrangler.mjs';

/**
 * Resolves to `{ url, secret, stop, log }` once the host listens. Compiled
 * modules are cached in one folder across runs, so only the first start on
 * a machine pre-initialises and compiles the runner.
 */
export async function startActionsHost({ secret = randomSecret(32), port, env = {}, binary } = {}) {
  port ??= await freePort();
  const bin = binary ?? path.join(root, 'target/debug/tessera-actions-host');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: cargo build -p tessera-actions-host`);
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      ACTIONS_SECRET: secret,
      TESSERA_ACTIONS_ADDR: `127.0.0.1:${port}`,
      TESSERA_ACTIONS_CACHE: path.join(os.tmpdir(), 'tessera-actions-cache'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
  };
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the actions host exited:\n${log}`);
    if (log.includes('serving actions on')) return { url: `http://127.0.0.1:${port}`, port, secret, stop, log: () => log, pid: child.pid };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`the actions host did not start:\n${log}`);
}
