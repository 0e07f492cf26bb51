import { ApiError } from '../http/errors.js';

/** The opaque cursor of `GET /opportunities`: the last item's creation time and id. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

/** A cursor `encodeCursor` made, or 400 at `query.cursor`. */
export function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(date.getTime())) throw new Error('bad');
    return { at: date, id };
  } catch {
    throw new ApiError('VALIDATION_FAILED', [
      { path: 'query.cursor', message: { zh: '游标无效', en: 'The cursor is not valid' } },
    ]);
  }
}
