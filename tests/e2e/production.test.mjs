// End-to-end: the committed (production) configuration, with no dev mode:
// no dev mailbox, no dev routes, mail through a real HTTP email API (a
// receiver here), and an incomplete configuration refused from the first
// request with /healthz naming what is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Api, Browser, PLATFORM_KEY, startServer } from './support.mjs';
import { freePort } from '../../scripts/lib/wrangler.mjs';

let receiver;
let received = [];
let server;
let api;

before(async () => {
  const port = await freePort();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"msg_1"}');
    });
  });
  await new Promise((r) => receiver.listen(port, '127.0.0.1', r));
  server = await startServer({
    DEV_MODE: '',
    EMAIL_API_URL: `http://127.0.0.1:${port}/emails`,
    EMAIL_FROM: 'login@example.test',
    EMAIL_API_KEY: 're_e2e_provider_key',
  });
  api = new Api(server.url);
});

after(async () => {
  await server?.stop();
  receiver?.close();
});

test('without dev mode: no dev routes, and mail goes to the configured provider', async () => {
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.equal((await api.platform('GET', '/api/v1/internal/dev/mailbox')).status, 404);
  assert.equal((await api.call('POST', '/api/v1/internal/dev/bench/argon2?n=1', { token: PLATFORM_KEY })).status, 404);
  assert.equal((await api.call('GET', '/api/v1/internal/dev/mailbox')).status, 404, 'not even a 401 to probe with');

  const t = await api.platform('POST', '/api/v1/internal/tenants', { slug: 'prod', name: 'Prod' });
  assert.equal(t.status, 201, t.text);
  received = [];
  const b = new Browser(server.url);
  const r = await b.submit('/t/prod/signup', '/t/prod/signup', { email: 'ana@example.com', password: 'correct horse battery' });
  assert.equal(r.status, 200, r.text);
  assert.equal(received.length, 1, 'one message to the provider');
  const [msg] = received;
  assert.equal(msg.method, 'POST');
  assert.equal(msg.url, '/emails');
  assert.equal(msg.headers.authorization, 'Bearer re_e2e_provider_key');
  const body = JSON.parse(msg.body);
  assert.deepEqual(body.to, ['ana@example.com']);
  assert.equal(body.from, 'login@example.test');
  assert.ok(body.text.includes(`${server.url}/t/prod/verify-email?token=`), body.text);
});

test('an incomplete configuration is refused from the first request, and /healthz says why', async () => {
  const bare = await startServer({ DEV_MODE: '', EMAIL_API_URL: 'http://127.0.0.1:9/emails' });
  try {
    const h = await fetch(`${bare.url}/healthz`);
    assert.equal(h.status, 503);
    const text = await h.text();
    for (const name of ['EMAIL_FROM', 'EMAIL_API_KEY']) assert.ok(text.includes(name), text);
    const page = await fetch(`${bare.url}/t/any/login`);
    assert.equal(page.status, 503);
    const apiCall = await new Api(bare.url).platform('GET', '/api/v1/internal/tenants');
    assert.equal(apiCall.status, 503);
    assert.equal(apiCall.headers.get('content-type'), 'application/problem+json');
  } finally {
    await bare.stop();
  }
});
