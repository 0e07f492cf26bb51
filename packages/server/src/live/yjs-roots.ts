/** Root-level Yjs helpers the doc kinds share: what a client wrote where it should not, and undoing it. */
import type * as Y from 'yjs';
import type { Problem } from './doc-kind.js';

/** Whether a root type holds anything not deleted (deleted map entries stay in `_map`). */
export function hasContent(doc: Y.Doc, name: string): boolean {
  const t = doc.share.get(name)!;
  for (const item of t._map.values()) if (!item.deleted) return true;
  for (let item = t._start; item; item = item.right) if (!item.deleted) return true;
  return false;
}

/** Roots other than `known` that hold something: a client wrote where nobody may. */
export function unknownRoots(doc: Y.Doc, known: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of doc.share.keys()) if (!known.includes(name) && hasContent(doc, name)) out.push(name);
  return out;
}

export function unknownKeyProblem(path: string): Problem {
  return { code: 'UNKNOWN_KEY', path, message: { zh: `不允许写入 ${path}`, en: `${path} may not be written` } };
}

/**
 * Deletes everything in a root type. A root only a client's update created is a bare
 * AbstractType (no map or array methods), so its items are deleted directly, as
 * Y.Map#delete and Y.Array#delete do.
 */
export function clearType(doc: Y.Doc, name: string, tr: Y.Transaction): void {
  const t = doc.share.get(name)!;
  for (const item of t._map.values()) if (!item.deleted) item.delete(tr);
  for (let item = t._start; item; item = item.right) if (!item.deleted) item.delete(tr);
}

/** Empties every root other than `known` (in the caller's transaction). */
export function clearUnknownRoots(doc: Y.Doc, known: readonly string[], tr: Y.Transaction): void {
  for (const name of doc.share.keys()) if (!known.includes(name)) clearType(doc, name, tr);
}
