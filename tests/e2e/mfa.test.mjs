// End-to-end: two-step verification on the running service, with an
// outside TOTP generator (`otpauth`) and relying party (`openid-client`).
// A user enrols from the otpauth URI on the enrolment page, signs in through
// the code flow with a code and the RP sees `amr`/`acr` in the verified ID
// token; a replayed code is refused; wrong codes lock the account; a
// recovery code works once; the required policy forces enrolment; a legacy
// secret is imported through the management API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as OTPAuth from 'otpauth';
import { Api, Browser, hidden, startServer } from './support.mjs';

const CB = 'http://127.0.0.1:9/callback';
const PASSWORD = 'correct horse battery';
const MFA_ACR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';

let server;
let api;
let key;
let app;

before(async () => {
  server = await startServer();
  api = new Api(server.url);
  key = await api.tenant('mfa');
  const c = await api.call('POST', '/t/mfa/api/v1/clients', {
    token: key,
    json: { name: 'MFA App', redirect_uris: [CB], first_party: true, scopes: ['openid', 'profile', 'email'] },
  });
  assert.equal(c.status, 201, c.text);
  app = c.json;
});

after(async () => { await server?.stop(); });

async function user(email) {
  const u = await api.call('POST', '/t/mfa/api/v1/users', { token: key, json: { email, password: PASSWORD, email_verified: true } });
  assert.equal(u.status, 201, u.text);
  return u.json;
}

function browser() { return new Browser(server.url); }

async function signIn(b, email, returnTo = '/t/mfa/account') {
  return b.submit('/t/mfa/login', '/t/mfa/login', { email, password: PASSWORD, return_to: returnTo });
}

/** The TOTP generator an authenticator app would be, from the page's otpauth URI. */
function appFromEnrolmentPage(html) {
  assert.match(html, /<svg[^>]*>/, 'the QR code is inline SVG');
  const href = html.match(/<a id="otpauth" href="([^"]+)"/)[1].replaceAll('&amp;', '&');
  const totp = OTPAuth.URI.parse(href);
  assert.ok(totp instanceof OTPAuth.TOTP);
  assert.equal(totp.issuer, 'Tenant mfa');
  assert.equal(totp.digits, 6);
  assert.equal(totp.period, 30);
  assert.equal(totp.algorithm, 'SHA1');
  const shown = html.match(/<code id="secret">([^<]+)<\/code>/)[1].replace(/\s+/g, '');
  assert.equal(totp.secret.base32, shown, 'the key shown as text is the one in the URI');
  assert.equal(totp.secret.bytes.length, 20, '160-bit secret');
  return totp;
}

/** A code of a step not used yet: the next step's when `after` is the current one. */
function codeAfter(totp, used) {
  let c = totp.generate();
  if (c === used) c = totp.generate({ timestamp: Date.now() + 30_000 });
  return c;
}

async function enrol(b) {
  const page = await b.get('/t/mfa/mfa/enroll?return_to=%2Ft%2Fmfa%2Faccount');
  assert.equal(page.status, 200, page.text);
  const totp = appFromEnrolmentPage(page.text);
  const code = totp.generate();
  const r = await b.post('/t/mfa/mfa/enroll', { csrf_token: hidden(page.text, 'csrf_token'), code, return_to: '/t/mfa/account' });
  assert.equal(r.status, 200, r.text);
  const recovery = [...r.text.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]);
  assert.equal(recovery.length, 10);
  return { totp, recovery, used: code };
}

test('enrol from the otpauth URI, sign in through openid-client with a code, amr and acr in the ID token', async () => {
  await user('ana@example.com');
  const b = browser();
  assert.equal((await signIn(b, 'ana@example.com')).status, 303);
  const { totp, used } = await enrol(b);
  const account = await b.get('/t/mfa/account');
  assert.match(account.text, /id="recovery-left">10</);

  const config = await client.discovery(new URL(`${server.url}/t/mfa`), app.client_id, undefined, client.ClientSecretBasic(app.client_secret), { execute: [client.allowInsecureRequests] });
  assert.ok(config.serverMetadata().acr_values_supported.includes(MFA_ACR));
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  // A new browser: password, then the challenge.
  const fresh = browser();
  let r = await fresh.get(url.pathname + url.search);
  assert.equal(r.status, 303);
  const loginPage = await fresh.get(r.headers.get('location'));
  r = await fresh.post('/t/mfa/login', {
    csrf_token: hidden(loginPage.text, 'csrf_token'),
    email: 'ana@example.com',
    password: PASSWORD,
    return_to: hidden(loginPage.text, 'return_to'),
  });
  assert.equal(r.status, 303, r.text);
  assert.match(r.headers.get('location'), /\/t\/mfa\/mfa\?return_to=/);
  const challenge = await fresh.get(r.headers.get('location'));
  assert.equal(challenge.status, 200, challenge.text);
  const code = codeAfter(totp, used);
  r = await fresh.post('/t/mfa/mfa', { csrf_token: hidden(challenge.text, 'csrf_token'), code, method: 'totp', return_to: hidden(challenge.text, 'return_to') });
  assert.equal(r.status, 303, r.text);
  r = await fresh.get(r.headers.get('location'));
  assert.equal(r.status, 303, r.text);
  const tokens = await client.authorizationCodeGrant(config, new URL(r.headers.get('location')), { pkceCodeVerifier: verifier });
  const claims = tokens.claims();
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(claims.acr, MFA_ACR);

  // The same code again, from a third browser: refused as used.
  const third = browser();
  await signIn(third, 'ana@example.com');
  const again = await third.submit('/t/mfa/mfa', '/t/mfa/mfa', { code, method: 'totp' });
  assert.equal(again.status, 401);
  assert.match(again.text, /already used/);
});

test('wrong codes lock the account; a recovery code works once', async () => {
  const u = await user('bo@example.com');
  const b = browser();
  await signIn(b, 'bo@example.com');
  const { recovery } = await enrol(b);

  const c = browser();
  assert.equal((await signIn(c, 'bo@example.com')).status, 303);
  const ok = await c.submit('/t/mfa/mfa', '/t/mfa/mfa', { code: recovery[0], method: 'recovery' });
  assert.equal(ok.status, 303, ok.text);
  const d = browser();
  await signIn(d, 'bo@example.com');
  const reused = await d.submit('/t/mfa/mfa', '/t/mfa/mfa', { code: recovery[0], method: 'recovery' });
  assert.equal(reused.status, 401, 'a recovery code works once');
  const factors = await api.call('GET', `/t/mfa/api/v1/users/${u.id}/mfa`, { token: key });
  assert.equal(factors.json.recovery_codes_remaining, 9);

  // Four more wrong attempts reach the default threshold of five.
  let last;
  for (let i = 0; i < 4; i += 1) {
    last = await d.submit('/t/mfa/mfa', '/t/mfa/mfa', { code: '000000', method: 'totp' });
    if (last.status === 429) break;
  }
  assert.equal(last.status, 429, last.text);
  const locked = await signIn(browser(), 'bo@example.com');
  assert.equal(locked.status, 429, 'the password alone does not unlock');
  const logs = await api.call('GET', '/t/mfa/api/v1/logs?limit=100', { token: key });
  const types = logs.json.logs.map((e) => e.type);
  for (const t of ['gd_enrollment_complete', 'gd_recovery_succeed', 'gd_recovery_failed', 'gd_auth_failed', 'limit_wc']) {
    assert.ok(types.includes(t), `${t} in ${types}`);
  }
});

test('the required policy enrols at the next sign-in; a legacy secret imports in base32 and base64', async () => {
  const u = await user('cy@example.com');
  const r = await api.platform('PATCH', '/api/v1/internal/tenants/mfa', { settings: { mfa_policy: 'required' } });
  assert.equal(r.status, 200, r.text);
  try {
    const b = browser();
    const l = await signIn(b, 'cy@example.com');
    assert.match(l.headers.get('location'), /\/t\/mfa\/mfa\/enroll\?/);
    assert.equal((await b.get('/t/mfa/account')).status, 303, 'not signed in before enrolling');
    await enrol(b);
    assert.equal((await b.get('/t/mfa/account')).status, 200);

    // Import: the secret an older system kept, in both encodings.
    const raw = new OTPAuth.Secret({ size: 20 });
    for (const [secret, encoding] of [[raw.base32.toLowerCase(), 'base32'], [Buffer.from(raw.bytes).toString('base64'), 'base64']]) {
      const imp = await api.call('PUT', `/t/mfa/api/v1/users/${u.id}/mfa/totp`, { token: key, json: { secret, encoding } });
      assert.equal(imp.status, 200, imp.text);
      assert.equal(imp.json.totp.confirmed, true);
      const totp = new OTPAuth.TOTP({ secret: raw });
      const s = browser();
      await signIn(s, 'cy@example.com');
      let ok = await s.submit('/t/mfa/mfa', '/t/mfa/mfa', { code: totp.generate(), method: 'totp' });
      if (ok.status === 401) ok = await s.submit('/t/mfa/mfa', '/t/mfa/mfa', { code: totp.generate({ timestamp: Date.now() + 30_000 }), method: 'totp' });
      assert.equal(ok.status, 303, ok.text);
    }
    const bad = await api.call('PUT', `/t/mfa/api/v1/users/${u.id}/mfa/totp`, { token: key, json: { secret: 'not*base32', encoding: 'base32' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    assert.ok(!bad.text.includes('not*base32'));
  } finally {
    await api.platform('PATCH', '/api/v1/internal/tenants/mfa', { settings: { mfa_policy: 'optional' } });
  }
});

/** The 6-digit code in the newest mail to `to` (the dev mailbox). */
async function mailedCode(to) {
  const [msg] = await api.mailbox(to);
  return msg.text.match(/\b(\d{6})\b/)[1];
}

test('codes by email: enrol without an app, sign in with a mailed code once', async () => {
  await user('di@example.com');
  const b = browser();
  await signIn(b, 'di@example.com');
  let r = await b.submit('/t/mfa/mfa/enroll', '/t/mfa/mfa/email', { purpose: 'enroll', return_to: '/t/mfa/account' });
  assert.equal(r.status, 303, r.text);
  const enrolPage = await b.get(r.headers.get('location'));
  assert.match(enrolPage.text, /d\*\*\*@example\.com/);
  r = await b.post('/t/mfa/mfa/enroll', { csrf_token: hidden(enrolPage.text, 'csrf_token'), code: await mailedCode('di@example.com'), method: 'email', return_to: '/t/mfa/account' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /recovery-codes/);

  const c = browser();
  const l = await signIn(c, 'di@example.com');
  assert.match(l.headers.get('location'), /\/t\/mfa\/mfa\?/);
  r = await c.submit('/t/mfa/mfa', '/t/mfa/mfa/email', { purpose: 'challenge' });
  assert.equal(r.status, 303, r.text);
  const code = await mailedCode('di@example.com');
  const ok = await c.submit(r.headers.get('location'), '/t/mfa/mfa', { code, method: 'email' });
  assert.equal(ok.status, 303, ok.text);
  assert.equal((await c.get('/t/mfa/account')).status, 200);
  const d = browser();
  await signIn(d, 'di@example.com');
  const replay = await d.submit('/t/mfa/mfa', '/t/mfa/mfa', { code, method: 'email' });
  assert.equal(replay.status, 401, 'a mailed code works once');
});
