// A reference authorization server for the token benchmark: panva's
// oidc-provider configured like the Tessera tenant it is compared with
// (client_credentials, client_secret_basic, ES256 JWT access tokens for one
// API audience). Runs as its own process so its CPU can be measured.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, audience, jwkJson] = process.argv.slice(2);
const jwk = JSON.parse(jwkJson);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    // Only an EC key is configured, as in Tessera.
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read:things',
        audience,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
