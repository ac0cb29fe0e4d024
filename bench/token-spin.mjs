// The Spin component's token endpoint, discovery, JWKS and floor, on the
// Spin-compatible test host (tests/spin-host: Wasmtime with Spin's SQLite,
// KV and variables), beside bench/token-endpoint.mjs's Workers figures.
// Prints req/s, p50/p99 latency and the host process's CPU per request.
//
// The component is the release build `spin deploy` ships
// (scripts/spin-check.mjs). The test host is the debug build the tests use:
// Wasmtime's compiled code is the same, but its own calls into SQLite and
// the host interfaces run unoptimised, so the floor row is an upper bound
// of what `spin up` spends; the token row minus the floor is the
// component's own work, most of it ES256 signing with `p256` in Wasm.
process.env.TESSERA_E2E_HOST = 'spin';
const { startServer, PLATFORM_KEY } = await import('../tests/e2e/support.mjs');
const { load: measure, row } = await import('./lib/measure.mjs');
const { jsonCaller } = await import('../scripts/lib/wrangler.mjs');

const REQUESTS = Number(process.env.BENCH_REQUESTS || 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY || 8);
const AUDIENCE = 'https://api.example.test';

const server = await startServer();
try {
  const call = jsonCaller(server.url);
  await call('POST', '/api/v1/internal/tenants', PLATFORM_KEY, { slug: 'bench' });
  const tmk = (await call('POST', '/api/v1/internal/tenants/bench/api-keys', PLATFORM_KEY)).key;
  await call('POST', '/t/bench/api/v1/resource-servers', tmk, { identifier: AUDIENCE, scopes: ['read:things'] });
  const client = await call('POST', '/t/bench/api/v1/clients', tmk, { name: 'bench', grant_types: ['client_credentials'], audiences: [AUDIENCE], scopes: ['read:things'] });
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
  const token = () => fetch(`${server.url}/t/bench/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=read%3Athings&resource=${encodeURIComponent(AUDIENCE)}`,
  });
  const get = (p) => () => fetch(server.url + p);
  // Warm up: the first requests pay for instance pools and SQLite's cache.
  for (let i = 0; i < 50; i += 1) {
    const r = await token();
    const text = await r.text();
    if (r.status !== 200) throw new Error(`warm-up: ${r.status} ${text}`);
  }
  const groups = { host: [server.pid] };
  const rows = [];
  for (const [label, request] of [
    ['token (client_credentials, ES256)', token],
    ['discovery', get('/t/bench/.well-known/openid-configuration')],
    ['jwks', get('/t/bench/.well-known/jwks.json')],
    ['floor (no storage)', get('/healthz')],
  ]) {
    rows.push(await measure(`spin          ${label}`, groups, request, { requests: REQUESTS, concurrency: CONCURRENCY }));
  }
  console.log(`Spin component on the test host: ${REQUESTS} requests per endpoint, ${CONCURRENCY} concurrent; host process CPU from /proc`);
  for (const r of rows) console.log(row(r));
  const floor = rows[rows.length - 1].cpuPerReq;
  for (const r of rows.slice(0, -1)) {
    console.log(`${''.padEnd(34)} ${r.name.slice(14)} over the floor: ${(r.cpuPerReq - floor).toFixed(2)} ms/req`);
  }
} finally {
  await server.stop();
}
