import { and, eq, inArray } from 'drizzle-orm';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
import { files } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';

export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/** Files attached to stage forms: stored in the database, served back to the tenant. */
export class FileService {
  constructor(private readonly ctx: ServerContext) {}

  async upload(p: Principal, name: string, mime: string, data: Uint8Array) {
    if (data.length > MAX_FILE_BYTES)
      throw new ApiError('PAYLOAD_TOO_LARGE', [{ limit: MAX_FILE_BYTES, message: { zh: '文件不能超过 10 MiB', en: 'Files may not exceed 10 MiB' } }]);
    if (!data.length) throw new ApiError('VALIDATION_FAILED', [{ path: 'body', message: { zh: '文件为空', en: 'The file is empty' } }]);
    const safeName = name.replace(/[\\/\u0000-\u001f]/g, '_').slice(0, 200) || 'file';
    const id = this.ctx.ids('fil');
    await this.ctx.database.db.insert(files).values({ id, tenantId: p.tenantId, name: safeName, mime: mime.slice(0, 100) || 'application/octet-stream', size: data.length, data, createdBy: p.userId, createdAt: this.ctx.clock.now() });
    return { id, name: safeName, size: data.length };
  }

  async get(p: Principal, id: string) {
    const [row] = await this.ctx.database.db.select().from(files).where(and(eq(files.tenantId, p.tenantId), eq(files.id, id)));
    if (!row) throw notFound('file');
    return row;
  }
}

/**
 * `file` field values must name files of the tenant (uploaded with `POST /files`): a
 * reference to another tenant's file, or to none, is 400 at its path.
 */
export async function checkFileRefs(q: Db | Tx, tenantId: string, refs: readonly { path: string; id: string }[]): Promise<void> {
  if (!refs.length) return;
  const ids = [...new Set(refs.map((r) => r.id))];
  const found = new Set((await q.select({ id: files.id }).from(files).where(and(eq(files.tenantId, tenantId), inArray(files.id, ids)))).map((r) => r.id));
  const missing = refs.filter((r) => !found.has(r.id));
  if (missing.length)
    throw new ApiError('VALIDATION_FAILED', missing.map((r) => ({ path: r.path, message: { zh: `${r.path}：没有这个已上传的文件`, en: `${r.path}: no such uploaded file` } })));
}
