// Starts Tessera locally on wrangler dev (local D1, KV and Queues under
// .wrangler/state), seeds a `demo` tenant with an admin user and a
// management API key, prints what to try, and keeps running until Ctrl-C.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildWorker, randomSecret, root, startWrangler } from './lib/wrangler.mjs';
import { startActionsHost } from './lib/actions-host.mjs';

const port = Number(process.env.PORT || 8787);
const devVarsPath = path.join(root, '.dev.vars');
const credsDir = path.join(root, '.tessera-dev');
const credsPath = path.join(credsDir, 'demo.json');

function readDevVars() {
  if (!existsSync(devVarsPath)) return {};
  return Object.fromEntries(readFileSync(devVarsPath, 'utf8').split('\n')
    .map((l) => l.match(/^([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/)).filter(Boolean).map((m) => [m[1], m[2]]));
}

// Local secrets, generated once and kept in .dev.vars (git-ignored), which
// wrangler dev reads like `wrangler secret put` values.
const vars = readDevVars();
let changed = false;
if (!vars.MASTER_KEY) { vars.MASTER_KEY = randomSecret(32); changed = true; }
if (!vars.PLATFORM_API_KEY) { vars.PLATFORM_API_KEY = `tsk_dev_${randomBytes(24).toString('base64url')}`; changed = true; }
if (!vars.ACTIONS_SECRET) { vars.ACTIONS_SECRET = randomSecret(32); changed = true; }
if (changed) {
  writeFileSync(devVarsPath, Object.entries(vars).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n', { mode: 0o600 });
}

if (!process.env.SKIP_WORKER_BUILD) buildWorker();
// The actions host beside the Worker, sharing ACTIONS_SECRET with it.
const actionsPort = Number(process.env.ACTIONS_PORT || 8788);
const actions = await startActionsHost({ secret: vars.ACTIONS_SECRET, port: actionsPort });
// The canonical origin: the issuer, discovery and emailed links come from it,
// never from a request's Host header.
const server = await startWrangler({
  port,
  persistTo: path.join(root, '.wrangler/state'),
  inherit: true,
  vars: { PUBLIC_URL: `http://127.0.0.1:${port}`, DEV_MODE: 'true', ACTIONS_URL: actions.url },
});
const base = server.url;

async function call(method, p, token, json) {
  const headers = { authorization: `Bearer ${token}` };
  if (json) headers['content-type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: json ? JSON.stringify(json) : undefined });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, text };
}

async function seed() {
  const platform = vars.PLATFORM_API_KEY;
  const creds = existsSync(credsPath) ? JSON.parse(readFileSync(credsPath, 'utf8')) : {};
  let t = await call('GET', '/api/v1/internal/tenants/demo', platform);
  if (t.status === 404) t = await call('POST', '/api/v1/internal/tenants', platform, { slug: 'demo', name: 'Demo' });
  if (t.status >= 300) throw new Error(`demo tenant: ${t.status} ${t.text}`);

  if (!creds.apiKey || (await call('GET', '/t/demo/api/v1/users?limit=1', creds.apiKey)).status !== 200) {
    const k = await call('POST', '/api/v1/internal/tenants/demo/api-keys', platform, { name: 'dev seed' });
    if (k.status !== 201) throw new Error(`demo API key: ${k.status} ${k.text}`);
    creds.apiKey = k.json.key;
  }
  const email = 'admin@demo.test';
  const found = await call('GET', `/t/demo/api/v1/users?email=${email}`, creds.apiKey);
  if (found.json.users.length === 0) {
    creds.adminPassword = randomBytes(12).toString('base64url');
    const u = await call('POST', '/t/demo/api/v1/users', creds.apiKey, { email, password: creds.adminPassword, name: 'Demo Admin', email_verified: true, is_admin: true });
    if (u.status !== 201) throw new Error(`demo admin: ${u.status} ${u.text}`);
  } else if (!creds.adminPassword) {
    creds.adminPassword = randomBytes(12).toString('base64url');
    await call('PATCH', `/t/demo/api/v1/users/${found.json.users[0].id}`, creds.apiKey, { password: creds.adminPassword, is_admin: true });
  }
  // A demo post-login action, deployed and bound: every ID token of the demo
  // tenant carries https://demo.test/greeting (README, "Actions").
  const existing = await call('GET', '/t/demo/api/v1/actions', creds.apiKey);
  if (!existing.json.actions.some((a) => a.name === 'demo greeting')) {
    const a = await call('POST', '/t/demo/api/v1/actions', creds.apiKey, {
      name: 'demo greeting',
      trigger: 'post-login',
      code: "exports.onExecutePostLogin = async (event, api) => {\n  console.log('signing in', event.user.email);\n  api.idToken.setCustomClaim('https://demo.test/greeting', `hello ${event.user.email}`);\n};\n",
    });
    if (a.status !== 201) throw new Error(`demo action: ${a.status} ${a.text}`);
    await call('POST', `/t/demo/api/v1/actions/${a.json.id}/deploy`, creds.apiKey);
    await call('PUT', '/t/demo/api/v1/triggers/post-login', creds.apiKey, { bindings: [{ action_id: a.json.id }] });
  }
  mkdirSync(credsDir, { recursive: true });
  writeFileSync(credsPath, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return { ...creds, email };
}

const demo = await seed();
console.log(`
Tessera is running on ${base}

  Sign in          ${base}/t/demo/login
                   ${demo.email} / ${demo.adminPassword}
  Admin UI         ${base}/t/demo/admin  (same credentials; users at /t/demo/admin/users)
  Two-step (MFA)   ${base}/t/demo/account  -> "Set up an authenticator app" (README, "Two-step verification")
  Sign up          ${base}/t/demo/signup  (mail lands in the dev mailbox below)
  Discovery        ${base}/t/demo/.well-known/openid-configuration
  JWKS             ${base}/t/demo/.well-known/jwks.json

  Management API   curl -H 'Authorization: Bearer ${demo.apiKey}' ${base}/t/demo/api/v1/users
  Platform API     curl -H 'Authorization: Bearer ${vars.PLATFORM_API_KEY}' ${base}/api/v1/internal/tenants
  Dev mailbox      curl -H 'Authorization: Bearer ${vars.PLATFORM_API_KEY}' ${base}/api/v1/internal/dev/mailbox
  Log streams      ${base}/t/demo/admin/log-streams  (the queue consumer runs in this Worker;
                   node scripts/log-receiver.mjs is a local receiver: README, "Log streaming")
  Actions          ${actions.url} runs them; the demo tenant's "demo greeting" is bound to post-login
                   curl -H 'Authorization: Bearer ${demo.apiKey}' ${base}/t/demo/api/v1/actions  (README, "Actions")

Secrets are in .dev.vars, demo credentials in .tessera-dev/demo.json. Ctrl-C stops.
`);

const shutdown = async () => { await server.stop(); await actions.stop(); process.exit(0); };
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
server.child.on('exit', (code) => process.exit(code ?? 0));
