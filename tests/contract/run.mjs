// Contract fuzzing: schemathesis (PyPI) runs every operation of
// openapi/openapi.json against wrangler dev, with credentials so the
// authenticated routes are exercised, and fails on any 5xx, any response that
// does not match the spec (status, content type, headers, schema), invalid
// input accepted, a missing credential ignored, or an undeclared method not
// answered with 405. The checks left off say why in the config below.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jsonCaller, root } from '../../scripts/lib/wrangler.mjs';
import { Browser, HOST, PLATFORM_KEY as platformKey, hidden, startServer } from '../e2e/support.mjs';
import { startActionsHost } from '../../scripts/lib/actions-host.mjs';

// The host under test: wrangler dev, or the Spin component on its test host
// (TESSERA_E2E_HOST=spin), started as the end-to-end suite starts them.
console.log(`contract: fuzzing the ${HOST} host`);
// With the actions host beside it, so the actions' test endpoint and any
// action a fuzzed call binds run for real.
const actionsHost = await startActionsHost();
const server = await startServer({ ACTIONS_URL: actionsHost.url, ACTIONS_SECRET: actionsHost.secret });
let status = 1;
try {
  const call = jsonCaller(server.url);
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'demo' });
  const tmk = (await call('POST', '/api/v1/internal/tenants/demo/api-keys', platformKey)).key;
  await call('POST', '/t/demo/api/v1/users', tmk, { email: 'ana@example.com', password: 'correct horse battery', email_verified: true });
  // A confidential client, so the OAuth endpoints get past client
  // authentication and fuzz the grants, introspection and revocation.
  await call('POST', '/t/demo/api/v1/resource-servers', tmk, { identifier: 'https://api.example.test', scopes: ['read'] });
  const web = await call('POST', '/t/demo/api/v1/clients', tmk, {
    name: 'fuzzed', redirect_uris: ['https://app.example.test/cb'], audiences: ['https://api.example.test'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], scopes: ['openid', 'offline_access', 'read'],
  });
  const basic = Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64');
  // SCIM on, with a token, so /scim/v2 is fuzzed past authentication.
  await call('PATCH', '/t/demo/api/v1/scim', tmk, { enabled: true });
  const scimToken = (await call('POST', '/t/demo/api/v1/scim/tokens', tmk, { name: 'fuzzer' })).token;

  // The HTML forms (hosted pages and admin UI) are fuzzed in a tenant of
  // their own, signed in as its administrator, with a real CSRF pair that
  // hooks.py puts on every form request: what a form does to its tenant
  // (SCIM switched off, a trigger failing closed) cannot change what the
  // API, OAuth and SCIM operations meet in `demo`.
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'forms' });
  await call('POST', '/api/v1/internal/tenants', platformKey, { slug: 'keys' });
  const formsKey = (await call('POST', '/api/v1/internal/tenants/forms/api-keys', platformKey)).key;
  await call('POST', '/t/forms/api/v1/users', formsKey, { email: 'admin@forms.test', password: 'admin password 1', email_verified: true, is_admin: true });
  const browser = new Browser(server.url);
  const anonymousToken = hidden((await browser.get('/t/forms/login')).text, 'csrf_token');
  const anonymous = { cookie: `tessera_csrf=${browser.cookies.get('tessera_csrf')}`, token: anonymousToken };
  const signIn = await browser.post('/t/forms/login', { csrf_token: anonymousToken, email: 'admin@forms.test', password: 'admin password 1' });
  if (signIn.status !== 303 || !browser.cookies.has('tessera_session')) throw new Error(`admin sign-in: ${signIn.status} ${signIn.text.slice(0, 300)}`);
  const adminPage = await browser.get('/t/forms/admin/clients/new');
  if (adminPage.status !== 200) throw new Error(`admin page: ${adminPage.status} ${adminPage.text.slice(0, 300)}`);
  const signedIn = { cookie: browser.cookieHeader(), token: hidden(adminPage.text, 'csrf_token') };

  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-st-'));
  const config = path.join(dir, 'schemathesis.toml');
  writeFileSync(config, `
[parameters]
"path.tenant" = "demo"

[[operations]]
include-path-regex = "^/api/v1/internal/"
headers = { Authorization = "Bearer ${platformKey}" }

[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/api/v1/(?!scim$)"
headers = { Authorization = "Bearer ${tmk}" }

# SCIM's configuration is fuzzed in the forms' tenant: a fuzzed PATCH that
# switches SCIM off in \`demo\` would leave every later SCIM operation there
# with nothing but 403.
[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/api/v1/scim$"
headers = { Authorization = "Bearer ${formsKey}" }
parameters = { "path.tenant" = "forms" }

[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/scim/v2/(?!\\\\.search$|Bulk$)"
headers = { Authorization = "Bearer ${scimToken}" }

[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/oauth/"
headers = { Authorization = "Basic ${basic}" }

# A tenant's management API keys are fuzzed in a tenant of their own:
# schemathesis reuses ids it reads from responses, so a listed key can be
# revoked, and in \`demo\` that would be the key every API operation uses.
[[operations]]
include-path-regex = "^/api/v1/internal/tenants/\\\\{tenant\\\\}/api-keys"
parameters = { "path.tenant" = "keys" }

# Deleting the fixture tenant would turn every later call into a 404.
[[operations]]
include-name = "DELETE /api/v1/internal/tenants/{tenant}"
enabled = false

# Every check is on, bar these:
# - positive_data_acceptance: data valid for the schema is not always valid
#   for the rules the schema cannot express (unique emails and slugs,
#   registered redirect URIs, scopes an API defines), so a 4xx for it is
#   right, not a failure.
# - use_after_free, ensure_resource_availability: they follow created and
#   deleted resources across calls, which needs the stateful phase (OpenAPI
#   links, which the document does not declare yet).
[checks.positive_data_acceptance]
enabled = false
[checks.use_after_free]
enabled = false
[checks.ensure_resource_availability]
enabled = false

# SCIM's search across resource types and bulk operations are not offered:
# they answer 501 (RFC 7644 leaves both optional; the document says so), a
# 5xx by design.
[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/scim/v2/(\\\\.search|Bulk)$"
headers = { Authorization = "Bearer ${scimToken}" }
[operations.checks.not_a_server_error]
enabled = false

# The HTML forms' tenant (see above; hooks.py signs their requests).
[[operations]]
include-path-regex = "^/t/\\\\{tenant\\\\}/(?!api/|oauth/|scim/|\\\\.well-known/)"
parameters = { "path.tenant" = "forms" }
`);
  const st = path.join(root, '.venv/bin/schemathesis');
  const r = spawnSync(st, [
    '--config-file', config,
    'run', path.join(root, 'openapi/openapi.json'),
    '--url', server.url,
    // The stateful phase needs OpenAPI links, which the document lacks.
    '--phases', 'examples,coverage,fuzzing',
    '--max-examples', process.env.CONTRACT_MAX_EXAMPLES || '15',
    '--generation-database', 'none',
    '--request-timeout', '20',
    '--no-color',
    '--report-dir', path.join(dir, 'report'),
    // CONTRACT_SEED replays a run (schemathesis prints its seed).
    ...(process.env.CONTRACT_SEED ? ['--seed', process.env.CONTRACT_SEED] : []),
  ], {
    stdio: 'inherit',
    cwd: dir,
    env: {
      ...process.env,
      PYTHONPATH: path.join(root, 'tests/contract'),
      SCHEMATHESIS_HOOKS: 'hooks',
      TESSERA_CONTRACT_FORMS: JSON.stringify({ anonymous, signed_in: signedIn }),
    },
  });
  status = r.status ?? 1;
  rmSync(dir, { recursive: true, force: true });
} finally {
  await server.stop();
  await actionsHost.stop();
}
if (status !== 0) {
  console.error(`schemathesis failed (exit ${status})`);
  process.exit(status);
}
console.log('contract: schemathesis found no failures');
