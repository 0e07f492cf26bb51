import type { directorySyncSchema } from '@sales-process/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuditLog } from '../audit/service.js';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { departments, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';

type Q = Db | Tx;

/**
 * The department tree after a sync: every parent exists (in the batch or already), and
 * following parents from any department never comes back to it. 400 at the offending rows.
 */
function checkTree(
  known: { id: string; parentId: string | null }[],
  batch: readonly { id: string; parentId?: string | null }[],
) {
  const parent = new Map(known.map((d) => [d.id, d.parentId]));
  for (const d of batch) parent.set(d.id, d.parentId ?? null);
  const details = [];
  for (const [i, d] of batch.entries())
    if (d.parentId && !parent.has(d.parentId))
      details.push({
        path: `body.departments.${i}.parentId`,
        message: { zh: `上级部门 ${d.parentId} 不存在`, en: `No department ${d.parentId}` },
      });
  if (details.length) throw new ApiError('VALIDATION_FAILED', details);
  // Walk up from each department; a department seen on the current walk is a cycle. Ones
  // already proven to reach a root are not walked again (linear overall).
  const rooted = new Set<string>();
  for (const [i, d] of batch.entries()) {
    const walk = new Set<string>();
    let at: string | null | undefined = d.id;
    let cycle = false;
    while (at && !rooted.has(at)) {
      if (walk.has(at)) {
        cycle = true;
        break;
      }
      walk.add(at);
      at = parent.get(at);
    }
    if (cycle)
      details.push({
        path: `body.departments.${i}.parentId`,
        message: { zh: `部门 ${d.id} 的上级关系成环`, en: `The parents of department ${d.id} form a cycle` },
      });
    else for (const w of walk) rooted.add(w);
  }
  if (details.length) throw new ApiError('VALIDATION_FAILED', details.slice(0, 50));
}

/** What a sync did to one table, for the trail: rows added and changed (it never removes). */
function counted(rows: { inserted: boolean }[]) {
  const added = rows.filter((r) => r.inserted).length;
  return { added, changed: rows.length - added, removed: 0 };
}

export class DirectoryService {
  constructor(
    private readonly ctx: ServerContext,
    /** A sync that changed something is recorded (`directory.sync`, with counts). */
    private readonly audit: AuditLog,
  ) {}

  /**
   * Upserts departments and users, set-based: one statement per table (and one more for
   * users whose roles the host leaves alone), however many rows. Refused with 400, before
   * anything is written, when a department names a parent that is neither in the batch
   * nor already synced, or when the tree would have a cycle. A row named twice: the last wins.
   * Rows that would not change are left alone; the trail gets the counts added and changed.
   */
  async sync(p: Principal, input: z.infer<typeof directorySyncSchema>) {
    const { db } = this.ctx.database;
    const departmentsIn = [
      ...new Map(
        input.departments.map((d) => [d.id, { id: d.id, name: d.name, parent_id: d.parentId ?? null }]),
      ).values(),
    ];
    const usersIn = [...new Map(input.users.map((u) => [u.id, u])).values()];
    await db.transaction(async (tx) => {
      let departmentRows: { inserted: boolean }[] = [];
      const userRows: { inserted: boolean }[] = [];
      if (departmentsIn.length) {
        const known = await tx
          .select({ id: departments.id, parentId: departments.parentId })
          .from(departments)
          .where(eq(departments.tenantId, p.tenantId));
        checkTree(known, input.departments);
        // Returned: the rows inserted (xmax 0) or changed; unchanged ones are not touched.
        departmentRows = rowsOf<{ inserted: boolean }>(
          await tx.execute(sql`insert into departments (tenant_id, id, name, parent_id)
          select ${p.tenantId}, d.id, d.name, d.parent_id from jsonb_to_recordset(${JSON.stringify(departmentsIn)}::jsonb) as d(id text, name text, parent_id text)
          on conflict (tenant_id, id) do update set name = excluded.name, parent_id = excluded.parent_id
          where (departments.name, departments.parent_id) is distinct from (excluded.name, excluded.parent_id)
          returning (xmax = 0) as inserted`),
        );
      }
      // Users with roles given set them; the others keep theirs (new ones start with none).
      for (const withRoles of [true, false]) {
        const rows = usersIn
          .filter((u) => !!u.roles === withRoles)
          .map((u) => ({
            id: u.id,
            name: u.name,
            department_id: u.departmentId ?? null,
            manager_id: u.managerId ?? null,
            roles: u.roles ?? [],
          }));
        if (!rows.length) continue;
        const changed = withRoles
          ? sql`(users.name, users.department_id, users.manager_id, users.roles) is distinct from (excluded.name, excluded.department_id, excluded.manager_id, excluded.roles)`
          : sql`(users.name, users.department_id, users.manager_id) is distinct from (excluded.name, excluded.department_id, excluded.manager_id)`;
        const written = await tx.execute(sql`insert into users (tenant_id, id, name, department_id, manager_id, roles)
          select ${p.tenantId}, u.id, u.name, u.department_id, u.manager_id, u.roles
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u(id text, name text, department_id text, manager_id text, roles jsonb)
          on conflict (tenant_id, id) do update set name = excluded.name, department_id = excluded.department_id, manager_id = excluded.manager_id
          ${withRoles ? sql`, roles = excluded.roles` : sql``}
          where ${changed}
          returning (xmax = 0) as inserted`);
        userRows.push(...rowsOf<{ inserted: boolean }>(written));
      }
      const diff = { departments: counted(departmentRows), users: counted(userRows) };
      // A sync that changed nothing (hosts resend the whole directory) is not a change.
      if (departmentRows.length || userRows.length)
        await this.audit.record(tx, p, { action: 'directory.sync', targetType: 'directory', diff });
    });
    return { departments: input.departments.length, users: input.users.length };
  }

  async listDepartments(tenantId: string) {
    return this.ctx.database.db
      .select({ id: departments.id, name: departments.name, parentId: departments.parentId })
      .from(departments)
      .where(eq(departments.tenantId, tenantId))
      .orderBy(asc(departments.name));
  }

  async listUsers(tenantId: string) {
    return this.ctx.database.db
      .select({
        id: users.id,
        name: users.name,
        departmentId: users.departmentId,
        managerId: users.managerId,
        roles: users.roles,
      })
      .from(users)
      .where(eq(users.tenantId, tenantId))
      .orderBy(asc(users.name));
  }

  async user(q: Q, tenantId: string, id: string) {
    const [u] = await q
      .select()
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.id, id)));
    return u ?? null;
  }

  /** A department and all its ancestors (a process scoped to a parent applies to children). */
  async ancestry(q: Q, tenantId: string, departmentId: string | null): Promise<string[]> {
    if (!departmentId) return [];
    const rows = await q
      .select({ id: departments.id, parentId: departments.parentId })
      .from(departments)
      .where(eq(departments.tenantId, tenantId));
    const parent = new Map(rows.map((r) => [r.id, r.parentId]));
    const out: string[] = [];
    let at: string | null | undefined = departmentId;
    while (at && !out.includes(at)) {
      out.push(at);
      at = parent.get(at);
    }
    return out;
  }

  /**
   * The users a post-sale team names, each once, in order: its `userIds` that are users of
   * the tenant (others are skipped: the directory may have dropped them since the process
   * was published), then for each of its departments (sub-departments included) the members
   * holding the `postsale` role, or every member when none holds it (a department of
   * post-sale people whose roles the host does not sync), by id. An unknown department adds
   * nobody.
   */
  async teamMembers(q: Q, tenantId: string, team: { userIds: string[]; departments: string[] }): Promise<string[]> {
    const out: string[] = [];
    if (team.userIds.length) {
      const found = new Set(
        (
          await q
            .select({ id: users.id })
            .from(users)
            .where(and(eq(users.tenantId, tenantId), inArray(users.id, team.userIds)))
        ).map((u) => u.id),
      );
      out.push(...team.userIds.filter((u) => found.has(u)));
    }
    if (team.departments.length) {
      const all = await q
        .select({ id: departments.id, parentId: departments.parentId })
        .from(departments)
        .where(eq(departments.tenantId, tenantId));
      for (const d of team.departments) {
        if (!all.some((x) => x.id === d)) continue;
        const tree = [d];
        for (let i = 0; i < tree.length; i++)
          for (const x of all) if (x.parentId === tree[i] && !tree.includes(x.id)) tree.push(x.id);
        const members = await q
          .select({ id: users.id, roles: users.roles })
          .from(users)
          .where(and(eq(users.tenantId, tenantId), inArray(users.departmentId, tree)))
          .orderBy(asc(users.id));
        const postsale = members.filter((m) => m.roles.includes('postsale'));
        out.push(...(postsale.length ? postsale : members).map((m) => m.id));
      }
    }
    return [...new Set(out)];
  }

  /** All sub-departments of one (itself included). */
  async subtree(tenantId: string, departmentId: string): Promise<string[]> {
    const rows = await this.ctx.database.db
      .select({ id: departments.id, parentId: departments.parentId })
      .from(departments)
      .where(eq(departments.tenantId, tenantId));
    // An unknown department is a 404, not an empty (and misleading) set of figures.
    if (!rows.some((r) => r.id === departmentId)) throw notFound('department');
    const out = [departmentId];
    for (let i = 0; i < out.length; i++)
      for (const r of rows) if (r.parentId === out[i] && !out.includes(r.id)) out.push(r.id);
    return out;
  }
}
