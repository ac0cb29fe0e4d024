// End-to-end: the foundation against a real `wrangler dev` (workerd with
// local D1, KV and Queues), over HTTP, as a browser and an API client would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { Api, Browser, HOST, PLATFORM_KEY, hidden, rawGet, rawRequest, startServer } from './support.mjs';

let server;
let api;
let keyA;
let keyB;

before(async () => {
  server = await startServer();
  api = new Api(server.url);
  keyA = await api.tenant('alpha');
  keyB = await api.tenant('beta');
});

after(async () => { await server?.stop(); });

async function signupAndVerify(slug, email, password) {
  const b = new Browser(server.url);
  const r = await b.submit(`/t/${slug}/signup`, `/t/${slug}/signup`, { email, password, name: 'E2E' });
  assert.equal(r.status, 200, r.text);
  const link = await api.linkInMail(email);
  const token = new URL(link, server.url).searchParams.get('token');
  const v = await b.submit(link, `/t/${slug}/verify-email`, { token });
  assert.equal(v.status, 200, v.text);
  return b;
}

function login(b, slug, email, password) {
  return b.submit(`/t/${slug}/login`, `/t/${slug}/login`, { email, password });
}

test('signup, verification email, verify, login, logout', async () => {
  const b = new Browser(server.url);
  const email = 'ana@example.com';
  const s = await b.submit('/t/alpha/signup', '/t/alpha/signup', { email, password: 'correct horse battery' });
  assert.equal(s.status, 200);
  assert.match(s.text, /Check your email/);

  const early = await login(b, 'alpha', email, 'correct horse battery');
  assert.equal(early.status, 403, 'unverified accounts cannot sign in');

  const [mail] = await api.mailbox(email);
  assert.match(mail.subject, /Verify your email/);
  assert.equal(mail.tenant, 'alpha');
  const link = await api.linkInMail(email);
  assert.match(link, /^\/t\/alpha\/verify-email\?token=/);
  const token = new URL(link, server.url).searchParams.get('token');
  const v = await b.submit(link, '/t/alpha/verify-email', { token });
  assert.equal(v.status, 200);
  assert.match(v.text, /verified/);
  assert.equal((await b.get(link)).status, 400, 'the link works once');

  const l = await login(b, 'alpha', email, 'correct horse battery');
  assert.equal(l.status, 303, l.text);
  assert.equal(l.headers.get('location'), '/t/alpha/account');
  const cookie = l.headers.getSetCookie().find((c) => c.startsWith('tessera_session='));
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/t/alpha']) assert.ok(cookie.includes(attr), cookie);

  const acct = await b.get('/t/alpha/account');
  assert.equal(acct.status, 200);
  assert.match(acct.text, /ana@example\.com/);

  const out = await b.submit('/t/alpha/account', '/t/alpha/logout', {});
  assert.equal(out.status, 303);
  assert.equal((await b.get('/t/alpha/account')).status, 303, 'signed out');

  const logs = await api.platform('GET', '/api/v1/internal/tenants/alpha/logs');
  const types = logs.json.logs.map((e) => e.type);
  for (const t of ['ss', 'sv', 's', 'slo']) assert.ok(types.includes(t), `${t} in ${types}`);
});

test('password reset by emailed single-use link', async () => {
  const email = 'reset@example.com';
  const old = await signupAndVerify('alpha', email, 'original password 1');
  assert.equal((await login(old, 'alpha', email, 'original password 1')).status, 303);

  const b = new Browser(server.url);
  const r = await b.submit('/t/alpha/password-reset', '/t/alpha/password-reset', { email });
  assert.equal(r.status, 200);
  const ghost = await b.submit('/t/alpha/password-reset', '/t/alpha/password-reset', { email: 'ghost@example.com' });
  assert.equal(ghost.status, 200);
  assert.equal(ghost.text.replace(/csrf_token" value="[^"]*"/, ''), r.text.replace(/csrf_token" value="[^"]*"/, ''),
    'the same answer for unknown addresses');
  assert.equal((await api.mailbox('ghost@example.com')).length, 0);

  const link = await api.linkInMail(email);
  assert.match(link, /^\/t\/alpha\/password-reset\/confirm\?token=/);
  const token = new URL(link, server.url).searchParams.get('token');
  const c = await b.submit(link, '/t/alpha/password-reset/confirm', { token, password: 'brand new password 2' });
  assert.equal(c.status, 200, c.text);
  const again = await b.submit('/t/alpha/password-reset', '/t/alpha/password-reset/confirm', { token, password: 'third password 333' });
  assert.equal(again.status, 400, 'the reset link works once');

  assert.equal((await login(new Browser(server.url), 'alpha', email, 'original password 1')).status, 401);
  assert.equal((await login(new Browser(server.url), 'alpha', email, 'brand new password 2')).status, 303);
  assert.equal((await old.get('/t/alpha/account')).status, 303, 'older sessions ended');
});

test('lockout after repeated failures, same for unknown accounts', async () => {
  const email = 'lock@example.com';
  await signupAndVerify('alpha', email, 'correct horse battery');
  const b = new Browser(server.url);
  for (let i = 0; i < 4; i += 1) {
    const r = await login(b, 'alpha', email, 'wrong password');
    assert.equal(r.status, 401);
    assert.match(r.text, /Wrong email or password/);
  }
  assert.equal((await login(b, 'alpha', email, 'wrong password')).status, 429);
  const locked = await login(b, 'alpha', email, 'correct horse battery');
  assert.equal(locked.status, 429, 'locked even with the right password');
  assert.match(locked.text, /Too many failed attempts/);

  const g = new Browser(server.url);
  for (let i = 0; i < 4; i += 1) assert.equal((await login(g, 'alpha', 'nobody@example.com', 'x')).status, 401);
  const ghost = await login(g, 'alpha', 'nobody@example.com', 'x');
  assert.equal(ghost.status, 429, 'an unknown address locks the same way');
});

// The client address comes from the platform (CF-Connecting-IP on Workers,
// which local workerd lets a test set; the socket on Spin), so only the
// Workers run can play several clients.
test('per-IP rate limit on failed logins', { skip: HOST === 'spin' && 'one client address on the Spin test host' }, async () => {
  const set = await api.platform('PATCH', '/api/v1/internal/tenants/beta', { settings: { ip_failure_limit: 3 } });
  assert.equal(set.status, 200, set.text);
  const attacker = new Browser(server.url, '203.0.113.50');
  for (const e of ['a@x.io', 'b@x.io', 'c@x.io']) assert.equal((await login(attacker, 'beta', e, 'pw')).status, 401);
  assert.equal((await login(attacker, 'beta', 'd@x.io', 'pw')).status, 429);
  assert.equal((await login(new Browser(server.url), 'beta', 'd@x.io', 'pw')).status, 401, 'other clients unaffected');
});

test('discovery and JWKS: P-256 keys with kid, rotation keeps the old key', async () => {
  const d = await api.call('GET', '/t/alpha/.well-known/openid-configuration');
  assert.equal(d.status, 200);
  assert.match(d.headers.get('cache-control'), /max-age=\d+/);
  assert.equal(d.json.issuer, `${server.url}/t/alpha`);
  assert.equal(d.json.jwks_uri, `${server.url}/t/alpha/.well-known/jwks.json`);
  const j = await api.call('GET', '/t/alpha/.well-known/jwks.json');
  assert.equal(j.status, 200);
  assert.equal(j.json.keys.length, 1);
  for (const jwk of j.json.keys) {
    assert.equal(jwk.kty, 'EC');
    assert.equal(jwk.crv, 'P-256');
    assert.equal(jwk.alg, 'ES256');
    assert.ok(jwk.kid);
    assert.equal(jwk.d, undefined, 'no private part');
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails.namedCurve, 'prime256v1');
  }
  // A cache revalidates by ETag: 304 and no body while the set is the same,
  // the new set once a rotation changed it (below).
  const etag = j.headers.get('etag');
  assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
  const again = await api.call('GET', '/t/alpha/.well-known/jwks.json', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(again.headers.get('etag'), etag);
  const d304 = await api.call('GET', '/t/alpha/.well-known/openid-configuration', { headers: { 'if-none-match': d.headers.get('etag') } });
  assert.equal(d304.status, 304);
  const oldKid = j.json.keys[0].kid;
  const rot = await api.platform('POST', '/api/v1/internal/tenants/alpha/signing-keys');
  assert.equal(rot.status, 201);
  const after = await api.call('GET', '/t/alpha/.well-known/jwks.json', { headers: { 'if-none-match': etag } });
  assert.equal(after.status, 200, 'the rotated set is a new version');
  assert.notEqual(after.headers.get('etag'), etag);
  assert.deepEqual(after.json.keys.map((k) => k.kid), [rot.json.kid, oldKid]);
  assert.equal((await api.platform('POST', `/api/v1/internal/tenants/alpha/signing-keys/${oldKid}/retire`)).status, 204);
  const retired = await api.call('GET', '/t/alpha/.well-known/jwks.json');
  assert.deepEqual(retired.json.keys.map((k) => k.kid), [rot.json.kid]);
});

test('a repeated GET of discovery or the JWKS answers exactly as the first, until the tenant is gone', async () => {
  // The Workers entry answers repeats from what the core answered first
  // (edge/workers/entry.mjs); every host must answer them alike.
  await api.tenant('gamma');
  const stable = (r) => [...r.headers].filter(([k]) => !['date', 'cf-ray', 'content-length'].includes(k));
  for (const p of ['/t/gamma/.well-known/openid-configuration', '/t/gamma/.well-known/jwks.json']) {
    const first = await api.call('GET', p);
    assert.equal(first.status, 200, first.text);
    for (let i = 0; i < 3; i += 1) {
      const again = await api.call('GET', p);
      assert.equal(again.status, 200);
      assert.equal(again.text, first.text);
      assert.deepEqual(stable(again), stable(first));
    }
    const etag = first.headers.get('etag');
    const weak = await api.call('GET', p, { headers: { 'if-none-match': `"other", W/${etag}` } });
    assert.equal(weak.status, 304, 'a weak match in a list');
    assert.equal(weak.text, '');
    assert.equal(weak.headers.get('etag'), etag);
    const other = await api.call('GET', p, { headers: { 'if-none-match': '"other"' } });
    assert.equal(other.status, 200);
    assert.equal(other.text, first.text);
    // Not for another method: HEAD and POST reach the core.
    assert.equal((await api.call('POST', p)).status, 405);
  }
  const gone = await api.platform('DELETE', '/api/v1/internal/tenants/gamma');
  assert.equal(gone.status, 204, gone.text);
  for (const p of ['/t/gamma/.well-known/openid-configuration', '/t/gamma/.well-known/jwks.json']) {
    assert.equal((await api.call('GET', p)).status, 404, `${p} once the tenant is deleted`);
  }
});

test('management API: users CRUD, pagination, filter, block', async () => {
  const u = await api.call('POST', '/t/beta/api/v1/users', { token: keyB, json: { email: 'Mo@Example.com', password: 'long enough pw', email_verified: true } });
  assert.equal(u.status, 201, u.text);
  assert.equal(u.json.email, 'mo@example.com');
  assert.equal(u.json.password_hash, undefined);
  for (let i = 0; i < 3; i += 1) {
    assert.equal((await api.call('POST', '/t/beta/api/v1/users', { token: keyB, json: { email: `p${i}@example.com` } })).status, 201);
  }
  const p1 = await api.call('GET', '/t/beta/api/v1/users?limit=2', { token: keyB });
  assert.equal(p1.json.users.length, 2);
  const p2 = await api.call('GET', `/t/beta/api/v1/users?limit=2&cursor=${p1.json.next_cursor}`, { token: keyB });
  assert.equal(p2.json.users.length, 2);
  assert.equal(p2.json.next_cursor, null);
  const f = await api.call('GET', '/t/beta/api/v1/users?email=MO@example.com', { token: keyB });
  assert.deepEqual(f.json.users.map((x) => x.id), [u.json.id]);

  const b = new Browser(server.url);
  assert.equal((await login(b, 'beta', 'mo@example.com', 'long enough pw')).status, 303);
  const blocked = await api.call('PATCH', `/t/beta/api/v1/users/${u.json.id}`, { token: keyB, json: { blocked: true } });
  assert.equal(blocked.json.blocked, true);
  assert.equal((await b.get('/t/beta/account')).status, 303, 'blocking ends sessions');
  assert.equal((await login(b, 'beta', 'mo@example.com', 'long enough pw')).status, 403);
  assert.equal((await api.call('DELETE', `/t/beta/api/v1/users/${u.json.id}`, { token: keyB })).status, 204);
  assert.equal((await api.call('GET', `/t/beta/api/v1/users/${u.json.id}`, { token: keyB })).status, 404);
});

test('tenant isolation: users, sessions, keys and API keys stay in their tenant', async () => {
  const a = await api.call('POST', '/t/alpha/api/v1/users', { token: keyA, json: { email: 'iso@example.com', password: 'isolation pw 1', email_verified: true } });
  assert.equal(a.status, 201);
  assert.equal((await api.call('GET', '/t/alpha/api/v1/users', { token: keyB })).status, 401, "B's key at A");
  assert.equal((await api.call('GET', `/t/beta/api/v1/users/${a.json.id}`, { token: keyB })).status, 404, "A's user via B");
  assert.equal((await api.call('PATCH', `/t/beta/api/v1/users/${a.json.id}`, { token: keyB, json: { blocked: true } })).status, 404);
  assert.equal((await api.call('GET', '/api/v1/internal/tenants', { token: keyA })).status, 401, 'tenant key at the platform API');

  const b = new Browser(server.url);
  assert.equal((await login(b, 'beta', 'iso@example.com', 'isolation pw 1')).status, 401, "A's user at B");
  assert.equal((await login(b, 'alpha', 'iso@example.com', 'isolation pw 1')).status, 303);
  const sess = b.cookies.get('tessera_session');
  const atB = await fetch(`${server.url}/t/beta/account`, { redirect: 'manual', headers: { cookie: `tessera_session=${sess}` } });
  assert.equal(atB.status, 303, "A's session means nothing at B");

  const ja = await api.call('GET', '/t/alpha/.well-known/jwks.json');
  const jb = await api.call('GET', '/t/beta/.well-known/jwks.json');
  const kidsA = new Set(ja.json.keys.map((k) => k.kid));
  assert.ok(jb.json.keys.every((k) => !kidsA.has(k.kid)), 'keys are per tenant');
});

test('custom domain resolves its tenant, and serves no other', async () => {
  const add = await api.platform('POST', '/api/v1/internal/tenants/beta/domains', { domain: 'login.beta.test' });
  assert.equal(add.status, 201, add.text);
  const d = await rawGet(server.url, '/.well-known/openid-configuration', 'login.beta.test');
  assert.equal(d.status, 200, d.text);
  // The custom domain under the canonical origin's scheme (plain HTTP here).
  assert.equal(JSON.parse(d.text).issuer, 'http://login.beta.test');
  // Another tenant's pages, the path mount and the platform API are not
  // served on a tenant's domain.
  for (const p of ['/t/alpha/login', '/t/beta/login', '/t/alpha/.well-known/openid-configuration', '/api/v1/internal/tenants']) {
    const r = await rawGet(server.url, p, 'login.beta.test', { authorization: `Bearer ${PLATFORM_KEY}` });
    assert.equal(r.status, 404, `${p}: ${r.text.slice(0, 200)}`);
  }
  assert.equal((await rawGet(server.url, '/login', 'login.beta.test')).status, 200);
  const unknown = await rawGet(server.url, '/login', 'nobody.test');
  assert.equal(unknown.status, 421);
});

test('a forged Host header chooses no issuer, link or page', async () => {
  const email = 'hosted@example.com';
  await signupAndVerify('alpha', email, 'host header pw 1');
  const before = (await api.mailbox(email)).length;
  for (const host of ['evil.example', `localhost:${new URL(server.url).port}`]) {
    for (const p of ['/t/alpha/password-reset', '/t/alpha/.well-known/openid-configuration', '/t/alpha/login']) {
      const r = await rawGet(server.url, p, host);
      assert.equal(r.status, 421, `${host}${p}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    const post = await rawRequest(server.url, {
      method: 'POST',
      path: '/t/alpha/password-reset',
      headers: { host, 'content-type': 'application/x-www-form-urlencoded' },
      body: `email=${encodeURIComponent(email)}`,
    });
    assert.equal(post.status, 421);
  }
  assert.equal((await api.mailbox(email)).length, before, 'no mail for a refused host');
  // On the canonical origin the link is the canonical origin's.
  const b = new Browser(server.url);
  assert.equal((await b.submit('/t/alpha/password-reset', '/t/alpha/password-reset', { email })).status, 200);
  const [mail] = await api.mailbox(email);
  assert.ok(mail.text.includes(`${server.url}/t/alpha/password-reset/confirm?token=`), mail.text);
  const d = await api.call('GET', '/t/alpha/.well-known/openid-configuration');
  assert.equal(d.json.issuer, `${server.url}/t/alpha`);
});

test('bad input gets a clear 4xx in the surface format, never a 5xx', async () => {
  const b = new Browser(server.url);
  await b.get('/t/alpha/login');
  const cases = [
    ['unknown tenant page', () => api.call('GET', '/t/nope/login'), 404, 'text/html'],
    ['unknown tenant API', () => api.call('GET', '/t/nope/api/v1/users', { token: keyA }), 404, 'application/problem+json'],
    ['wrong method', () => api.call('PUT', '/t/alpha/login'), 405, 'text/html'],
    ['wrong method API', () => api.call('DELETE', '/api/v1/internal/tenants', { token: 'x' }), 405, 'application/problem+json'],
    ['missing CSRF', () => b.post('/t/alpha/login', { email: 'a@b.co', password: 'x' }), 403, 'text/html'],
    ['forged CSRF', () => b.post('/t/alpha/login', { csrf_token: 'forged', email: 'a@b.co', password: 'x' }), 403, 'text/html'],
    ['malformed form', () => b.request('POST', '/t/alpha/login', 'a=1&a=2', { 'content-type': 'application/x-www-form-urlencoded' }), 400, 'text/html'],
    ['form as JSON', () => b.request('POST', '/t/alpha/login', '{}', { 'content-type': 'application/json' }), 415, 'text/html'],
    ['oversized form', () => b.request('POST', '/t/alpha/signup', 'a='.padEnd(100_000, 'x'), { 'content-type': 'application/x-www-form-urlencoded' }), 413, 'text/html'],
    ['malformed JSON', () => api.call('POST', '/t/alpha/api/v1/users', { token: keyA, body: '{"email":', headers: { 'content-type': 'application/json' } }), 400, 'application/problem+json'],
    ['wrong JSON type', () => api.call('POST', '/t/alpha/api/v1/users', { token: keyA, json: { email: 42 } }), 400, 'application/problem+json'],
    ['unknown field', () => api.call('POST', '/t/alpha/api/v1/users', { token: keyA, json: { email: 'z@example.com', admin: true } }), 400, 'application/problem+json'],
    ['oversized JSON', () => api.call('POST', '/t/alpha/api/v1/users', { token: keyA, body: JSON.stringify({ email: 'x'.repeat(100_000) }), headers: { 'content-type': 'application/json' } }), 413, 'application/problem+json'],
    ['no content type', () => api.call('POST', '/t/alpha/api/v1/users', { token: keyA, body: '{}' }), 415, 'application/problem+json'],
    ['bad limit', () => api.call('GET', '/t/alpha/api/v1/users?limit=abc', { token: keyA }), 400, 'application/problem+json'],
    ['no API key', () => api.call('GET', '/t/alpha/api/v1/users'), 401, 'application/problem+json'],
    ['no platform key', () => api.call('GET', '/api/v1/internal/tenants'), 401, 'application/problem+json'],
    ['bad slug', () => api.platform('POST', '/api/v1/internal/tenants', { slug: '../etc' }), 400, 'application/problem+json'],
    ['invalid reset link', () => b.get('/t/alpha/password-reset/confirm?token=nope'), 400, 'text/html'],
  ];
  for (const [name, run, status, ct] of cases) {
    const r = await run();
    assert.equal(r.status, status, `${name}: ${r.status} ${r.text?.slice(0, 200)}`);
    assert.ok((r.headers.get('content-type') || '').startsWith(ct), `${name}: ${r.headers.get('content-type')}`);
  }
  const p = await api.call('GET', '/t/alpha/api/v1/users/usr_missing', { token: keyA });
  assert.equal(p.json.status, 404);
  assert.equal(typeof p.json.title, 'string');
});

test('a method no route has gets 405 with Allow, whatever the method', async () => {
  const host = new URL(server.url).host;
  for (const [p, allow] of [['/t/alpha/login', 'GET, POST'], ['/t/alpha/.well-known/jwks.json', 'GET'], ['/api/v1/internal/tenants', 'GET, POST']]) {
    for (const method of ['QUERY', 'PUT']) {
      const r = await rawRequest(server.url, { method, path: p, headers: { host } });
      assert.equal(r.status, 405, `${method} ${p}: ${r.status}`);
      assert.equal(r.headers.allow, allow, `${method} ${p}`);
    }
  }
});

test('hosted pages carry protective headers and escape input', async () => {
  const b = new Browser(server.url);
  const r = await b.get('/t/alpha/signup');
  assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const x = await b.post('/t/alpha/signup', { csrf_token: hidden(r.text, 'csrf_token'), email: '<script>alert(1)</script>', password: 'whatever pw 1' });
  assert.equal(x.status, 400);
  assert.ok(!x.text.includes('<script>alert(1)</script>'));
  assert.ok(x.text.includes('&lt;script&gt;'));
});

test('a large body without a declared length gets 413, not a 5xx', async () => {
  // Chunked, so only the host's capped read can see its size. (A body
  // declared too large is refused from its Content-Length before any read:
  // the domain and unit tests hold that, as wrangler's dev proxy waits for
  // the whole upload before the Worker runs.) Last in this file: after the
  // Worker stops reading an upload early, wrangler's local proxy stalls the
  // next request for several seconds (production discards the rest).
  const send = () => rawRequest(server.url, {
    method: 'POST',
    path: '/t/alpha/signup',
    headers: { host: new URL(server.url).host, 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' },
    body: `email=a%40b.test&pad=${'x'.repeat(1024 * 1024)}`,
  });
  // Two things of the local dev proxy (not the Worker, not production) are
  // retried, up to three tries in all: its 503 when it reloads the runtime
  // mid-upload, and a connection reset while the client is still writing
  // (the 413 is answered before the upload ends and the socket closes with
  // the rest unread, so the client may see the reset before the answer).
  const tries = 3;
  let r;
  for (let attempt = 0; attempt < tries; attempt += 1) {
    r = await send().catch((e) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return { status: 0, text: `connection ${e.code}` };
      throw e;
    });
    const proxyRestart = r.status === 503 && r.text.includes('Your worker restarted mid-request');
    if ((r.status !== 0 && !proxyRestart) || attempt === tries - 1) break;
    // The proxy answers at once while its runtime restarts: give it a
    // moment, or the next tries meet the same restart (seen in CI: three
    // 503s within 22 ms).
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  assert.equal(r.status, 413, r.text.slice(0, 200));
});
