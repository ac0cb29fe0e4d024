// For the soak's second yardstick: no Tessera code, only what a Tessera
// request does to local D1, a write and a read, so that what wrangler's D1
// simulator keeps per query shows apart from the Worker's own heap.
let ready;
export default {
  async fetch(request, env) {
    ready ??= env.DB.exec('CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
    await ready;
    await env.DB.prepare('INSERT INTO events (id, body) VALUES (?1, ?2)').bind(crypto.randomUUID(), 'x'.repeat(200)).run();
    const { results } = await env.DB.prepare('SELECT id FROM events ORDER BY rowid DESC LIMIT 20').all();
    return Response.json(results.length);
  },
};
