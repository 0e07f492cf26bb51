import {
  CONTACT_ROLE_KEY,
  SYSTEM_FIELDS,
  isEmptyValue,
  isFileRef,
  LOST_REASON_KEY,
  type DefinedOption,
  type FieldCatalog,
  type FieldDefinition,
  type FieldObject,
  type fieldOrderSchema,
  type updateFieldSchema,
} from '@sales-process/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { diffOf, type AuditLog } from '../audit/service.js';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { fieldDefinitions, users } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { checkFileRefs } from '../files/service.js';

type Q = Db | Tx;

/** A `user` or `file` field value that names another record: where it was sent, and the field's value now. */
export interface ValueRef {
  path: string;
  type: 'user' | 'file';
  value: unknown;
  current?: unknown;
}

/**
 * Field values that name other records, checked against them: a `user` value is a user of
 * the tenant, a `file` value a file of the tenant the author may read (`checkFileRefs`);
 * otherwise 400 (403 for a file they may not read) at its path. A value equal to the
 * field's current one passes (what is stored stays storable). Answers what to store for
 * each, in order: files as the files table knows them, never the name or size the client
 * sent.
 */
export async function checkValueRefs(q: Q, p: Principal, refs: readonly ValueRef[]): Promise<unknown[]> {
  const unchanged = (r: ValueRef) => JSON.stringify(r.value) === JSON.stringify(r.current);
  const userRefs = refs.filter((r) => r.type === 'user' && !isEmptyValue(r.value) && !unchanged(r));
  if (userRefs.length) {
    const ids = [...new Set(userRefs.map((r) => String(r.value)))];
    const found = new Set(
      (
        await q
          .select({ id: users.id })
          .from(users)
          .where(and(eq(users.tenantId, p.tenantId), inArray(users.id, ids)))
      ).map((u) => u.id),
    );
    const unknown = userRefs.filter((r) => !found.has(String(r.value)));
    if (unknown.length)
      throw new ApiError(
        'VALIDATION_FAILED',
        unknown.map((r) => ({
          path: r.path,
          message: { zh: `${r.path}：通讯录中没有这个用户`, en: `${r.path}: no such user in the directory` },
        })),
      );
  }
  const fileRefs = refs.flatMap((r) =>
    r.type === 'file' && isFileRef(r.value) ? [{ path: r.path, id: r.value.id, current: r.current }] : [],
  );
  const stored = await checkFileRefs(q, p, fileRefs);
  return refs.map((r) => (r.type === 'file' && isFileRef(r.value) ? stored.get(r.value.id) : r.value));
}

/** A change to a tenant's fields, as `GET /fields/stream` tells it (every instance hears it). */
export interface FieldChange {
  object: FieldObject;
  /** The field changed; absent for a reorder. */
  key?: string;
  action: 'create' | 'update' | 'archive' | 'reorder';
}

/** The channel field changes are announced on (cache invalidation and the stream, across instances). */
const CHANNEL = 'sp_fields';

type Row = typeof fieldDefinitions.$inferSelect;

/** A stored definition as the API shows it (`archived` only when it is). */
function definitionOf(r: Row): FieldDefinition {
  return {
    key: r.key,
    label: r.label,
    type: r.type as FieldDefinition['type'],
    options: (r.options as DefinedOption[] | null) ?? undefined,
    required: r.required,
    system: false,
    position: r.position,
    ...(r.archivedAt ? { archived: true } : {}),
  };
}

/** What an audit diff compares of a field. */
const audited = (f: FieldDefinition) => ({
  label: f.label,
  options: f.options ?? null,
  required: !!f.required,
  archived: !!f.archived,
});

const isSelect = (type: string) => type === 'select' || type === 'multiselect';

/**
 * Field definitions (字段管理) of customers and opportunities: the built-in ones (columns,
 * core's SYSTEM_FIELDS) and each tenant's custom ones, which admins add, edit (label,
 * options, required), reorder and archive, never delete: values stored under an archived
 * field or option stay readable with their label. The lost reason is one of them, seeded
 * with the tenant (core's DEFAULT_CUSTOM_FIELDS). Every change is one transaction with its
 * audit row, then announced on `sp_fields` (every instance drops its cache and tells its
 * streams).
 */
export class FieldService {
  /**
   * Field definitions change rarely and every view needs them: cached per tenant for a
   * few seconds (dropped at once on every instance when a field changes).
   */
  private readonly cache = new Map<string, { at: number; catalog: FieldCatalog }>();
  static readonly CACHE_MS = 5000;
  private readonly listeners = new Map<string, Set<(change: FieldChange) => void>>();

  constructor(
    private readonly ctx: ServerContext,
    /** Every change is recorded (`field.create`, `field.update`, `field.archive`, `field.reorder`). */
    private readonly audit: AuditLog,
  ) {}

  /** Listens for field changes of every instance; answers the function that stops it. */
  start(): Promise<() => Promise<void>> {
    return this.ctx.database.listen(CHANNEL, (payload) => {
      let message: { tenantId: string } & FieldChange;
      try {
        message = JSON.parse(payload);
      } catch {
        return;
      }
      this.cache.delete(message.tenantId);
      const { tenantId, ...change } = message;
      this.listeners.get(tenantId)?.forEach((fn) => fn(change));
    });
  }

  /** Calls `fn` on each change of the tenant's fields (from any instance); answers the unsubscribe. */
  subscribe(tenantId: string, fn: (change: FieldChange) => void): () => void {
    const set = this.listeners.get(tenantId) ?? new Set();
    set.add(fn);
    this.listeners.set(tenantId, set);
    return () => {
      set.delete(fn);
      if (!set.size) this.listeners.delete(tenantId);
    };
  }

  /**
   * The object's fields as pickers offer them: built-in ones first, then custom ones in
   * their order; without `includeArchived`, no archived field and no archived option.
   */
  async list(q: Q, tenantId: string, object: FieldObject, includeArchived = false): Promise<FieldDefinition[]> {
    const all = (await this.catalog(q, tenantId))[object];
    if (includeArchived) return [...all];
    return all
      .filter((f) => !f.archived)
      .map((f) => (f.options ? { ...f, options: f.options.filter((o) => !o.archived) } : f));
  }

  /**
   * Every definition of the tenant, archived fields and options included (flagged): what
   * resolves the labels of stored values and checks values written to them.
   */
  async catalog(q: Q, tenantId: string): Promise<FieldCatalog> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < FieldService.CACHE_MS) return hit.catalog;
    const rows = await q
      .select()
      .from(fieldDefinitions)
      .where(eq(fieldDefinitions.tenantId, tenantId))
      .orderBy(asc(fieldDefinitions.position), asc(fieldDefinitions.createdAt), asc(fieldDefinitions.key));
    const custom = (object: FieldObject) => rows.filter((r) => r.object === object).map(definitionOf);
    const catalog = {
      customer: [...SYSTEM_FIELDS.customer, ...custom('customer')],
      opportunity: [...SYSTEM_FIELDS.opportunity, ...custom('opportunity')],
      contact: [...SYSTEM_FIELDS.contact, ...custom('contact')],
    };
    this.cache.set(tenantId, { at: Date.now(), catalog });
    return catalog;
  }

  async add(p: Principal, object: FieldObject, f: FieldDefinition): Promise<FieldDefinition> {
    if (SYSTEM_FIELDS[object].some((s) => s.key === f.key))
      throw new ApiError('CONFLICT', [
        { path: 'body.key', message: { zh: `${f.key} 是系统字段`, en: `${f.key} is a system field` } },
      ]);
    if (isSelect(f.type) && !f.options?.some((o) => !o.archived))
      throw new ApiError('VALIDATION_FAILED', [
        { path: 'body.options', message: { zh: '选项字段需要选项', en: 'A select field needs options' } },
      ]);
    const created = await this.ctx.database.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(fieldDefinitions)
        .values({
          tenantId: p.tenantId,
          object,
          key: f.key,
          label: f.label,
          type: f.type,
          options: f.options ?? null,
          required: !!f.required,
          // Last among the object's fields.
          position: sql`(select coalesce(max(${fieldDefinitions.position}), 0) + 1 from ${fieldDefinitions}
            where ${fieldDefinitions.tenantId} = ${p.tenantId} and ${fieldDefinitions.object} = ${object})`,
          createdAt: this.ctx.clock.now(),
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted)
        throw new ApiError('CONFLICT', [
          { path: 'body.key', message: { zh: `字段 ${f.key} 已存在`, en: `Field ${f.key} exists already` } },
        ]);
      const created = definitionOf(inserted);
      await this.audit.record(tx, p, {
        action: 'field.create',
        targetType: 'field',
        targetId: `${object}.${f.key}`,
        diff: diffOf(null, { type: created.type, ...audited(created) }),
      });
      return created;
    });
    await this.changed(p.tenantId, { object, key: f.key, action: 'create' });
    return created;
  }

  /**
   * Changes a field's label, options or `required`, or restores it (`archived: false`).
   * Options are renamed, reordered, added or archived, never removed: an option missing
   * from the list is 409 (a stale list, or a removal that would orphan stored values).
   */
  async update(
    p: Principal,
    object: FieldObject,
    key: string,
    patch: z.infer<typeof updateFieldSchema>,
  ): Promise<FieldDefinition> {
    const { result, diff, archiving } = await this.ctx.database.db.transaction(async (tx) => {
      const row = await this.locked(tx, p.tenantId, object, key);
      const before = definitionOf(row);
      if (patch.options !== undefined) {
        if (!isSelect(row.type))
          throw new ApiError('VALIDATION_FAILED', [
            {
              path: 'body.options',
              message: { zh: '只有选项字段有选项', en: 'Only select and multiselect fields have options' },
            },
          ]);
        const kept = new Set(patch.options.map((o) => o.value));
        const missing = (before.options ?? []).filter((o) => !kept.has(o.value)).map((o) => o.value);
        if (missing.length)
          throw new ApiError('CONFLICT', [
            {
              path: 'body.options',
              missing,
              message: {
                zh: `选项不能删除，只能归档（缺少：${missing.join('、')}；若他人刚刚修改过，请刷新）`,
                en: `Options are archived, not removed (missing: ${missing.join(', ')}; if someone just changed them, reload)`,
              },
            },
          ]);
        if (!patch.options.some((o) => !o.archived))
          throw new ApiError('VALIDATION_FAILED', [
            {
              path: 'body.options',
              message: { zh: '至少保留一个未归档的选项', en: 'Keep at least one option that is not archived' },
            },
          ]);
      }
      const restoring = patch.archived === false && !!row.archivedAt;
      const archiving = patch.archived === true && !row.archivedAt;
      if (archiving) await this.checkArchivable(tx, p.tenantId, object, key);
      const set = {
        ...(patch.label ? { label: patch.label } : {}),
        ...(patch.options !== undefined ? { options: patch.options } : {}),
        ...(patch.required !== undefined ? { required: patch.required } : {}),
        ...(restoring ? { archivedAt: null } : {}),
        ...(archiving ? { archivedAt: this.ctx.clock.now() } : {}),
      };
      // Nothing to write (archiving an archived field, an empty body): the field as it is.
      const [updated] = Object.keys(set).length
        ? await tx
            .update(fieldDefinitions)
            .set(set)
            .where(this.where(p.tenantId, object, key))
            .returning()
        : [row];
      const result = definitionOf(updated!);
      const diff = diffOf(audited(before), audited(result));
      if (Object.keys(diff).length)
        await this.audit.record(tx, p, {
          action: archiving ? 'field.archive' : 'field.update',
          targetType: 'field',
          targetId: `${object}.${key}`,
          diff,
        });
      return { result, diff, archiving };
    });
    if (Object.keys(diff).length)
      await this.changed(p.tenantId, { object, key, action: archiving ? 'archive' : 'update' });
    return result;
  }

  /**
   * Archives a field: pickers no longer offer it; stored values keep showing with its label.
   * Refused (409) while a published stage uses it (naming the processes), and for the
   * lost reason (every lose asks for it: archive its options instead). Archiving an
   * archived field changes nothing.
   */
  archive(p: Principal, object: FieldObject, key: string): Promise<FieldDefinition> {
    return this.update(p, object, key, { archived: true });
  }

  /**
   * Puts the object's custom fields that are not archived in the order of `keys`, which
   * must name each of them once: another list (a field added or archived meanwhile) is 409.
   */
  async reorder(
    p: Principal,
    object: FieldObject,
    order: z.infer<typeof fieldOrderSchema>,
  ): Promise<FieldDefinition[]> {
    const changed = await this.ctx.database.db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(fieldDefinitions)
        .where(and(eq(fieldDefinitions.tenantId, p.tenantId), eq(fieldDefinitions.object, object)))
        .orderBy(asc(fieldDefinitions.position), asc(fieldDefinitions.createdAt), asc(fieldDefinitions.key))
        .for('update');
      const active = rows.filter((r) => !r.archivedAt).map((r) => r.key);
      const unknown = order.keys.filter((k) => !active.includes(k));
      const missing = active.filter((k) => !order.keys.includes(k));
      if (unknown.length || missing.length)
        throw new ApiError('CONFLICT', [
          {
            path: 'body.keys',
            missing,
            unknown,
            message: {
              zh: '顺序须列出全部未归档的自定义字段，各一次（字段可能刚被他人修改，请刷新）',
              en: 'The order must list every custom field that is not archived, once each (they may have just changed: reload)',
            },
          },
        ]);
      if (active.join('\u0000') === order.keys.join('\u0000')) return false;
      // Archived fields keep their places after the ordered ones.
      const archived = rows.filter((r) => r.archivedAt).map((r) => r.key);
      const positions = [...order.keys, ...archived];
      for (const [i, key] of positions.entries())
        await tx
          .update(fieldDefinitions)
          .set({ position: i + 1 })
          .where(this.where(p.tenantId, object, key));
      await this.audit.record(tx, p, {
        action: 'field.reorder',
        targetType: 'field',
        targetId: object,
        diff: diffOf({ order: active }, { order: order.keys }),
      });
      return true;
    });
    if (changed) await this.changed(p.tenantId, { object, action: 'reorder' });
    return this.list(this.ctx.database.db, p.tenantId, object, true);
  }

  /**
   * The processes whose published (current) version uses the field: a stage form with it,
   * a pre-sale stage requiring contact roles (for `contact.role`, whose options they are),
   * or a condition on it (`appliesWhen`): `[{id, name, stages: [stage ids], conditions}]`.
   */
  async usedBy(q: Q, tenantId: string, object: FieldObject, key: string) {
    const roles = object === 'contact' && key === CONTACT_ROLE_KEY;
    const rows = rowsOf<{ id: string; name: string; stage_id: string | null }>(
      await q.execute(sql`select p.id, p.name, s.value->>'id' as stage_id, s.n
        from processes p
        join process_versions v on v.process_id = p.id and v.version = p.current_version
        cross join lateral jsonb_array_elements(
          coalesce(v.definition->'presale', '[]'::jsonb) || coalesce(v.definition->'postsale', '[]'::jsonb))
          with ordinality s(value, n)
        where p.tenant_id = ${tenantId}
          and (exists (select 1 from jsonb_array_elements(coalesce(s.value->'fields', '[]'::jsonb)) f
                       where f->>'source' = ${object} and f->>'key' = ${key})
               or (${roles}::boolean and jsonb_array_length(coalesce(s.value->'requiredContactRoles', '[]'::jsonb)) > 0))
        union all
        select p.id, p.name, null as stage_id, null as n
        from processes p
        join process_versions v on v.process_id = p.id and v.version = p.current_version
        where p.tenant_id = ${tenantId}
          and exists (select 1 from jsonb_array_elements(coalesce(v.definition->'appliesWhen', '[]'::jsonb)) c
                      where c->>'source' = ${object} and c->>'key' = ${key})
        order by 2, 1, 4 nulls last`),
    );
    const out = new Map<string, { id: string; name: string; stages: string[]; conditions: boolean }>();
    for (const r of rows) {
      const p = out.get(r.id) ?? { id: r.id, name: r.name, stages: [], conditions: false };
      if (r.stage_id === null) p.conditions = true;
      else p.stages.push(r.stage_id);
      out.set(r.id, p);
    }
    return [...out.values()];
  }

  private async checkArchivable(q: Q, tenantId: string, object: FieldObject, key: string) {
    if (object === 'opportunity' && key === LOST_REASON_KEY)
      throw new ApiError('CONFLICT', [
        {
          path: 'key',
          message: {
            zh: '输单原因在每次输单时填写，不能归档；可以归档它的选项',
            en: 'Every lose asks for the lost reason, so it cannot be archived; archive its options instead',
          },
        },
      ]);
    const used = await this.usedBy(q, tenantId, object, key);
    const roles = object === 'contact' && key === CONTACT_ROLE_KEY;
    if (used.length)
      throw new ApiError(
        'CONFLICT',
        used.map((u) => ({
          processId: u.id,
          processName: u.name,
          stages: u.stages,
          conditions: u.conditions,
          message: roles
            ? {
                zh: `已发布的销售流程「${u.name}」的阶段要求联系人角色`,
                en: `The published process "${u.name}" requires contact roles in a stage`,
              }
            : u.stages.length
              ? {
                  zh: `已发布的销售流程「${u.name}」的阶段表单使用此字段`,
                  en: `The published process "${u.name}" uses this field in a stage form`,
                }
              : {
                  zh: `已发布的销售流程「${u.name}」的适用条件使用此字段`,
                  en: `The published process "${u.name}" uses this field in its conditions`,
                },
        })),
        {
          zh: '字段正被已发布的销售流程使用，不能归档',
          en: 'A published process uses this field: it cannot be archived',
        },
      );
  }

  /** The field's row, locked for the change; 404 for no such field, 409 for a built-in one. */
  private async locked(tx: Tx, tenantId: string, object: FieldObject, key: string): Promise<Row> {
    if (SYSTEM_FIELDS[object].some((s) => s.key === key))
      throw new ApiError('CONFLICT', [
        {
          path: 'key',
          message: { zh: `${key} 是系统字段，不能修改`, en: `${key} is a built-in field: it cannot be changed` },
        },
      ]);
    const [row] = await tx
      .select()
      .from(fieldDefinitions)
      .where(this.where(tenantId, object, key))
      .for('update');
    if (!row) throw new ApiError('NOT_FOUND', [], { zh: '字段不存在', en: 'No such field' });
    return row;
  }

  private where(tenantId: string, object: FieldObject, key: string) {
    return and(
      eq(fieldDefinitions.tenantId, tenantId),
      eq(fieldDefinitions.object, object),
      eq(fieldDefinitions.key, key),
    );
  }

  /** After a change committed: this instance's cache now, every instance's (and their streams) through NOTIFY. */
  private async changed(tenantId: string, change: FieldChange) {
    this.cache.delete(tenantId);
    await this.ctx.database
      .notify(CHANNEL, JSON.stringify({ tenantId, ...change }))
      .catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'field change not announced'));
  }
}
