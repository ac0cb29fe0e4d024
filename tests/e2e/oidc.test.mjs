// End-to-end: a strict third-party relying party (`openid-client` 6) drives
// Tessera on wrangler dev through every flow, unmodified: discovery,
// authorize with PKCE, login, consent, code, token, ID-token validation
// (signature against the JWKS included), userinfo, refresh rotation,
// revocation, introspection, client credentials and logout. Then the
// negative cases of RFC 9700, each its own test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { Api, Browser, HOST, hidden, startServer } from './support.mjs';

const CB = 'http://127.0.0.1:9/callback';
const BYE = 'http://127.0.0.1:9/signed-out';
const API = 'https://api.example.test';
const PASSWORD = 'correct horse battery';

let server;
let api;
let key;
let web; // confidential client
let spa; // public client

before(async () => {
  server = await startServer();
  api = new Api(server.url);
  key = await api.tenant('demo');
  const res = await api.call('POST', '/t/demo/api/v1/resource-servers', { token: key, json: { identifier: API, name: 'Things', scopes: ['read:things', 'write:things'] } });
  assert.equal(res.status, 201, res.text);
  const w = await api.call('POST', '/t/demo/api/v1/clients', {
    token: key,
    json: {
      name: 'Web App',
      redirect_uris: [CB],
      post_logout_redirect_uris: [BYE],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['openid', 'profile', 'email', 'offline_access', 'read:things'],
      audiences: [API],
    },
  });
  assert.equal(w.status, 201, w.text);
  web = w.json;
  const s = await api.call('POST', '/t/demo/api/v1/clients', { token: key, json: { name: 'SPA', client_type: 'public', redirect_uris: [CB] } });
  assert.equal(s.status, 201, s.text);
  spa = s.json;
  for (const email of ['ana@example.com', 'bo@example.com']) {
    const u = await api.call('POST', '/t/demo/api/v1/users', { token: key, json: { email, password: PASSWORD, email_verified: true, name: 'E2E' } });
    assert.equal(u.status, 201, u.text);
  }
});

after(async () => { await server?.stop(); });

const options = { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] };
const issuer = () => new URL(`${server.url}/t/demo`);

function discover(c = web, auth = client.ClientSecretBasic(web.client_secret)) {
  return client.discovery(issuer(), c.client_id, undefined, auth, options);
}

/** Signs the browser in (once) and walks authorize -> consent -> callback. */
async function authorize(config, b, params) {
  if (!b.cookies.has('tessera_session')) {
    const l = await b.submit('/t/demo/login', '/t/demo/login', { email: b.email, password: PASSWORD });
    assert.equal(l.status, 303, l.text);
  }
  const url = client.buildAuthorizationUrl(config, params);
  let r = await b.get(url.pathname + url.search);
  if (r.status === 200) {
    assert.match(r.text, /Authorize access/);
    r = await b.post('/t/demo/consent', { csrf_token: hidden(r.text, 'csrf_token'), request: hidden(r.text, 'request'), decision: 'allow' });
  }
  assert.equal(r.status, 303, r.text);
  return new URL(r.headers.get('location'));
}

async function pkceParams(extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: CB,
    scope: 'openid profile email offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  };
  return { verifier, state, nonce, params };
}

function browser(email = 'ana@example.com') {
  const b = new Browser(server.url);
  b.email = email;
  return b;
}

test('the whole code flow with openid-client: discovery to introspection', async () => {
  const config = await discover();
  assert.equal(config.serverMetadata().issuer, `${server.url}/t/demo`);
  assert.ok(config.serverMetadata().supportsPKCE());
  const b = browser();
  const { verifier, state, nonce, params } = await pkceParams();
  const callback = await authorize(config, b, params);
  assert.equal(callback.searchParams.get('iss'), `${server.url}/t/demo`);
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  const claims = tokens.claims();
  assert.equal(claims.iss, `${server.url}/t/demo`);
  assert.equal(claims.aud, web.client_id);
  assert.equal(claims.email, 'ana@example.com');
  assert.equal(claims.nonce, nonce);
  assert.ok(tokens.refresh_token);

  // Independent checks with jose against the published JWKS.
  const jwks = createLocalJWKSet((await api.call('GET', '/t/demo/.well-known/jwks.json')).json);
  await jwtVerify(tokens.id_token, jwks, { issuer: `${server.url}/t/demo`, audience: web.client_id, algorithms: ['ES256'] });
  assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
  const at = await jwtVerify(tokens.access_token, jwks, { issuer: `${server.url}/t/demo`, typ: 'at+jwt' });
  assert.equal(at.payload.client_id, web.client_id);
  assert.equal(at.payload.sub, claims.sub);

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, 'ana@example.com');

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(refreshed.claims().sub, claims.sub);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant', 'the old refresh token is refused');

  // Reuse revoked the family; a fresh login gives a fresh family to revoke.
  const again = await pkceParams();
  const cb2 = await authorize(config, b, again.params);
  const t2 = await client.authorizationCodeGrant(config, cb2, { pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce });
  assert.equal((await client.tokenIntrospection(config, t2.access_token)).active, true);
  await client.tokenRevocation(config, t2.refresh_token, { token_type_hint: 'refresh_token' });
  const intro = await client.tokenIntrospection(config, t2.access_token);
  assert.equal(intro.active, false, 'revoking the refresh token revoked the grant');
  assert.equal((await client.tokenIntrospection(config, t2.refresh_token)).active, false);

  // RP-initiated logout back to a registered URI.
  const out = client.buildEndSessionUrl(config, { id_token_hint: t2.id_token, post_logout_redirect_uri: BYE, state: 'bye-1' });
  const r = await b.get(out.pathname + out.search);
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), `${BYE}?state=bye-1`);
  assert.equal((await b.get('/t/demo/account')).status, 303, 'signed out');
});

test('a public client with PKCE and no secret', async () => {
  const config = await discover(spa, client.None());
  const b = browser('bo@example.com');
  const { verifier, state, nonce, params } = await pkceParams({ scope: 'openid email' });
  const callback = await authorize(config, b, params);
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  assert.equal(tokens.claims().aud, spa.client_id);
  assert.equal(tokens.refresh_token, undefined, 'no offline_access asked, no refresh token');
  // Without PKCE the public client is refused at the authorization endpoint.
  const url = client.buildAuthorizationUrl(config, { redirect_uri: CB, scope: 'openid', state: 's' });
  const r = await b.get(url.pathname + url.search);
  assert.equal(new URL(r.headers.get('location')).searchParams.get('error'), 'invalid_request');
});

test('client credentials for an API: an at+jwt for its audience', async () => {
  const config = await discover();
  const t = await client.clientCredentialsGrant(config, { audience: API, scope: 'read:things' });
  const jwks = createLocalJWKSet((await api.call('GET', '/t/demo/.well-known/jwks.json')).json);
  const { payload } = await jwtVerify(t.access_token, jwks, { audience: API, typ: 'at+jwt', issuer: `${server.url}/t/demo` });
  assert.equal(payload.sub, web.client_id);
  assert.equal(payload.scope, 'read:things');
  await assert.rejects(client.clientCredentialsGrant(config, { audience: API, scope: 'write:things' }), (e) => e.error === 'invalid_scope');
});

test('negative: a replayed code fails and revokes the tokens it gave', async () => {
  const config = await discover();
  const b = browser();
  const { verifier, state, nonce, params } = await pkceParams();
  const callback = await authorize(config, b, params);
  const first = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
    (e) => e.error === 'invalid_grant',
  );
  await assert.rejects(client.fetchUserInfo(config, first.access_token, first.claims().sub), (e) => e.status === 401);
  assert.equal((await client.tokenIntrospection(config, first.refresh_token)).active, false);
});

test('negative: PKCE verifier mismatch or missing', async () => {
  const config = await discover();
  const b = browser();
  const a = await pkceParams();
  const cb = await authorize(config, b, a.params);
  await assert.rejects(
    client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: a.state, expectedNonce: a.nonce }),
    (e) => e.error === 'invalid_grant',
  );
  const m = await pkceParams();
  const cb2 = await authorize(config, b, m.params);
  const raw = await api.call('POST', '/t/demo/oauth/token', {
    body: new URLSearchParams({ grant_type: 'authorization_code', code: cb2.searchParams.get('code'), redirect_uri: CB }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64')}` },
  });
  assert.equal(raw.status, 400);
  assert.equal(raw.json.error, 'invalid_grant');
  const plain = await b.get(client.buildAuthorizationUrl(config, { ...m.params, code_challenge_method: 'plain' }).href.replace(server.url, ''));
  assert.equal(new URL(plain.headers.get('location')).searchParams.get('error'), 'invalid_request', 'plain is refused');
});

test('negative: redirect URI mismatch shows an error page, never redirects', async () => {
  const config = await discover();
  const b = browser();
  await b.submit('/t/demo/login', '/t/demo/login', { email: b.email, password: PASSWORD });
  const { params } = await pkceParams({ redirect_uri: 'http://127.0.0.1:9/callback/evil' });
  const url = client.buildAuthorizationUrl(config, params);
  const r = await b.get(url.pathname + url.search);
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('location'), null);
  assert.match(r.headers.get('content-type'), /text\/html/);
});

test('negative: unregistered post_logout_redirect_uri', async () => {
  const config = await discover();
  const out = client.buildEndSessionUrl(config, { post_logout_redirect_uri: 'https://evil.example/' });
  const r = await browser().get(out.pathname + out.search);
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('location'), null);
});

test('negative: a wrong or rotated-out client secret', async () => {
  const c = await api.call('POST', '/t/demo/api/v1/clients', { token: key, json: { name: 'Rotating', grant_types: ['client_credentials'], audiences: [API], scopes: ['read:things'] } });
  const wrong = await client.discovery(issuer(), c.json.client_id, undefined, client.ClientSecretBasic('not-the-secret'), options);
  await assert.rejects(client.clientCredentialsGrant(wrong, { audience: API }), (e) => e.status === 401);
  const oldConfig = await client.discovery(issuer(), c.json.client_id, undefined, client.ClientSecretPost(c.json.client_secret), options);
  const rot = await api.call('POST', `/t/demo/api/v1/clients/${c.json.client_id}/rotate-secret`, { token: key, json: { overlap_seconds: 0 } });
  assert.equal(rot.status, 200);
  // This client registered client_secret_basic: post is refused as well.
  await assert.rejects(client.clientCredentialsGrant(oldConfig, { audience: API }), (e) => e.error === 'invalid_client');
  const old = await client.discovery(issuer(), c.json.client_id, undefined, client.ClientSecretBasic(c.json.client_secret), options);
  await assert.rejects(client.clientCredentialsGrant(old, { audience: API }), (e) => e.status === 401, 'rotated out');
  const fresh = await client.discovery(issuer(), c.json.client_id, undefined, client.ClientSecretBasic(rot.json.client_secret), options);
  assert.ok((await client.clientCredentialsGrant(fresh, { audience: API })).access_token);
});

test('negative: refresh token reuse revokes the family', async () => {
  const config = await discover();
  const b = browser('bo@example.com');
  const { verifier, state, nonce, params } = await pkceParams();
  const cb = await authorize(config, b, params);
  const t = await client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  const t2 = await client.refreshTokenGrant(config, t.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, t.refresh_token), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(config, t2.refresh_token), (e) => e.error === 'invalid_grant', 'the newer token died with the family');
  await assert.rejects(client.fetchUserInfo(config, t2.access_token, t2.claims().sub), (e) => e.status === 401);
});

test('negative: an expired code', async () => {
  const k = await api.tenant('shortcode');
  await api.platform('PATCH', '/api/v1/internal/tenants/shortcode', { settings: { authorization_code_ttl_seconds: 1 } });
  const c = await api.call('POST', '/t/shortcode/api/v1/clients', { token: k, json: { name: 'Short', redirect_uris: [CB], first_party: true } });
  await api.call('POST', '/t/shortcode/api/v1/users', { token: k, json: { email: 'ana@example.com', password: PASSWORD, email_verified: true } });
  const config = await client.discovery(new URL(`${server.url}/t/shortcode`), c.json.client_id, undefined, client.ClientSecretBasic(c.json.client_secret), options);
  const b = new Browser(server.url);
  await b.submit('/t/shortcode/login', '/t/shortcode/login', { email: 'ana@example.com', password: PASSWORD });
  const { verifier, state, nonce, params } = await pkceParams({ scope: 'openid' });
  const url = client.buildAuthorizationUrl(config, params);
  const r = await b.get(url.pathname + url.search);
  assert.equal(r.status, 303, 'first-party: no consent page');
  await new Promise((res) => setTimeout(res, 1500));
  await assert.rejects(
    client.authorizationCodeGrant(config, new URL(r.headers.get('location')), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
    (e) => e.error === 'invalid_grant',
  );
});

test('negative: invalid scope', async () => {
  const config = await discover();
  const b = browser();
  await b.submit('/t/demo/login', '/t/demo/login', { email: b.email, password: PASSWORD });
  const { verifier, state, params } = await pkceParams({ scope: 'openid admin:everything' });
  const url = client.buildAuthorizationUrl(config, params);
  const r = await b.get(url.pathname + url.search);
  const cb = new URL(r.headers.get('location'));
  await assert.rejects(
    client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: state }),
    (e) => e.error === 'invalid_scope',
  );
});

test('negative: prompt=none without a session', async () => {
  const config = await discover();
  const { verifier, state, params } = await pkceParams({ prompt: 'none' });
  const url = client.buildAuthorizationUrl(config, params);
  const r = await new Browser(server.url).get(url.pathname + url.search);
  const cb = new URL(r.headers.get('location'));
  assert.equal(cb.searchParams.get('error'), 'login_required');
  await assert.rejects(
    client.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedState: state }),
    (e) => e.error === 'login_required',
  );
});

test('negative: a client or token of tenant A used at tenant B', async () => {
  await api.tenant('tenant-b');
  // A's client does not exist at B: discovery works, client auth does not.
  const atB = await client.discovery(new URL(`${server.url}/t/tenant-b`), web.client_id, undefined, client.ClientSecretBasic(web.client_secret), options);
  await assert.rejects(client.clientCredentialsGrant(atB, { audience: API }), (e) => e.status === 401);
  const url = client.buildAuthorizationUrl(atB, { redirect_uri: CB, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
  assert.equal((await browser().get(url.pathname + url.search)).status, 400, 'unknown client at B');
  // A's access token is not accepted at B's userinfo.
  const config = await discover();
  const b = browser();
  const { verifier, state, nonce, params } = await pkceParams();
  const t = await client.authorizationCodeGrant(config, await authorize(config, b, params), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  const r = await fetch(`${server.url}/t/tenant-b/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(r.status, 401);
});

test('the management API accepts client-credentials tokens with the right scopes', async () => {
  const bot = await api.call('POST', '/t/demo/api/v1/clients', {
    token: key,
    json: { name: 'Ops bot', grant_types: ['client_credentials'], audiences: ['urn:tessera:management'], scopes: ['read:users'] },
  });
  assert.equal(bot.status, 201, bot.text);
  const config = await client.discovery(issuer(), bot.json.client_id, undefined, client.ClientSecretBasic(bot.json.client_secret), options);
  const t = await client.clientCredentialsGrant(config, { audience: 'urn:tessera:management' });
  const users = await api.call('GET', '/t/demo/api/v1/users?email=ana@example.com', { token: t.access_token });
  assert.equal(users.status, 200, users.text);
  assert.equal(users.json.users.length, 1);
  const denied = await api.call('POST', '/t/demo/api/v1/users', { token: t.access_token, json: { email: 'new@example.com' } });
  assert.equal(denied.status, 403, 'read:users does not allow writes');
  assert.equal(denied.headers.get('content-type'), 'application/problem+json');

  // Client tokens are self-contained (no row): revocation puts one on a
  // deny-list that the management API and introspection read.
  const other = await client.clientCredentialsGrant(config, { audience: 'urn:tessera:management' });
  await client.tokenRevocation(config, t.access_token, { token_type_hint: 'access_token' });
  const after = await api.call('GET', '/t/demo/api/v1/users?email=ana@example.com', { token: t.access_token });
  assert.equal(after.status, 401, after.text);
  assert.equal((await client.tokenIntrospection(config, t.access_token)).active, false);
  assert.equal((await client.tokenIntrospection(config, other.access_token)).active, true, 'only the revoked token');
  assert.equal((await api.call('GET', '/t/demo/api/v1/users?email=ana@example.com', { token: other.access_token })).status, 200);
  // A deleted client's tokens end with it (this Worker forgets its cached copy at once).
  assert.equal((await api.call('DELETE', `/t/demo/api/v1/clients/${bot.json.client_id}`, { token: key })).status, 204);
  const gone = await api.call('GET', '/t/demo/api/v1/users?email=ana@example.com', { token: other.access_token });
  assert.equal(gone.status, 401, gone.text);
});

test('a password change, a reset or a block ends the user\'s refresh tokens', async () => {
  const config = await discover();
  const email = 'pw-change@example.com';
  const u = await api.call('POST', '/t/demo/api/v1/users', { token: key, json: { email, password: PASSWORD, email_verified: true } });
  assert.equal(u.status, 201, u.text);
  const grant = async () => {
    const b = browser(email);
    const { verifier, state, nonce, params } = await pkceParams();
    return client.authorizationCodeGrant(config, await authorize(config, b, params), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  };
  // An administrator sets a new password.
  let t = await grant();
  const patch = await api.call('PATCH', `/t/demo/api/v1/users/${u.json.id}`, { token: key, json: { password: 'a new passphrase 1' } });
  assert.equal(patch.status, 200, patch.text);
  await assert.rejects(client.refreshTokenGrant(config, t.refresh_token), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.fetchUserInfo(config, t.access_token, t.claims().sub), (e) => e.status === 401);
  // The user resets it by mail.
  await api.call('PATCH', `/t/demo/api/v1/users/${u.json.id}`, { token: key, json: { password: PASSWORD } });
  t = await grant();
  const b = new Browser(server.url);
  await b.submit('/t/demo/password-reset', '/t/demo/password-reset', { email });
  const link = await api.linkInMail(email);
  const token = new URL(link, server.url).searchParams.get('token');
  const done = await b.submit(link, '/t/demo/password-reset/confirm', { token, password: PASSWORD });
  assert.equal(done.status, 200, done.text);
  await assert.rejects(client.refreshTokenGrant(config, t.refresh_token), (e) => e.error === 'invalid_grant');
  // An administrator blocks the user: introspection reports the tokens inactive.
  t = await grant();
  assert.equal((await client.tokenIntrospection(config, t.refresh_token)).active, true);
  assert.equal((await api.call('POST', `/t/demo/api/v1/users/${u.json.id}/block`, { token: key })).status, 200);
  assert.equal((await client.tokenIntrospection(config, t.refresh_token)).active, false);
  assert.equal((await client.tokenIntrospection(config, t.access_token)).active, false);
});

test('a management token grants no scope it does not hold', async () => {
  const mint = async (scopes) => {
    const bot = await api.call('POST', '/t/demo/api/v1/clients', {
      token: key,
      json: { name: 'Bot', grant_types: ['client_credentials'], audiences: ['urn:tessera:management'], scopes },
    });
    assert.equal(bot.status, 201, bot.text);
    const config = await client.discovery(issuer(), bot.json.client_id, undefined, client.ClientSecretBasic(bot.json.client_secret), options);
    return { id: bot.json.client_id, token: (await client.clientCredentialsGrant(config, { audience: 'urn:tessera:management' })).access_token };
  };
  const clients = await mint(['write:clients', 'read:clients']);
  const escalate = await api.call('POST', '/t/demo/api/v1/clients', {
    token: clients.token,
    json: { name: 'Escalated', grant_types: ['client_credentials'], audiences: ['urn:tessera:management'], scopes: ['write:users', 'write:admins'] },
  });
  assert.equal(escalate.status, 403, escalate.text);
  assert.equal(escalate.headers.get('content-type'), 'application/problem+json');
  const widen = await api.call('PATCH', `/t/demo/api/v1/clients/${clients.id}`, { token: clients.token, json: { scopes: ['write:clients', 'read:clients', 'read:users'] } });
  assert.equal(widen.status, 403, widen.text);
  const stronger = await mint(['write:users']);
  const takeover = await api.call('POST', `/t/demo/api/v1/clients/${stronger.id}/rotate-secret`, { token: clients.token });
  assert.equal(takeover.status, 403, takeover.text);
  // write:users alone makes no administrator.
  const admin = await api.call('POST', '/t/demo/api/v1/users', { token: stronger.token, json: { email: 'boss@example.com', is_admin: true } });
  assert.equal(admin.status, 403, admin.text);
  const plain = await api.call('POST', '/t/demo/api/v1/users', { token: stronger.token, json: { email: 'plain@example.com' } });
  assert.equal(plain.status, 201, plain.text);
});

test('scheduled maintenance runs: the cron trigger on Workers, the maintenance endpoint elsewhere', async () => {
  const runs = async () => (await api.platform('GET', '/api/v1/internal/audit?limit=100')).json.logs.filter((e) => e.type === 'maintenance');
  const before = (await runs()).length;
  if (HOST === 'spin') {
    // Spin has no cron: a scheduler calls the endpoint (README).
    const r = await api.platform('POST', '/api/v1/internal/maintenance');
    assert.equal(r.status, 200, r.text);
  } else {
    const r = await fetch(`${server.url}/__scheduled?cron=*/15+*+*+*+*`);
    assert.equal(r.status, 200, await r.text());
    assert.ok(!server.log().includes('scheduled maintenance failed'), server.log());
  }
  const after = await runs();
  assert.equal(after.length, before + 1, 'the run recorded itself');
  assert.ok(Array.isArray(after[0].details.deleted), JSON.stringify(after[0]));
  assert.ok(Array.isArray(after[0].details.keys));
});
