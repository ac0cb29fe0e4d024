// Typed client for Tessera, generated from openapi/openapi.json
// (`scripts/sdk.sh` regenerates src/schema.d.ts; do not edit that file).
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { paths, components, operations } from './schema.js';

/**
 * A client for one Tessera deployment. `token` is a management API key or
 * token (tenant routes) or a platform credential (`/api/v1/internal/*`).
 */
export function createTesseraClient(baseUrl: string, token: string): Client<paths> {
  return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } });
}
