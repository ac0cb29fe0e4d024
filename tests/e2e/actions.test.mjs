// End-to-end: tenant actions through the real actions host (Wasmtime, the
// QuickJS runner, the example Rust component) called over signed HTTP by
// the edge (wrangler dev, or the Spin test host), with a real relying party
// (openid-client) and jose checking the tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Api, Browser, HOST, hidden, startServer } from './support.mjs';
import { startActionsHost } from '../../scripts/lib/actions-host.mjs';
import { root } from '../../scripts/lib/wrangler.mjs';

const CB = 'http://127.0.0.1:9/callback';
const API = 'https://api.example.test';
const PASSWORD = 'correct horse battery';

let actionsHost;
let server;
let api;
let key;
let web;

before(async () => {
  actionsHost = await startActionsHost();
  server = await startServer({ ACTIONS_URL: actionsHost.url, ACTIONS_SECRET: actionsHost.secret });
  api = new Api(server.url);
  key = await api.tenant('demo');
  let r = await api.call('POST', '/t/demo/api/v1/resource-servers', { token: key, json: { identifier: API, name: 'Things', scopes: ['read:things'] } });
  assert.equal(r.status, 201, r.text);
  r = await api.call('POST', '/t/demo/api/v1/clients', {
    token: key,
    json: {
      name: 'Web App',
      first_party: true,
      redirect_uris: [CB],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes: ['openid', 'profile', 'email', 'offline_access', 'read:things'],
      audiences: [API],
    },
  });
  assert.equal(r.status, 201, r.text);
  web = r.json;
  for (const email of ['ana@example.com', 'bo@blocked.example']) {
    const u = await api.call('POST', '/t/demo/api/v1/users', { token: key, json: { email, password: PASSWORD, email_verified: true } });
    assert.equal(u.status, 201, u.text);
  }
});

after(async () => {
  await server?.stop();
  await actionsHost?.stop();
});

const call = (method, p, json) => api.call(method, `/t/demo/api/v1${p}`, { token: key, json });

/** Creates, deploys and binds (alone) an action; returns its id. */
async function bindOnly(trigger, code, { name = `a${Math.random().toString(36).slice(2, 8)}`, runtime = 'js', mode = 'open', secrets = {} } = {}) {
  let r = await call('POST', '/actions', { name, trigger, runtime, code, secrets });
  assert.equal(r.status, 201, r.text);
  const id = r.json.id;
  r = await call('POST', `/actions/${id}/deploy`);
  assert.equal(r.status, 201, r.text);
  r = await call('PUT', `/triggers/${trigger}`, { failure_mode: mode, bindings: [{ action_id: id }] });
  assert.equal(r.status, 200, r.text);
  return id;
}

const unbind = (trigger) => call('PUT', `/triggers/${trigger}`, { bindings: [] });

const options = { execute: [client.allowInsecureRequests] };

/** A full sign-in with openid-client; returns the callback URL and the PKCE values. */
async function signIn(email = 'ana@example.com') {
  const config = await client.discovery(new URL(`${server.url}/t/demo`), web.client_id, undefined, client.ClientSecretBasic(web.client_secret), options);
  const b = new Browser(server.url);
  const l = await b.submit('/t/demo/login', '/t/demo/login', { email, password: PASSWORD });
  assert.equal(l.status, 303, l.text);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid email offline_access', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const r = await b.get(url.pathname + url.search);
  assert.equal(r.status, 303, r.text);
  return { config, callback: new URL(r.headers.get('location')), verifier, state };
}

async function tokensFor(email) {
  const { config, callback, verifier, state } = await signIn(email);
  assert.equal(callback.searchParams.get('error'), null, callback.href);
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const jwks = createLocalJWKSet((await api.call('GET', '/t/demo/.well-known/jwks.json')).json);
  const id = await jwtVerify(tokens.id_token, jwks, { issuer: `${server.url}/t/demo`, audience: web.client_id });
  const at = await jwtVerify(tokens.access_token, jwks, { issuer: `${server.url}/t/demo`, typ: 'at+jwt' });
  return { tokens, id: id.payload, at: at.payload, config };
}

const ROLES = `exports.onExecutePostLogin = async (event, api) => {
  console.log('post-login for', event.user.email, 'from', event.client.client_id);
  api.idToken.setCustomClaim('https://example.com/roles', ['admin', event.secrets.TEAM]);
  api.accessToken.setCustomClaim('https://example.com/plan', 'pro');
  api.user.setAppMetadata('last_action_login', event.request.ip);
};`;

test('a post-login action adds claims that jose sees in the verified ID and access tokens', async () => {
  const id = await bindOnly('post-login', ROLES, { secrets: { TEAM: 'blue' } });
  const { tokens, id: idt, at, config } = await tokensFor('ana@example.com');
  assert.deepEqual(idt['https://example.com/roles'], ['admin', 'blue']);
  assert.equal(at['https://example.com/plan'], 'pro');
  // A refreshed access token keeps the claim.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const jwks = createLocalJWKSet((await api.call('GET', '/t/demo/.well-known/jwks.json')).json);
  assert.equal((await jwtVerify(refreshed.access_token, jwks, { typ: 'at+jwt' })).payload['https://example.com/plan'], 'pro');
  // The run is recorded with its console output, and audited.
  const runs = await call('GET', `/actions/${id}/executions`);
  assert.equal(runs.json.executions[0].outcome, 'success');
  assert.match(runs.json.executions[0].logs[0].message, /^post-login for ana@example.com from /);
  const logs = await call('GET', '/logs?type=action_execution');
  assert.equal(logs.json.logs[0].details.action_id, id);
  const users = await call('GET', '/users?email=ana@example.com');
  assert.ok(users.json.users[0].app_metadata.last_action_login);
  await unbind('post-login');
});

test('a post-login deny stops the login with access_denied at the client', async () => {
  await bindOnly('post-login', `exports.onExecutePostLogin = async (event, api) => {
    if (event.user.email.endsWith('@blocked.example')) api.access.deny('this domain is blocked');
  };`);
  const { callback } = await signIn('bo@blocked.example');
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  assert.equal(callback.searchParams.get('error_description'), 'this domain is blocked');
  assert.equal(callback.searchParams.get('code'), null);
  // Others still sign in.
  const ok = await signIn('ana@example.com');
  assert.ok(ok.callback.searchParams.get('code'));
  await unbind('post-login');
});

test('a pre-user-registration deny leaves no user row', async () => {
  await bindOnly('pre-user-registration', `exports.onExecutePreUserRegistration = async (event, api) => {
    if (!event.user.email.endsWith('@example.com')) api.access.deny('outsider', 'Sign-up is for example.com addresses.');
  };`);
  const b = new Browser(server.url);
  const r = await b.submit('/t/demo/signup', '/t/demo/signup', { email: 'eve@elsewhere.test', name: 'Eve', password: PASSWORD });
  assert.equal(r.status, 403, r.text);
  assert.match(r.text, /Sign-up is for example.com addresses./);
  const users = await call('GET', '/users?email=eve@elsewhere.test');
  assert.equal(users.json.users.length, 0);
  await unbind('pre-user-registration');
});

/** Polls an action's execution records until `n` are there. */
async function executionsOf(id, n, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await call('GET', `/actions/${id}/executions`);
    assert.equal(r.status, 200, r.text);
    if (r.json.executions.length >= n || Date.now() > deadline) return r.json.executions;
    await new Promise((res) => setTimeout(res, 200));
  }
}

test('post-user-registration runs after the signup, once, with the new user in its event', async () => {
  const id = await bindOnly('post-user-registration', `exports.onExecutePostUserRegistration = async (event, api) => {
    console.log('welcome', event.user.email, event.user.user_id, event.connection.strategy, event.request.ip);
  };`);
  const b = new Browser(server.url);
  const r = await b.submit('/t/demo/signup', '/t/demo/signup', { email: 'newcomer@example.com', name: 'New', password: PASSWORD });
  assert.equal(r.status, 200, r.text);
  const users = await call('GET', '/users?email=newcomer@example.com');
  const user = users.json.users[0];
  assert.ok(user, users.text);
  const runs = await executionsOf(id, 1);
  assert.equal(runs.length, 1, 'the action ran after the signup');
  assert.equal(runs[0].outcome, 'success', JSON.stringify(runs[0]));
  assert.equal(runs[0].trigger, 'post-user-registration');
  // The Spin test host reports the socket's address, not the browser's.
  const ip = HOST === 'workers' ? b.ip : '127.0.0.1';
  assert.equal(runs[0].logs[0].message, `welcome newcomer@example.com ${user.id} auth0 ${ip}`);
  // A second attempt at the same address is a failed signup (`fs`), which
  // starts nothing: still one run.
  await b.submit('/t/demo/signup', '/t/demo/signup', { email: 'newcomer@example.com', name: 'New', password: PASSWORD });
  const again = await executionsOf(id, 2, 3000);
  assert.equal(again.length, 1, JSON.stringify(again));
  const audit = await call('GET', `/logs?type=action_execution&user_id=${user.id}`);
  assert.equal(audit.json.logs[0]?.details.trigger, 'post-user-registration', audit.text);
  await unbind('post-user-registration');
});

test('a failing post-user-registration action under fail-closed still leaves the signup done', async () => {
  const id = await bindOnly('post-user-registration', `exports.onExecutePostUserRegistration = async (event, api) => {
    api.access.deny('too late');
  };`, { mode: 'closed' });
  const b = new Browser(server.url);
  const r = await b.submit('/t/demo/signup', '/t/demo/signup', { email: 'late@example.com', name: 'Late', password: PASSWORD });
  assert.equal(r.status, 200, r.text);
  const runs = await executionsOf(id, 1);
  assert.equal(runs[0]?.outcome, 'failed', JSON.stringify(runs));
  assert.match(runs[0].error, /TypeError/);
  const users = await call('GET', '/users?email=late@example.com');
  assert.equal(users.json.users.length, 1, 'the user stays');
  await unbind('post-user-registration');
});

test('a credentials-exchange action puts its claim in the client-credentials token', async () => {
  await bindOnly('credentials-exchange', `exports.onExecuteCredentialsExchange = async (event, api) => {
    api.accessToken.setCustomClaim('https://example.com/client_name', event.client.name);
  };`);
  const config = await client.discovery(new URL(`${server.url}/t/demo`), web.client_id, undefined, client.ClientSecretBasic(web.client_secret), options);
  const t = await client.clientCredentialsGrant(config, { audience: API });
  const jwks = createLocalJWKSet((await api.call('GET', '/t/demo/.well-known/jwks.json')).json);
  const at = await jwtVerify(t.access_token, jwks, { typ: 'at+jwt', audience: API });
  assert.equal(at.payload['https://example.com/client_name'], 'Web App');
  await unbind('credentials-exchange');
});

test('a WIT component action (the example built from Rust) runs like a JavaScript one', async () => {
  const wasm = readFileSync(path.join(root, 'target/wasm32-wasip2/release/tessera_example_action.wasm'));
  await bindOnly('post-login', wasm.toString('base64'), { runtime: 'wasm', secrets: { GREETING: 'hello from Rust' } });
  const { id } = await tokensFor('ana@example.com');
  assert.deepEqual(id['https://example.com/component'], { greeting: 'hello from Rust', client: web.client_id });
  const { callback } = await signIn('bo@blocked.example');
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  await unbind('post-login');
});

test('deploying v2 while v1 is bound switches at once; rollback and delete work', async () => {
  const v = (n) => `exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('https://example.com/v', ${n}); };`;
  const id = await bindOnly('post-login', v(1));
  assert.equal((await tokensFor()).id['https://example.com/v'], 1);
  assert.equal((await call('PATCH', `/actions/${id}`, { code: v(2) })).status, 200);
  // A draft does not run until it is deployed.
  assert.equal((await tokensFor()).id['https://example.com/v'], 1);
  assert.equal((await call('POST', `/actions/${id}/deploy`)).json.number, 2);
  assert.equal((await tokensFor()).id['https://example.com/v'], 2);
  assert.equal((await call('POST', `/actions/${id}/versions/1/deploy`)).status, 200);
  assert.equal((await tokensFor()).id['https://example.com/v'], 1);
  assert.equal((await call('DELETE', `/actions/${id}`)).status, 204);
  assert.deepEqual((await call('GET', '/triggers/post-login')).json.bindings, []);
  assert.equal((await tokensFor()).id['https://example.com/v'], undefined);
});

test('the test endpoint runs a draft against a sample event and records nothing', async () => {
  const r = await call('POST', '/actions', { name: 'probe', trigger: 'post-login', code: `exports.onExecutePostLogin = async (event, api) => {
    console.log('testing', event.user.email);
    api.idToken.setCustomClaim('iss', 'me');
  };` });
  const id = r.json.id;
  const t = await call('POST', `/actions/${id}/test`, { event: { user: { email: 'sample@example.com' } } });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.logs[0].message, 'testing sample@example.com');
  assert.equal(t.json.decisions[0].name, 'iss');
  assert.match(t.json.validation_error, /reserved/);
  assert.deepEqual((await call('GET', `/actions/${id}/executions`)).json.executions, []);
  const loop = await call('PATCH', `/actions/${id}`, { code: 'exports.onExecutePostLogin = async () => { while (true) {} };' });
  assert.equal(loop.status, 200);
  const t2 = await call('POST', `/actions/${id}/test`, {});
  assert.match(t2.json.error, /^timeout: /);
});

test('api.multifactor.enable() sends a password-only sign-in to set up a second factor first', async () => {
  await bindOnly('post-login', "exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('any'); };");
  const config = await client.discovery(new URL(`${server.url}/t/demo`), web.client_id, undefined, client.ClientSecretBasic(web.client_secret), options);
  const b = new Browser(server.url);
  const l = await b.submit('/t/demo/login', '/t/demo/login', { email: 'ana@example.com', password: PASSWORD });
  assert.equal(l.status, 303, l.text);
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const r = await b.get(url.pathname + url.search);
  assert.equal(r.status, 303);
  const next = new URL(r.headers.get('location'), server.url);
  assert.equal(next.pathname, '/t/demo/mfa/enroll');
  assert.match(next.searchParams.get('return_to'), /^\/t\/demo\/authorize\?/);
  // The enrolment page is where it leads: an authenticator app's QR code.
  const page = await b.get(next.pathname + next.search);
  assert.equal(page.status, 200);
  assert.match(page.text, /otpauth:\/\//);
  await unbind('post-login');
});

test('hostile code under fail-open: the login goes through and the execution says why', async () => {
  const id = await bindOnly('post-login', 'exports.onExecutePostLogin = async () => { const a = []; while (true) a.push(new Array(1e5).fill(1)); };');
  const { id: idt } = await tokensFor();
  assert.equal(idt.email, 'ana@example.com');
  const runs = await call('GET', `/actions/${id}/executions`);
  assert.equal(runs.json.executions[0].outcome, 'failed');
  assert.match(runs.json.executions[0].error, /^memory: /);
  await unbind('post-login');
});

test('with the host down, fail-open lets the login through and fail-closed refuses it; both audited', async () => {
  await bindOnly('post-login', ROLES, { mode: 'open' });
  await actionsHost.stop();
  const open = await signIn();
  assert.ok(open.callback.searchParams.get('code'), open.callback.href);
  assert.equal((await call('PUT', '/triggers/post-login', { failure_mode: 'closed' })).status, 200);
  const closed = await signIn();
  assert.equal(closed.callback.searchParams.get('error'), 'server_error');
  assert.equal(closed.callback.searchParams.get('code'), null);
  const logs = await call('GET', '/logs?type=action_execution_failed');
  const modes = logs.json.logs.slice(0, 2).map((l) => l.details.failure_mode);
  assert.deepEqual(modes, ['closed', 'open']);
  assert.match(logs.json.logs[0].details.error, /unreachable/);
});
