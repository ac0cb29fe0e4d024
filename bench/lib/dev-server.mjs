// A Worker under `wrangler dev` for the token benchmark, started through
// wrangler's own dev-server API (startWorker: the engine behind the CLI's
// `wrangler dev`; local mode, local D1/KV/Queues) with the devtools
// inspector off. The CLI always attaches an inspector, and wrangler then
// relays every D1 call as devtools network events through its proxy and its
// node process, which would be measured as server CPU; production Workers
// run with no debugger attached.
// Usage: node dev-server.mjs <wrangler.toml> <port> <persist dir | -> [NAME=secret ...]
import { unstable_startWorker } from 'wrangler';
import { wranglerEnv } from '../../scripts/lib/wrangler.mjs';

const [config, port, persist, ...secrets] = process.argv.slice(2);
Object.assign(process.env, wranglerEnv());
const bindings = Object.fromEntries(secrets.map((s) => {
  const i = s.indexOf('=');
  return [s.slice(0, i), { type: 'secret_text', value: s.slice(i + 1) }];
}));
const worker = await unstable_startWorker({
  config,
  bindings,
  dev: {
    remote: false,
    // INSPECTOR_PORT (the soak's heap attribution) opens wrangler's
    // inspector proxy there; otherwise there is none.
    inspector: process.env.INSPECTOR_PORT ? { port: Number(process.env.INSPECTOR_PORT) } : false,
    persist: persist === '-' ? false : persist,
    server: { hostname: '127.0.0.1', port: Number(port) },
    logLevel: 'none',
    watch: false,
  },
});
await worker.ready;
console.log('ready');
const stop = async () => { await worker.dispose(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
