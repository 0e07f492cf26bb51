import {
  SYSTEM_FIELDS,
  isEmptyValue,
  isFileRef,
  type FieldCatalog,
  type FieldDefinition,
  type FieldObject,
} from '@sales-process/core';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
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

export class FieldService {
  /**
   * Field definitions change rarely and every view needs them: cached per tenant for a
   * few seconds (dropped at once on this instance when a field is added).
   */
  private readonly cache = new Map<string, { at: number; catalog: FieldCatalog }>();
  static readonly CACHE_MS = 5000;

  constructor(private readonly ctx: ServerContext) {}

  async list(q: Q, tenantId: string, object: FieldObject): Promise<FieldDefinition[]> {
    const rows = await q
      .select()
      .from(fieldDefinitions)
      .where(and(eq(fieldDefinitions.tenantId, tenantId), eq(fieldDefinitions.object, object)))
      .orderBy(asc(fieldDefinitions.createdAt), asc(fieldDefinitions.key));
    const custom = rows.map((r) => ({
      key: r.key,
      label: r.label,
      type: r.type as FieldDefinition['type'],
      options: r.options ?? undefined,
      required: r.required,
      system: false,
    }));
    return [...SYSTEM_FIELDS[object], ...custom];
  }

  async catalog(q: Q, tenantId: string): Promise<FieldCatalog> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < FieldService.CACHE_MS) return hit.catalog;
    const catalog = {
      customer: await this.list(q, tenantId, 'customer'),
      opportunity: await this.list(q, tenantId, 'opportunity'),
    };
    this.cache.set(tenantId, { at: Date.now(), catalog });
    return catalog;
  }

  async add(tenantId: string, object: FieldObject, f: FieldDefinition) {
    if (SYSTEM_FIELDS[object].some((s) => s.key === f.key))
      throw new ApiError('CONFLICT', [
        { path: 'body.key', message: { zh: `${f.key} 是系统字段`, en: `${f.key} is a system field` } },
      ]);
    if ((f.type === 'select' || f.type === 'multiselect') && !f.options?.length)
      throw new ApiError('VALIDATION_FAILED', [
        { path: 'body.options', message: { zh: '选项字段需要选项', en: 'A select field needs options' } },
      ]);
    const inserted = await this.ctx.database.db
      .insert(fieldDefinitions)
      .values({
        tenantId,
        object,
        key: f.key,
        label: f.label,
        type: f.type,
        options: f.options ?? null,
        required: !!f.required,
      })
      .onConflictDoNothing()
      .returning();
    if (!inserted.length)
      throw new ApiError('CONFLICT', [
        { path: 'body.key', message: { zh: `字段 ${f.key} 已存在`, en: `Field ${f.key} exists already` } },
      ]);
    this.cache.delete(tenantId);
    return { ...f, system: false };
  }
}
