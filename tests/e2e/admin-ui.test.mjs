// End-to-end: the admin UI in headless Chromium (Debian's chromium, driven
// by playwright-core) against wrangler dev: sign in as a tenant admin,
// create a client, rotate its secret, and revoke a user's consent; create a
// log stream, send it a test event, and read the audit log; a user enrols an
// authenticator app from the QR page and signs in with it, and the admin
// resets it, blocks the user and sends a password reset from the users page;
// an admin writes an action, deploys it, binds it, sees its runs, and rolls
// it back; an admin switches SCIM on and creates, rotates and revokes a token.
import http from 'node:http';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import * as OTPAuth from 'otpauth';
import { Api, Browser, hidden, startServer } from './support.mjs';
import { startActionsHost } from '../../scripts/lib/actions-host.mjs';

const CB = 'http://127.0.0.1:9/callback';
let server;
let api;
let key;
let browser;
let actionsHost;

before(async () => {
  actionsHost = await startActionsHost();
  server = await startServer({ ACTIONS_URL: actionsHost.url, ACTIONS_SECRET: actionsHost.secret });
  api = new Api(server.url);
  key = await api.tenant('acme');
  const admin = await api.call('POST', '/t/acme/api/v1/users', { token: key, json: { email: 'admin@acme.test', password: 'admin password 1', email_verified: true, is_admin: true } });
  assert.equal(admin.status, 201, admin.text);
  const user = await api.call('POST', '/t/acme/api/v1/users', { token: key, json: { email: 'user@acme.test', password: 'user password 1', email_verified: true } });
  assert.equal(user.status, 201, user.text);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await actionsHost?.stop();
});

async function signIn(page, email, password) {
  await page.goto(`${server.url}/t/acme/admin`);
  await page.waitForURL(/\/t\/acme\/login/);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/t\/acme\/(admin|account)/), page.click('button[type=submit]')]);
}

test('an admin creates a client, rotates its secret and revokes a consent', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin@acme.test', 'admin password 1');
  assert.match(page.url(), /\/t\/acme\/admin\/clients$/);

  await page.click('text=New client');
  await page.fill('#name', 'Browser-made app');
  await page.fill('#redirect_uris', CB);
  await page.fill('#scopes', 'openid email');
  await Promise.all([page.waitForLoadState(), page.click('#client-form button[type=submit]')]);
  const clientId = (await page.textContent('#client-id')).trim();
  const secret = (await page.textContent('#client-secret')).trim();
  assert.ok(clientId.length > 10);
  assert.ok(secret.length >= 43, 'a 256-bit secret');
  await page.screenshot({ path: 'target/admin-ui-created.png' });

  // The secret works at the token endpoint... (confidential clients
  // authenticate with Basic; an unknown grant proves authentication passed).
  const tokenCall = (s) => api.call('POST', '/t/acme/oauth/token', {
    body: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${s}`).toString('base64')}` },
  });
  assert.equal((await tokenCall(secret)).json.error, 'unauthorized_client');

  // ...until it is rotated with no overlap.
  await page.click('text=Go to the client');
  await page.fill('#overlap_seconds', '0');
  await Promise.all([page.waitForLoadState(), page.click('#rotate-form button[type=submit]')]);
  const rotated = (await page.textContent('#client-secret')).trim();
  assert.notEqual(rotated, secret);
  assert.equal((await tokenCall(secret)).json.error, 'invalid_client');
  assert.equal((await tokenCall(rotated)).json.error, 'unauthorized_client');

  // A user consents to the client (a plain HTTP browser), then the admin
  // sees the consent and revokes it.
  const b = new Browser(server.url);
  assert.equal((await b.submit('/t/acme/login', '/t/acme/login', { email: 'user@acme.test', password: 'user password 1' })).status, 303);
  const q = new URLSearchParams({ client_id: clientId, redirect_uri: CB, response_type: 'code', scope: 'openid email', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'x' });
  const consentPage = await b.get(`/t/acme/authorize?${q}`);
  assert.equal(consentPage.status, 200);
  const allowed = await b.post('/t/acme/consent', { csrf_token: hidden(consentPage.text, 'csrf_token'), request: hidden(consentPage.text, 'request'), decision: 'allow' });
  assert.equal(allowed.status, 303);
  assert.ok(allowed.headers.get('location').startsWith(CB));

  await page.click('text=Go to the client');
  assert.match(await page.textContent('#consents'), /user@acme\.test/);
  await Promise.all([page.waitForLoadState(), page.click('#consents button')]);
  assert.ok(await page.isVisible('#no-consents'), 'the consent is gone');
  await page.screenshot({ path: 'target/admin-ui-consent-revoked.png' });
  const again = await b.get(`/t/acme/authorize?${q}`);
  assert.equal(again.status, 200, 'the user is asked again');
  await context.close();
});

test('the admin UI is for admins only, and its forms need CSRF tokens', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'user@acme.test', 'user password 1');
  const r = await page.goto(`${server.url}/t/acme/admin/clients`);
  assert.equal(r.status(), 403);
  await context.close();
  // A forged cross-site POST has the session cookie but no token.
  const b = new Browser(server.url);
  await b.submit('/t/acme/login', '/t/acme/login', { email: 'admin@acme.test', password: 'admin password 1' });
  const forged = await b.post('/t/acme/admin/clients', { name: 'evil', redirect_uris: CB });
  assert.equal(forged.status, 403);
  const list = await api.call('GET', '/t/acme/api/v1/clients', { token: key });
  assert.ok(!list.json.clients.some((c) => c.name === 'evil'));
});

test('an admin creates a log stream, sends a test event and reads the audit log', async () => {
  const received = [];
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, events: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page, 'admin@acme.test', 'admin password 1');
    await page.click('text=Log streams');
    // The click starts a navigation; look once the new page has the list.
    await page.locator('#no-streams, #streams').first().waitFor();
    assert.ok(await page.isVisible('#no-streams'));
    await page.fill('#name', 'Browser-made stream');
    await page.selectOption('#type', 'http');
    await page.fill('#url', `http://127.0.0.1:${receiver.address().port}/in`);
    await page.fill('#secret', 'Bearer receiver-token-0123456789');
    await page.fill('#categories', 'system.notification');
    await Promise.all([page.waitForLoadState(), page.click('#stream-form button[type=submit]')]);
    assert.match(await page.textContent('main'), /Stream created/);
    const streamId = (await page.textContent('#stream-id')).trim();
    // The secret is shown masked, never in full.
    assert.match(await page.textContent('#sink'), /\*\*\*\*6789/);
    assert.ok(!(await page.content()).includes('receiver-token-0123456789'));

    await Promise.all([page.waitForLoadState(), page.click('#actions button:has-text("Send a test event")')]);
    const logId = (await page.textContent('main')).match(/Test event (evt_\w+)/)[1];
    const deadline = Date.now() + 60_000;
    while (!received.some((r) => r.events.some((e) => e.log_id === logId)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const batch = received.find((r) => r.events.some((e) => e.log_id === logId));
    assert.ok(batch, 'the test event arrived');
    assert.equal(batch.auth, 'Bearer receiver-token-0123456789');
    await page.reload();
    assert.match(await page.textContent('#deliveries'), /200/);
    await page.screenshot({ path: 'target/admin-ui-log-stream.png', fullPage: true });

    await Promise.all([page.waitForLoadState(), page.click('#actions button:has-text("Pause")')]);
    assert.match(await page.textContent('#status'), /paused/);
    const api1 = await api.call('GET', `/t/acme/api/v1/log-streams/${streamId}`, { token: key });
    assert.equal(api1.json.status.state, 'paused');

    // The audit log with a stream's filters: management events only.
    await page.goto(`${server.url}/t/acme/admin/logs`);
    await page.selectOption('#category', 'management');
    await Promise.all([page.waitForLoadState(), page.click('#log-filter button')]);
    const rows = await page.$$eval('#logs tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    assert.ok(rows.length > 0 && rows.every((t) => t === 'sapi'), rows.join(','));
    await page.screenshot({ path: 'target/admin-ui-audit-log.png', fullPage: true });
  } finally {
    await context.close();
    receiver.close();
  }
});

/** A code of a step later than `used`'s (a code is taken once). */
function nextCode(totp, used) {
  const now = totp.generate();
  return now === used ? totp.generate({ timestamp: Date.now() + 30_000 }) : now;
}

test('a user enrols an authenticator app and signs in with it; the admin manages the user', async () => {
  const user = await browser.newContext();
  const admin = await browser.newContext();
  try {
    // Enrol from the account page: the QR code is drawn, the key is shown.
    const page = await user.newPage();
    await signIn(page, 'user@acme.test', 'user password 1');
    await page.goto(`${server.url}/t/acme/account`);
    assert.match(await page.textContent('#mfa-status'), /Off/);
    await Promise.all([page.waitForURL(/\/mfa\/enroll/), page.click('text=Set up an authenticator app')]);
    const box = await (await page.$('#qr svg')).boundingBox();
    assert.ok(box.width >= 100 && box.height >= 100, `the QR code is drawn: ${JSON.stringify(box)}`);
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32((await page.textContent('#secret')).replace(/\s+/g, '')) });
    const first = totp.generate();
    await page.fill('#totp-code', first);
    await Promise.all([page.waitForLoadState(), page.click('form[action$="/mfa/enroll"] button[type=submit]')]);
    const codes = await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent));
    assert.equal(codes.length, 10);
    await page.screenshot({ path: 'target/mfa-recovery-codes.png', fullPage: true });
    await Promise.all([page.waitForURL(/\/account$/), page.click('text=Continue')]);
    assert.match(await page.textContent('#mfa-status'), /On: authenticator app/);

    // A new browser: password, then the challenge page.
    const again = await (await browser.newContext()).newPage();
    await again.goto(`${server.url}/t/acme/account`);
    await again.fill('#email', 'user@acme.test');
    await again.fill('#password', 'user password 1');
    await Promise.all([again.waitForURL(/\/t\/acme\/mfa\?/), again.click('button[type=submit]')]);
    await again.screenshot({ path: 'target/mfa-challenge.png', fullPage: true });
    await again.fill('#totp-code', nextCode(totp, first));
    await Promise.all([again.waitForURL(/\/t\/acme\/account$/), again.click('form[action$="/mfa"] button:has-text("Verify")')]);
    assert.match(await again.textContent('#email'), /user@acme.test/);

    // The admin finds the user, sees the factor, resets it, blocks and
    // unblocks, and sends a password reset.
    const ap = await admin.newPage();
    await signIn(ap, 'admin@acme.test', 'admin password 1');
    await ap.goto(`${server.url}/t/acme/admin/users`);
    await ap.fill('#q', 'user@');
    await Promise.all([ap.waitForLoadState(), ap.click('#user-search button')]);
    const listed = await ap.$$eval('#users td:first-child', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(listed, ['user@acme.test']);
    await Promise.all([ap.waitForURL(/\/admin\/users\/[^/]+$/), ap.click('#users a')]);
    assert.match(await ap.textContent('#factors'), /set up/);
    assert.match(await ap.textContent('#sessions'), /pwd otp mfa/);
    await Promise.all([ap.waitForLoadState(), ap.click('#actions button:has-text("Reset MFA")')]);
    assert.match(ap.url(), /done=mfa-reset/);
    assert.match(await ap.textContent('#factors'), /Authenticator app\s*none/);
    await Promise.all([ap.waitForLoadState(), ap.click('#actions button:has-text("Block")')]);
    assert.equal((await ap.textContent('#state')).trim(), 'blocked');
    assert.equal((await again.goto(`${server.url}/t/acme/account`)).url().includes('/login'), true, 'blocking ended the session');
    await Promise.all([ap.waitForLoadState(), ap.click('#actions button:has-text("Unblock")')]);
    assert.equal((await ap.textContent('#state')).trim(), 'active');
    await Promise.all([ap.waitForURL(/done=reset-sent/), ap.click('#actions button:has-text("Send password reset")')]);
    const mail = await api.mailbox('user@acme.test');
    assert.match(mail[0].subject, /Reset your password/);
    await ap.screenshot({ path: 'target/admin-ui-user.png', fullPage: true });
  } finally {
    await user.close();
    await admin.close();
  }
});

test('an admin writes an action, deploys and binds it, sees its runs, and rolls it back', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin@acme.test', 'admin password 1');
  await page.click('nav >> text=Actions');
  await page.waitForURL(/\/t\/acme\/admin\/actions$/);
  assert.ok(await page.isVisible('#no-actions'));
  await page.fill('#name', 'tag logins');
  await page.selectOption('#trigger', 'pre-login');
  await page.fill('#code', "exports.onExecutePreLogin = async (event, api) => { console.log('v1 saw', event.user.email); };");
  await Promise.all([page.waitForLoadState(), page.click('#action-form button[type=submit]')]);
  assert.match(await page.textContent('#state'), /Not deployed yet/);
  const actionUrl = page.url();
  await Promise.all([page.waitForLoadState(), page.click('#deploy button')]);
  assert.match(await page.textContent('#state'), /Version 1 runs/);

  // v2, deployed: the draft changes nothing until then.
  await page.fill('#code', "exports.onExecutePreLogin = async (event, api) => { console.log('v2 saw', event.user.email); };");
  await page.fill('#secret_name', 'TOKEN');
  await page.fill('#secret_value', 'not-shown-anywhere');
  await Promise.all([page.waitForLoadState(), page.click('#edit-form button[type=submit]')]);
  assert.match(await page.textContent('#state'), /draft has changes/);
  assert.doesNotMatch(await page.content(), /not-shown-anywhere/);
  await Promise.all([page.waitForLoadState(), page.click('#deploy button')]);
  assert.match(await page.textContent('#state'), /Version 2 runs/);

  // Bind it to pre-login, closed.
  await page.click('nav >> text=Actions');
  await page.check('#trigger-pre-login input[type=checkbox][name^=bind_]');
  await page.selectOption('#failure_mode-pre-login', 'closed');
  await Promise.all([page.waitForLoadState(), page.click('#trigger-pre-login button[type=submit]')]);
  assert.ok(await page.isChecked('#trigger-pre-login input[name^=bind_]'));
  const bindings = await api.call('GET', '/t/acme/api/v1/triggers/pre-login', { token: key });
  assert.equal(bindings.json.failure_mode, 'closed');
  assert.equal(bindings.json.bindings.length, 1);

  // A sign-in runs it; its console line shows among the executions.
  const b = new Browser(server.url);
  const l = await b.submit('/t/acme/login', '/t/acme/login', { email: 'user@acme.test', password: 'user password 1' });
  assert.equal(l.status, 303, l.text);
  await page.goto(actionUrl);
  assert.match(await page.textContent('#executions'), /v2 saw user@acme.test/);

  // Roll back to v1; the next sign-in runs v1.
  await Promise.all([page.waitForLoadState(), page.click('#versions form button')]);
  assert.match(await page.textContent('#state'), /Version 1 runs/);
  const b2 = new Browser(server.url);
  await b2.submit('/t/acme/login', '/t/acme/login', { email: 'user@acme.test', password: 'user password 1' });
  await page.goto(actionUrl);
  assert.match(await page.textContent('#executions'), /v1 saw user@acme.test/);
  await page.screenshot({ path: 'target/admin-ui-actions.png', fullPage: true });

  // Deleting it unbinds it.
  await Promise.all([page.waitForLoadState(), page.click('text=Delete this action')]);
  assert.ok(await page.isVisible('#no-actions'));
  assert.deepEqual((await api.call('GET', '/t/acme/api/v1/triggers/pre-login', { token: key })).json.bindings, []);
  await context.close();
});

test('an admin switches SCIM on, creates a token the IdP uses, rotates and revokes it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin@acme.test', 'admin password 1');
  await page.click('nav >> text=SCIM');
  const baseUrl = (await page.textContent('#scim-base-url')).trim();
  assert.equal(baseUrl, `${server.url}/t/acme/scim/v2`);
  await page.check('#enabled');
  await page.selectOption('#deprovision', 'block');
  await Promise.all([page.waitForLoadState(), page.click('#scim-settings button[type=submit]')]);
  assert.ok(await page.isChecked('#enabled'));

  await page.fill('#name', 'Okta');
  await Promise.all([page.waitForLoadState(), page.click('#scim-token-form button[type=submit]')]);
  const token = (await page.textContent('#scim-token')).trim();
  assert.match(token, /^tsc_/);
  const scimGet = (t) => api.call('GET', '/t/acme/scim/v2/Users?filter=userName%20eq%20%22user%40acme.test%22', { token: t });
  const found = await scimGet(token);
  assert.equal(found.status, 200, found.text);
  assert.equal(found.json.totalResults, 1);
  await page.screenshot({ path: 'target/admin-ui-scim.png', fullPage: true });

  // Rotation shows the new token; the old one keeps working for the overlap.
  await page.goto(`${server.url}/t/acme/admin/scim`);
  assert.ok(!(await page.content()).includes(token), 'the secret is not shown again');
  await Promise.all([page.waitForLoadState(), page.click('#scim-tokens >> text=Rotate')]);
  const rotated = (await page.textContent('#scim-token')).trim();
  assert.notEqual(rotated, token);
  assert.equal((await scimGet(token)).status, 200);
  assert.equal((await scimGet(rotated)).status, 200);
  // Revoking both: neither works.
  while (await page.isVisible('#scim-tokens >> text=Revoke')) {
    await Promise.all([page.waitForLoadState(), page.click('#scim-tokens >> text=Revoke >> nth=0')]);
  }
  assert.ok(await page.isVisible('#no-tokens'));
  assert.equal((await scimGet(token)).status, 401);
  assert.equal((await scimGet(rotated)).status, 401);
  await context.close();
});
