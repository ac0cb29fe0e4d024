// Compiled by the type check: these calls must match the generated types.
import { createTesseraClient } from './index.js';

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
