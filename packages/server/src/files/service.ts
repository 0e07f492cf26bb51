import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { isFileRef, type FileRef } from '@sales-process/core';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { files } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import { LINK_TTL_SECONDS, type LinkSigner } from '../http/signed-links.js';

export const MAX_FILE_BYTES = 10 * 1024 * 1024;

const badLink = () =>
  new ApiError(
    'FORBIDDEN',
    [
      {
        message: {
          zh: '下载链接无效或已过期，请重新获取',
          en: 'The download link is not valid or has expired; ask for a new one',
        },
      },
    ],
    {
      zh: '下载链接无效或已过期',
      en: 'The download link is not valid or has expired',
    },
  );

/** Files attached to stage forms: stored in the database, served back to the tenant. */
export class FileService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly signer: LinkSigner,
  ) {}

  async upload(p: Principal, name: string, mime: string, data: Uint8Array) {
    if (!['admin', 'sales', 'supervisor', 'postsale'].some((r) => p.roles.has(r as 'admin')))
      throw new ApiError('FORBIDDEN', [
        { message: { zh: '只有填写表单的人员可以上传文件', en: 'Only those who fill in forms upload files' } },
      ]);
    if (data.length > MAX_FILE_BYTES)
      throw new ApiError('PAYLOAD_TOO_LARGE', [
        { limit: MAX_FILE_BYTES, message: { zh: '文件不能超过 10 MiB', en: 'Files may not exceed 10 MiB' } },
      ]);
    if (!data.length)
      throw new ApiError('VALIDATION_FAILED', [{ path: 'body', message: { zh: '文件为空', en: 'The file is empty' } }]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a stored name must not keep.
    const safeName = name.replace(/[\\/\u0000-\u001f]/g, '_').slice(0, 200) || 'file';
    const id = this.ctx.ids('fil');
    await this.ctx.database.db.insert(files).values({
      id,
      tenantId: p.tenantId,
      name: safeName,
      mime: mime.slice(0, 100) || 'application/octet-stream',
      size: data.length,
      data,
      createdBy: p.userId,
      createdAt: this.ctx.clock.now(),
    });
    return { id, name: safeName, size: data.length };
  }

  /** A file the user may read, without its bytes: the one access rule for reading and for links. */
  async readable(p: Principal, id: string) {
    const [row] = await this.ctx.database.db
      .select({ id: files.id, tenantId: files.tenantId, name: files.name, mime: files.mime, size: files.size })
      .from(files)
      .where(and(eq(files.tenantId, p.tenantId), eq(files.id, id)));
    if (!row) throw notFound('file');
    if (!(await this.mayRead(p, id)))
      throw new ApiError('FORBIDDEN', [{ message: { zh: '无权查看此文件', en: 'You may not read this file' } }]);
    return row;
  }

  private mayRead(p: Principal, id: string): Promise<boolean> {
    return mayReadFile(this.ctx.database.db, p, id);
  }

  async get(p: Principal, id: string) {
    await this.readable(p, id);
    return this.bytes(p.tenantId, id);
  }

  /** A download link that works without a token for `LINK_TTL_SECONDS`. */
  async link(p: Principal, id: string) {
    const row = await this.readable(p, id);
    const exp = Math.floor(this.ctx.clock.now().getTime() / 1000) + LINK_TTL_SECONDS;
    const sig = this.signer.sign(row.tenantId, row.id, exp);
    return {
      url: `/api/v1/files/${encodeURIComponent(row.id)}/content?exp=${exp}&sig=${sig}`,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  /** The file a signed link names; 403 for a wrong, tampered or expired link (and for no such file: a link proves nothing about ids). */
  async content(id: string, exp: string | undefined, sig: string | undefined) {
    const expires = exp !== undefined && /^\d{1,12}$/.test(exp) ? Number(exp) : NaN;
    const now = Math.floor(this.ctx.clock.now().getTime() / 1000);
    if (!sig || !(expires > now)) throw badLink();
    const [row] = await this.ctx.database.db.select({ tenantId: files.tenantId }).from(files).where(eq(files.id, id));
    if (!row || !this.signer.verify(row.tenantId, id, expires, sig, now)) throw badLink();
    return this.bytes(row.tenantId, id);
  }

  private async bytes(tenantId: string, id: string) {
    const [row] = await this.ctx.database.db
      .select()
      .from(files)
      .where(and(eq(files.tenantId, tenantId), eq(files.id, id)));
    if (!row) throw notFound('file');
    return row;
  }
}

/**
 * A file is readable by whoever can read what it is attached to (SPEC §9): its uploader,
 * admins, anyone in the tenant for a customer's value (customers are readable by all), and
 * for an opportunity's values (fields, stage forms, their history) those who may read the
 * opportunity: owner, the owner's supervisor, its post-sale staff, analysts. That last part
 * restates in SQL the read side of `opportunityAccess` (opportunities/access.ts): keep them alike.
 */
export async function mayReadFile(q: Db | Tx, p: Principal, id: string): Promise<boolean> {
  if (p.roles.has('admin')) return true;
  const ref = sql`jsonb_build_object('id', ${id}::text)`;
  const holds = (column: SQL) => sql`jsonb_path_exists(${column}, '$.** ? (@.id == $id)', ${ref})`;
  const reader = p.roles.has('analyst')
    ? sql`true`
    : sql`(o.owner_id = ${p.userId} or o.postsale_staff @> ${JSON.stringify([p.userId])}::jsonb
        or o.owner_id in (select u.id from users u where u.tenant_id = ${p.tenantId} and u.manager_id = ${p.userId}))`;
  const rows = rowsOf<{ ok: boolean }>(
    await q.execute(sql`select (
      exists (select 1 from files f where f.tenant_id = ${p.tenantId} and f.id = ${id} and f.created_by = ${p.userId})
      or exists (select 1 from customers c where c.tenant_id = ${p.tenantId} and ${holds(sql.raw('c.fields'))})
      or exists (select 1 from opportunities o where o.tenant_id = ${p.tenantId} and ${reader}
        and (${holds(sql.raw('o.fields'))} or ${holds(sql.raw('o.stage_values'))}
          or exists (select 1 from stage_history h where h.tenant_id = ${p.tenantId} and h.opportunity_id = o.id and ${holds(sql.raw('h.values'))})))
    ) as ok`),
  );
  return rows[0]?.ok === true;
}

/** A `file` value to check: where it was sent, the file it names, and the field's value now. */
export interface FileRefCheck {
  path: string;
  id: string;
  current?: unknown;
}

/**
 * `file` field values must name files of the tenant (uploaded with `POST /files`): a
 * reference to another tenant's file, or to none, is 400 at its path. A file is newly
 * attached only by someone who may read it now (attaching it would let them read it:
 * 403 at its path otherwise); the field's current file passes as it is. Answers each file
 * as the files table knows it (its real name, size and type), which is what is stored:
 * never the name or size the client sent.
 */
export async function checkFileRefs(
  q: Db | Tx,
  p: Principal,
  refs: readonly FileRefCheck[],
): Promise<Map<string, FileRef>> {
  if (!refs.length) return new Map();
  const ids = [...new Set(refs.map((r) => r.id))];
  const rows = await q
    .select({ id: files.id, name: files.name, size: files.size, mime: files.mime })
    .from(files)
    .where(and(eq(files.tenantId, p.tenantId), inArray(files.id, ids)));
  const found = new Map<string, FileRef>(
    rows.map((r) => [r.id, { id: r.id, name: r.name, size: r.size, type: r.mime }]),
  );
  const missing = refs.filter((r) => !found.has(r.id));
  if (missing.length)
    throw new ApiError(
      'VALIDATION_FAILED',
      missing.map((r) => ({
        path: r.path,
        message: { zh: `${r.path}：没有这个已上传的文件`, en: `${r.path}: no such uploaded file` },
      })),
    );
  const readable = new Map<string, boolean>();
  const refused = [];
  for (const r of refs) {
    if (isFileRef(r.current) && r.current.id === r.id) continue;
    if (!readable.has(r.id)) readable.set(r.id, await mayReadFile(q, p, r.id));
    if (!readable.get(r.id)) refused.push(r);
  }
  if (refused.length)
    throw new ApiError(
      'FORBIDDEN',
      refused.map((r) => ({
        path: r.path,
        message: { zh: `${r.path}：无权使用此文件`, en: `${r.path}: you may not attach this file` },
      })),
      { zh: '无权使用此文件', en: 'You may not attach this file' },
    );
  return found;
}
