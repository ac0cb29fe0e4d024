// Contract fuzzing: schemathesis (PyPI) runs every operation of
// openapi/openapi.json against wrangler dev, with credentials so the
// authenticated routes are exercised, and fails on any 5xx or any response
// that does not match the spec (status, content type, headers, schema).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, randomSecret, root, startWrangler } from '../../scripts/lib/wrangler.mjs';

const platformKey = `contract-${randomSecret(18).replace(/[^A-Za-z0-9]/g, '')}`;
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'tessera-contract-'));
const server = await startWrangler({ port: await freePort(), persistTo, vars: { MASTER_KEY: randomSecret(32), PLATFORM_API_KEY: platformKey, DEV_MODE: 'true' } });
let status = 1;
try {
  const call = async (method, p, token, json) => {
    const r = await fetch(server.url + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: json && JSON.stringify(json) });
    const body = await r.json();
    if (r.status >= 300) throw new Error(`${p}: ${r.status} ${JSON.stringify(body)}`);
    return body;
  };
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'demo' });
  const tmk = (await call('POST', '/api/v1/internal/tenants/demo/api-keys', platformKey)).key;
  await call('POST', '/t/demo/api/v1/users', tmk, { email: 'ana@example.com', password: 'correct horse battery', email_verified: true });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-st-'));
  const config = path.join(dir, 'schemathesis.toml');
  writeFileSync(config, `
[parameters]
"path.tenant" = "demo"

[[operations]]
include-path-regex = "^/api/v1/internal/"
headers = { Authorization = "Bearer ${platformKey}" }

[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/api/v1/"
headers = { Authorization = "Bearer ${tmk}" }

# Deleting the fixture tenant would turn every later call into a 404.
[[operations]]
include-name = "DELETE /api/v1/internal/tenants/{tenant}"
enabled = false
`);
  const st = path.join(root, '.venv/bin/schemathesis');
  const r = spawnSync(st, [
    '--config-file', config,
    'run', path.join(root, 'openapi/openapi.json'),
    '--url', server.url,
    '--checks', 'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance',
    '--phases', 'examples,coverage,fuzzing',
    '--max-examples', process.env.CONTRACT_MAX_EXAMPLES || '15',
    '--generation-database', 'none',
    '--request-timeout', '20',
    '--no-color',
    '--report-dir', path.join(dir, 'report'),
  ], { stdio: 'inherit', cwd: dir });
  status = r.status ?? 1;
  rmSync(dir, { recursive: true, force: true });
} finally {
  await server.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
if (status !== 0) {
  console.error(`schemathesis failed (exit ${status})`);
  process.exit(status);
}
console.log('contract: schemathesis found no failures');
