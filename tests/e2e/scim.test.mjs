// End-to-end: SCIM 2.0 provisioning (issue #14) on the host under test.
// A third-party conformance checker (scim2-tester, Python) drives every
// endpoint with its own client; then a user provisioned over SCIM signs in
// through openid-client, and deactivating them over SCIM ends their refresh
// token for good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as client from 'openid-client';
import { Api, Browser, hidden, startServer } from './support.mjs';
import { root } from '../../scripts/lib/wrangler.mjs';

const run = promisify(execFile);
const PY = path.join(root, '.venv/bin/python');
const CB = 'http://127.0.0.1:9/callback';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let server;
let api;

before(async () => { server = await startServer(); api = new Api(server.url); });
after(async () => { await server?.stop(); });

/** A tenant with SCIM switched on: its management key and a SCIM token. */
async function scimTenant(slug) {
  const key = await api.tenant(slug);
  const c = await api.call('PATCH', `/t/${slug}/api/v1/scim`, { token: key, json: { enabled: true } });
  assert.equal(c.status, 200, c.text);
  const t = await api.call('POST', `/t/${slug}/api/v1/scim/tokens`, { token: key, json: { name: 'IdP' } });
  assert.equal(t.status, 201, t.text);
  return { key, token: t.json.token, base: c.json.base_url };
}

function scim(t, method, p, json) {
  const headers = json === undefined ? {} : { 'content-type': 'application/scim+json' };
  return api.call(method, new URL(t.base).pathname + p, { token: t.token, body: json && JSON.stringify(json), headers });
}

test('scim2-tester passes every check it runs against /Users and /Groups', async () => {
  const t = await scimTenant('conformance');
  let out;
  try {
    out = await run(PY, [path.join(root, 'tests/scim/check.py'), t.base, t.token], { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
  } catch (e) {
    assert.fail(`scim2-tester failed:\n${e.stdout}\n${e.stderr}`);
  }
  const summary = JSON.parse(out.stdout.trim().split('\n').at(-1));
  assert.deepEqual(summary.failures, []);
  assert.ok(summary.checks >= 100, `only ${summary.checks} checks ran`);
  assert.deepEqual(summary.skipped.filter((s) => s !== 'search_with_attributes'), []);
  // Every check that ran left an audit trail of SCIM events.
  const logs = await api.call('GET', '/t/conformance/api/v1/logs?type=scim_operation', { token: t.key });
  assert.ok(logs.json.logs.length > 10, logs.text);
});

test('a provisioned user signs in; deactivating them ends their refresh token', async () => {
  const t = await scimTenant('workforce');
  const c = await api.call('POST', '/t/workforce/api/v1/clients', {
    token: t.key,
    json: { name: 'Web', redirect_uris: [CB], grant_types: ['authorization_code', 'refresh_token'], scopes: ['openid', 'email', 'offline_access'] },
  });
  assert.equal(c.status, 201, c.text);
  const password = 'a long enough passphrase';
  const created = await scim(t, 'POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: 'ana@corp.example',
    emails: [{ value: 'ana@corp.example', primary: true, type: 'work' }],
    active: true,
    password,
  });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;

  const config = await client.discovery(new URL(`${server.url}/t/workforce`), c.json.client_id, undefined, client.ClientSecretBasic(c.json.client_secret), { execute: [client.allowInsecureRequests] });
  const b = new Browser(server.url);
  const signIn = await b.submit('/t/workforce/login', '/t/workforce/login', { email: 'ana@corp.example', password });
  assert.equal(signIn.status, 303, signIn.text);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid email offline_access', state, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  let r = await b.get(url.pathname + url.search);
  if (r.status === 200) {
    r = await b.post('/t/workforce/consent', { csrf_token: hidden(r.text, 'csrf_token'), request: hidden(r.text, 'request'), decision: 'allow' });
  }
  assert.equal(r.status, 303, r.text);
  const tokens = await client.authorizationCodeGrant(config, new URL(r.headers.get('location')), { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.claims().email, 'ana@corp.example');

  // Entra ID's deactivation, then a reactivation: the refresh token stays dead.
  for (const active of ['False', 'True']) {
    const p = await scim(t, 'PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { active } }] });
    assert.equal(p.status, 200, p.text);
  }
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  const account = await b.get('/t/workforce/account');
  assert.equal(account.status, 303, 'the session ended too');

  // Another tenant's SCIM token is refused here, in the SCIM error format.
  const other = await scimTenant('elsewhere');
  const cross = await api.call('GET', '/t/workforce/scim/v2/Users', { token: other.token });
  assert.equal(cross.status, 401);
  assert.deepEqual(cross.json.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
});
