// Times Argon2id inside the Worker (local workerd, release bundle): the
// latency of a request doing n hashes minus one doing none, divided by n.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, randomSecret, startWrangler } from '../scripts/lib/wrangler.mjs';

const key = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
const server = await startWrangler({
  port: await freePort(),
  persistTo,
  vars: { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: key, DEV_MODE: 'true' },
});

async function timed(n) {
  const t = process.hrtime.bigint();
  const r = await fetch(`${server.url}/api/v1/internal/dev/bench/argon2?n=${n}`, {
    method: 'POST', headers: { authorization: `Bearer ${key}` },
  });
  await r.text();
  if (r.status !== 200) throw new Error(`bench endpoint answered ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const n = 5;
  const rounds = 7;
  for (let i = 0; i < 2; i += 1) await timed(n); // warm up
  const base = [];
  const work = [];
  for (let i = 0; i < rounds; i += 1) {
    base.push(await timed(0));
    work.push(await timed(n));
  }
  const per = (median(work) - median(base)) / n;
  console.log(`argon2id in the Worker (workerd, wasm32, m=19456 KiB, t=2, p=1): ${per.toFixed(1)} ms per hash `
    + `(median of ${rounds} requests of ${n} hashes; request overhead ${median(base).toFixed(1)} ms)`);
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
