// A devtools-protocol client for the Worker isolate behind wrangler's
// inspector (INSPECTOR_PORT in bench/lib/dev-server.mjs): one connection,
// each command with a bounded wait, so a reply the proxy never relays is an
// error, not a hang. The Network domain is switched off first: wrangler's
// proxy relays every D1 call as a network event and buffers them while no
// client is connected.
import WebSocket from 'ws';

// `onEvent` sees every event from the start: wrangler's proxy sends some
// (the execution context's creation) as soon as a client connects.
export async function connect(port, { timeoutMs = 30_000, onEvent = () => {} } = {}) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 1 << 30 });
  let id = 0;
  const pending = new Map();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    if (m.method) onEvent(m);
    if (pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    id += 1;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`${method}: no reply in ${timeoutMs / 1000} s`)); }, timeoutMs);
    pending.set(id, (m) => { clearTimeout(timer); return m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result); });
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('Network.disable');
  return { send, close: () => ws.close() };
}
