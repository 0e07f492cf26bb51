import { seedProcessDefinition } from '@sales-process/core';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { opportunities } from '../db/schema.js';
import type { Role } from '@sales-process/core';
import type { Principal } from '../http/auth.js';
import { startTestServer, testDatabases } from '../testing/harness.js';
import { opportunityAccess } from './access.js';

const as = (userId: string, ...roles: Role[]): Principal => ({ tenantId: 't1', userId, roles: new Set(roles) });

describe('opportunityAccess', () => {
  const row = { ownerId: 'rep', managerId: 'mgr', postsaleStaff: ['post'], status: 'open', phase: 'presale' };
  const rights = (p: Principal, r = row) => {
    const { read, write } = opportunityAccess(p, r);
    return { read, write };
  };

  it('pre-sale: owner, supervisor and admins write; post-sale staff and analysts only read', () => {
    expect(rights(as('rep', 'sales'))).toEqual({ read: true, write: true });
    expect(rights(as('mgr', 'supervisor'))).toEqual({ read: true, write: true });
    expect(rights(as('boss', 'admin'))).toEqual({ read: true, write: true });
    expect(rights(as('post', 'postsale'))).toEqual({ read: true, write: false });
    expect(rights(as('ana', 'analyst'))).toEqual({ read: true, write: false });
    expect(rights(as('other', 'sales'))).toEqual({ read: false, write: false });
  });

  it('post-sale: owner, staff and admins write; the supervisor only reads', () => {
    const won = { ...row, status: 'won', phase: 'postsale' };
    expect(rights(as('rep', 'sales'), won)).toEqual({ read: true, write: true });
    expect(rights(as('post', 'postsale'), won)).toEqual({ read: true, write: true });
    expect(rights(as('mgr', 'supervisor'), won)).toEqual({ read: true, write: false });
    // A former staff member who is an analyst reads and no longer writes.
    expect(rights(as('post', 'postsale', 'analyst'), { ...won, postsaleStaff: [] })).toEqual({
      read: true,
      write: false,
    });
  });

  it('closed: everyone who read still reads, no one writes', () => {
    for (const closed of [
      { ...row, status: 'lost', phase: 'done' },
      { ...row, status: 'won', phase: 'done' },
    ]) {
      expect(rights(as('rep', 'sales'), closed)).toEqual({ read: true, write: false });
      expect(rights(as('boss', 'admin'), closed)).toEqual({ read: true, write: false });
    }
  });
});

for (const kind of testDatabases()) {
  describe(`an opportunity's customer on ${kind.name}`, () => {
    it("a stage form writes only a customer of the opportunity's tenant, even if the row names another's", async () => {
      const t = await startTestServer(await kind.open());
      try {
        const admin = t.as('admin', ['admin']);
        await admin.post('/directory/sync', {
          departments: [{ id: 'sales', name: '销售部' }],
          users: [
            { id: 'admin', name: '管理员', departmentId: 'sales' },
            { id: 'rep', name: '张三', departmentId: 'sales', managerId: 'admin' },
          ],
        });
        const processId = (
          await admin.post('/processes', { name: 'P', departments: [], definition: seedProcessDefinition })
        ).body.id;
        const customerId = (await admin.post('/customers', { name: '宝钢', fields: {} })).body.id;
        const id = (await t.as('rep').post('/opportunities', { name: 'O', customerId, amount: 1, processId })).body.id;
        const outsider = t.as('admin', ['admin'], 't2');
        const foreign = (await outsider.post('/customers', { name: '外', fields: { industry: 'retail' } })).body.id;
        expect(foreign).toBeTruthy();
        // A row gone wrong (a bug elsewhere, a bad migration): it names another tenant's customer.
        await t.database.db.update(opportunities).set({ customerId: foreign }).where(eq(opportunities.id, id));
        await t.as('rep').put(`/opportunities/${id}/stage-form`, { values: { industry: 'it' } });
        expect((await outsider.get(`/customers/${foreign}`)).body.fields.industry).toBe('retail');
      } finally {
        await t.close();
      }
    });
  });
}
