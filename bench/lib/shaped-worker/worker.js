// For the token benchmark's shaped calibration rows: a request for a path in
// SHAPES (Tessera's own responses, headers and body, captured by the
// benchmark in the same run) gets that response, a POST's body read first.
// What such an exchange costs the runtime and the dev proxy with no work
// behind it, beside the plain empty Worker (bench/lib/empty-worker).
let shapes;
export default {
  async fetch(request, env) {
    shapes ??= new Map(Object.entries(JSON.parse(env.SHAPES ?? '{}')).map(([p, s]) => [p, { body: s.body, headers: new Headers(s.headers) }]));
    const shape = shapes.get(new URL(request.url).pathname);
    if (shape === undefined) return new Response('no shape for this path', { status: 404 });
    if (request.method === 'POST') await request.arrayBuffer();
    return new Response(shape.body, { headers: shape.headers });
  },
};
