// The Worker's queue consumer on wrangler dev: events made by failed token
// requests (one audit event each) go through the EVENTS queue to a log
// stream whose sink is a local HTTP receiver. Prints events per second
// received, p50/p99 lag from an event's time to its receipt, and the
// runtime's CPU over the run. Bounded: a fixed number of requests, loopback.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jsonCaller, migrate, randomSecret, root } from '../scripts/lib/wrangler.mjs';
import { cpuMs, startDevServer } from './lib/measure.mjs';

const EVENTS = Number(process.env.BENCH_EVENTS || 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 8);

const lags = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    for (const e of JSON.parse(Buffer.concat(chunks).toString('utf8'))) {
      if (e.type === 'feacft') lags.push(at - Date.parse(e.date));
    }
    res.writeHead(200).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));

const platformKey = `bench-${randomSecret(18)}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
migrate(persistTo);
const tessera = await startDevServer(path.join(root, 'wrangler.toml'), persistTo, {
  MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true',
});
try {
  const call = jsonCaller(tessera.url);
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'bench' });
  const tmk = (await call('POST', '/api/v1/internal/tenants/bench/api-keys', platformKey)).key;
  await call('POST', '/t/bench/api/v1/log-streams', tmk, {
    name: 'bench', type: 'http', sink: { url: `http://127.0.0.1:${receiver.address().port}/` }, filters: { types: ['feacft'] },
  });
  const failedToken = () => fetch(`${tessera.url}/t/bench/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('cli_nobody:wrong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const before = cpuMs(tessera.groups.runtime);
  const started = Date.now();
  let sent = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (sent < EVENTS) { sent += 1; await (await failedToken()).arrayBuffer(); }
  }));
  const offeredSeconds = (Date.now() - started) / 1000;
  const deadline = Date.now() + 120_000;
  while (lags.length < EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seconds = (Date.now() - started) / 1000;
  const cpu = cpuMs(tessera.groups.runtime) - before;
  lags.sort((a, b) => a - b);
  const q = (p) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? 0;
  console.log(
    `log delivery (Workers queue consumer, wrangler dev): ${lags.length} of ${EVENTS} events received in ${seconds.toFixed(1)} s `
    + `(offered at ${(EVENTS / offeredSeconds).toFixed(0)}/s) = ${(lags.length / seconds).toFixed(0)} events/s; `
    + `lag p50 ${q(0.5)} ms, p99 ${q(0.99)} ms; runtime CPU ${(cpu / Math.max(1, lags.length)).toFixed(2)} ms per event (request, queue and delivery)`,
  );
} finally {
  await tessera.stop();
  receiver.close();
  rmSync(persistTo, { recursive: true, force: true });
}
