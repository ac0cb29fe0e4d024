// The smallest Worker there is, for the token benchmark's calibration rows:
// a GET gets "ok" (what the local runtime spends on a request before any
// Worker code runs); a POST has its body read and gets TOKEN_BODY with the
// headers in TOKEN_HEADERS (Tessera's own token response, captured by the
// benchmark in the same run): what a token-shaped exchange costs the runtime
// and the dev proxy with no work behind it.
let token;
export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('ok');
    await request.arrayBuffer();
    token ??= { body: env.TOKEN_BODY ?? '', headers: new Headers(JSON.parse(env.TOKEN_HEADERS ?? '[]')) };
    return new Response(token.body, { headers: token.headers });
  },
};
