import { ApiError } from '../http/errors.js';

/**
 * What a command's caller saw: the stage (`expectedStageId`) and/or the revisions its
 * `If-Match` names. A mismatch is 409 STALE_STATE.
 */
export interface Expected {
  stageId?: string | null;
  /** The revisions of the entity tags in `If-Match` (empty: none can match). */
  revs?: number[];
}

/** The opportunity's entity tag: weak (the view also depends on the clock), from its `rev`. */
export const etagOf = (rev: number) => `W/"${rev}"`;

/**
 * The revisions an `If-Match` header names (`W/"7"` or `"7"`); undefined for none or `*`.
 * A tag that is not one of ours matches nothing.
 */
export function parseIfMatch(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const revs: number[] = [];
  for (const part of header.split(',')) {
    const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(part);
    if (m) revs.push(Number(m[1]));
  }
  return revs;
}

/** What the preconditions read of an opportunity. */
interface Seen {
  stageId: string | null;
  status: string;
  phase: string;
  rev: number;
}

/** Whether the row is still what the caller saw. */
export function matches(row: Seen, expected: Expected | undefined): boolean {
  if (!expected) return true;
  if (expected.stageId !== undefined && expected.stageId !== row.stageId) return false;
  if (expected.revs !== undefined && !expected.revs.includes(row.rev)) return false;
  return true;
}

/** 409 STALE_STATE, with what the opportunity is now. */
export function stale(row: Seen): ApiError {
  return new ApiError('STALE_STATE', [
    {
      stageId: row.stageId,
      status: row.status,
      phase: row.phase,
      etag: etagOf(row.rev),
      message: {
        zh: '商机已不在您看到的状态，请刷新后再操作',
        en: 'The opportunity is no longer as you saw it; reload it and try again',
      },
    },
  ]);
}

/** For commands on a locked row: it is what the caller saw, or 409 STALE_STATE. */
export function expect(row: Seen, expected: Expected | undefined) {
  if (!matches(row, expected)) throw stale(row);
}
