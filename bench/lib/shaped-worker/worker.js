// For the token benchmark's shaped calibration rows: a request for a path in
// SHAPES (Tessera's own responses, headers and body, captured by the
// benchmark in the same run) gets that response, a POST's body read first.
// What such an exchange costs the runtime and the dev proxy with no work
// behind it, beside the plain empty Worker (bench/lib/empty-worker).
let shapes;
export default {
  async fetch(request, env) {
    shapes ??= new Map(Object.entries(JSON.parse(env.SHAPES ?? '{}')).map(([p, s]) => [p, { body: s.body, headers: new Headers(s.headers) }]));
    // The path without parsing the URL: the yardstick should cost no more
    // than the exchange itself (the benchmark's requests carry no query).
    const url = request.url;
    const shape = shapes.get(url.slice(url.indexOf('/', url.indexOf('//') + 2)));
    if (shape === undefined) return new Response('no shape for this path', { status: 404 });
    if (request.method === 'POST') await request.arrayBuffer();
    return new Response(shape.body, { headers: shape.headers });
  },
};
