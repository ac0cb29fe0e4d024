// The generated TypeScript SDK against wrangler dev: create a user through
// the management API and read it back (sdk/typescript/src/example.ts,
// compiled by `tsc`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Api, startServer } from './support.mjs';
import { createAndReadUser, typedErrors } from '../../sdk/typescript/dist/example.js';
import { createTesseraClient } from '../../sdk/typescript/dist/index.js';

let server;
let api;
let key;

before(async () => {
  server = await startServer();
  api = new Api(server.url);
  key = await api.tenant('sdk');
});

after(async () => { await server?.stop(); });

test('TypeScript SDK: create a user and read it back', async () => {
  const user = await createAndReadUser(server.url, key, 'sdk', 'sdk-user@example.com');
  assert.equal(user.email, 'sdk-user@example.com');
  assert.equal(user.email_verified, true);
  // Errors come back typed as problem+json (a 404 and a 400).
  const tessera = createTesseraClient(server.url, key);
  const missing = await tessera.GET('/t/{tenant}/api/v1/users/{user_id}', { params: { path: { tenant: 'sdk', user_id: 'usr_missing' } } });
  assert.equal(missing.response.status, 404);
  assert.equal(missing.error.status, 404);
  const [notFound, invalid] = await typedErrors(server.url, key, 'sdk');
  assert.equal(notFound.status, 404);
  assert.equal(notFound.title, 'Not found');
  assert.equal(invalid.status, 400);
  assert.match(invalid.detail, /email/);
});

test('Rust SDK (progenitor): create a user and read it back', async () => {
  const { spawnSync } = await import('node:child_process');
  const bin = new URL('../../target/debug/examples/smoke', import.meta.url).pathname;
  const r = spawnSync(bin, [server.url, key, 'sdk'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /created and read rust-sdk@example\.com/);
  assert.match(r.stdout, /404 problem: no such user/);
  assert.match(r.stdout, /400 problem: .*email/);
  const found = await api.call('GET', '/t/sdk/api/v1/users?email=rust-sdk@example.com', { token: key });
  assert.equal(found.json.users.length, 1, 'the user really exists');
});
