// End-to-end: the internal API's credentials on wrangler dev. A platform API
// key mints a super-admin JWT, which `jose` (a third-party JOSE library)
// verifies against the published JWKS; the JWT works once; roles are
// enforced; keys rotate with an overlap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Api, PLATFORM_KEY, startServer } from './support.mjs';

let server;
let api;

before(async () => {
  server = await startServer();
  api = new Api(server.url);
});

after(async () => { await server?.stop(); });

async function createKey(role) {
  const r = await api.platform('POST', '/api/v1/internal/api-keys', { name: `${role} e2e`, role });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.key, /^tsk_[0-9a-f]{12}_/);
  return r.json;
}

test('a platform key mints a JWT that jose verifies with the published JWKS; it works once', async () => {
  const admin = await createKey('platform-admin');
  const m = await api.call('POST', '/api/v1/internal/auth/token', { token: admin.key, json: { ttl_seconds: 120 } });
  assert.equal(m.status, 200, m.text);
  const jwt = m.json.access_token;

  const jwks = await api.call('GET', '/api/v1/internal/.well-known/jwks.json');
  assert.equal(jwks.status, 200);
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks.json), {
    issuer: `${server.url}/api/v1/internal`,
    audience: 'tessera-platform',
    algorithms: ['ES256'],
  });
  // The signing key is the published one, and no other key verifies it.
  assert.ok(jwks.json.keys.some((k) => k.kid === protectedHeader.kid), 'the kid is in the JWKS');
  const others = { keys: jwks.json.keys.filter((k) => k.kid !== protectedHeader.kid) };
  await assert.rejects(jwtVerify(jwt, createLocalJWKSet(others.keys.length ? others : { keys: [] }), { algorithms: ['ES256'] }));
  assert.equal(payload.role, 'platform-admin');
  assert.equal(payload.sub, admin.id);
  assert.ok(payload.jti);
  assert.ok(payload.exp - payload.iat <= 120);

  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: jwt })).status, 200);
  const replay = await api.call('GET', '/api/v1/internal/tenants', { token: jwt });
  assert.equal(replay.status, 401, 'a replayed jti is refused');
  assert.match(replay.headers.get('www-authenticate'), /^Bearer/);
  assert.ok(!replay.text.includes(jwt.slice(-20)), 'the token is not echoed');
});

test('roles: auditors read, operators run tenants, only admins manage keys', async () => {
  const auditor = await createKey('platform-auditor');
  const operator = await createKey('platform-operator');
  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: auditor.key })).status, 200);
  assert.equal((await api.call('POST', '/api/v1/internal/tenants', { token: auditor.key, json: { slug: 'by-auditor' } })).status, 403);
  assert.equal((await api.call('POST', '/api/v1/internal/tenants', { token: operator.key, json: { slug: 'by-operator' } })).status, 201);
  const denied = await api.call('POST', '/api/v1/internal/api-keys', { token: operator.key, json: { name: 'x', role: 'platform-admin' } });
  assert.equal(denied.status, 403);
  assert.equal(denied.headers.get('content-type'), 'application/problem+json');
  assert.equal((await api.call('POST', '/api/v1/internal/tenants/by-operator/api-keys', { token: operator.key })).status, 403);
  assert.equal((await api.call('GET', '/api/v1/internal/dev/mailbox', { token: auditor.key })).status, 403);
  // A tenant's management key never reaches the internal API.
  const tmk = await api.platform('POST', '/api/v1/internal/tenants/by-operator/api-keys');
  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: tmk.json.key })).status, 401);
});

test('rotation keeps the old key inside the overlap; revocation is immediate', async () => {
  const k = await createKey('platform-operator');
  const r = await api.call('POST', `/api/v1/internal/api-keys/${k.id}/rotate`, { token: PLATFORM_KEY, json: { overlap_seconds: 600 } });
  assert.equal(r.status, 201, r.text);
  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: k.key })).status, 200, 'old key inside the overlap');
  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: r.json.key })).status, 200, 'new key');
  assert.equal((await api.platform('DELETE', `/api/v1/internal/api-keys/${k.id}`)).status, 204);
  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: k.key })).status, 401, 'revoked');
  const listed = await api.platform('GET', '/api/v1/internal/api-keys');
  assert.ok(!listed.text.includes(r.json.key.slice(20)), 'secrets are never listed');
});

test('every internal call is audited with who, what, which tenant and the outcome', async () => {
  const auditor = await createKey('platform-auditor');
  await api.call('DELETE', '/api/v1/internal/tenants/by-operator', { token: auditor.key });
  const logs = await api.platform('GET', '/api/v1/internal/audit?limit=5');
  const e = logs.json.logs.find((l) => l.details.actor === auditor.id);
  assert.ok(e, JSON.stringify(logs.json.logs));
  assert.equal(e.description, 'DELETE /api/v1/internal/tenants/{tenant}');
  assert.equal(e.details.tenant, 'by-operator');
  assert.equal(e.details.status, 403);
  assert.equal(e.type, 'fapi');
});
