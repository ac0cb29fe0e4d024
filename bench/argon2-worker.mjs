// Times the costly steps of signing in inside the Worker (local workerd,
// release bundle): an Argon2id password hash, a recovery-code check (one
// Argon2id hash against a set of ten) and a TOTP check. Each figure is the
// latency of a request doing n runs minus one doing none, divided by n.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomSecret, startWrangler } from '../scripts/lib/wrangler.mjs';

const key = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
const server = await startWrangler({
  persistTo,
  vars: { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: key, DEV_MODE: 'true' },
});

async function timed(what, n) {
  const t = process.hrtime.bigint();
  const r = await fetch(`${server.url}/api/v1/internal/dev/bench/argon2?what=${what}&n=${n}`, {
    method: 'POST', headers: { authorization: `Bearer ${key}` },
  });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`bench endpoint answered ${r.status}: ${body}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function per(what, n, rounds = 7) {
  for (let i = 0; i < 2; i += 1) await timed(what, n); // warm up
  const base = [];
  const work = [];
  for (let i = 0; i < rounds; i += 1) {
    base.push(await timed(what, 0));
    work.push(await timed(what, n));
  }
  return { each: (median(work) - median(base)) / n, overhead: median(base) };
}

try {
  const hash = await per('argon2', 5);
  console.log(`argon2id in the Worker (workerd, wasm32, m=19456 KiB, t=2, p=1): ${hash.each.toFixed(1)} ms per hash `
    + `(median of 7 requests of 5 hashes; request overhead ${hash.overhead.toFixed(1)} ms)`);
  const recovery = await per('recovery', 5);
  console.log(`recovery-code check in the Worker (one argon2id hash, ten comparisons): ${recovery.each.toFixed(1)} ms per code`);
  const totp = await per('totp', 20000);
  console.log(`TOTP check in the Worker (three HMAC-SHA1 codes): ${(totp.each * 1000).toFixed(1)} µs per code`);
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
