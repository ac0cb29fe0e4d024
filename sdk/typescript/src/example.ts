// Compiled by the type check: these calls must match the generated types.
import { createTesseraClient } from './index.js';
import type { components } from './schema.js';

export async function createAndReadUser(baseUrl: string, key: string, tenant: string, email: string) {
  const tessera = createTesseraClient(baseUrl, key);
  const created = await tessera.POST('/t/{tenant}/api/v1/users', {
    params: { path: { tenant } },
    body: { email, email_verified: true },
  });
  if (!created.data) throw new Error(`create failed: ${JSON.stringify(created.error)}`);
  const id: string = created.data.id;
  const read = await tessera.GET('/t/{tenant}/api/v1/users/{user_id}', { params: { path: { tenant, user_id: id } } });
  if (!read.data) throw new Error(`read failed: ${JSON.stringify(read.error)}`);
  return read.data;
}

/** The problem details (RFC 9457) the API answers with, as typed values. */
export type Problem = components['schemas']['Problem'];

/** A missing user and an invalid one: both errors come back as typed problems. */
export async function typedErrors(baseUrl: string, key: string, tenant: string): Promise<Problem[]> {
  const tessera = createTesseraClient(baseUrl, key);
  const missing = await tessera.GET('/t/{tenant}/api/v1/users/{user_id}', {
    params: { path: { tenant, user_id: 'usr_missing' } },
  });
  const invalid = await tessera.POST('/t/{tenant}/api/v1/users', {
    params: { path: { tenant } },
    body: { email: 'not-an-email' },
  });
  if (!missing.error || !invalid.error) throw new Error('expected two errors');
  // `error` is the Problem schema: status and detail are typed fields.
  const problems: Problem[] = [missing.error, invalid.error];
  return problems.map((p) => ({ type: p.type, title: p.title, status: p.status, detail: p.detail }));
}
