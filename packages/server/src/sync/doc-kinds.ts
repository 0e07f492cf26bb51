import {
  checkFieldValue,
  DRAFT_ROOT,
  parseDraft,
  processDraftSchema,
  readDraft,
  writeDraft,
  type ProcessDraft,
} from '@sales-process/core';
import * as Y from 'yjs';

/**
 * The two kinds of live document and their rules:
 *
 * `process-draft:{processId}` — root map `draft` (see core's ydraft.ts). Admins write;
 *   every update must leave a structurally valid draft with no unknown keys.
 * `opportunity:{opportunityId}` — root map `form` holds the current stage's field values
 *   keyed `source.key` (co-filled by owner, supervisor, post-sale staff); root map
 *   `server` holds what only the server writes after a validated command (stage, status,
 *   gates, …). A client write to `server`, to an unknown key, or of a value of the
 *   wrong type is refused.
 */
export type DocKind = { kind: 'process-draft'; id: string } | { kind: 'opportunity'; id: string };

export function parseDocName(name: string): DocKind | null {
  const m = /^(process-draft|opportunity):([A-Za-z0-9_-]{1,128})$/.exec(name);
  return m ? ({ kind: m[1], id: m[2] } as DocKind) : null;
}

export const FORM_ROOT = 'form';
export const SERVER_ROOT = 'server';

export interface Problem {
  code: string;
  message: { zh: string; en: string };
  path?: string;
}

// ---- drafts -------------------------------------------------------------------------

const STAGE_KEYS = new Set(['order', 'name', 'requirements', 'winRate', 'remindAfterDays', 'overdueAfterDays', 'requiresApproval', 'minContacts', 'fields']);
const FIELD_KEYS = new Set(['order', 'source', 'key', 'required', 'label', 'type', 'options']);
const ROOT_KEYS = new Set(['name', 'departments', 'presale', 'postsale', 'terminal', 'rules']);

/** Keys the draft mapping does not know: a client wrote something it should not have. */
function unknownDraftKeys(doc: Y.Doc): string[] {
  const out: string[] = [];
  for (const name of doc.share.keys()) if (name !== DRAFT_ROOT && hasContent(doc, name)) out.push(name);
  const root = doc.getMap(DRAFT_ROOT);
  root.forEach((v, k) => {
    if (!ROOT_KEYS.has(k)) out.push(`draft.${k}`);
    if ((k === 'presale' || k === 'postsale') && v instanceof Y.Map)
      v.forEach((stage, id) => {
        if (!(stage instanceof Y.Map)) return void out.push(`draft.${k}.${id}`);
        stage.forEach((fv, sk) => {
          if (!STAGE_KEYS.has(sk)) out.push(`draft.${k}.${id}.${sk}`);
          if (sk === 'fields' && fv instanceof Y.Map)
            fv.forEach((f, uid) => {
              if (!(f instanceof Y.Map)) return void out.push(`draft.${k}.${id}.fields.${uid}`);
              f.forEach((_, fk) => {
                if (!FIELD_KEYS.has(fk)) out.push(`draft.${k}.${id}.fields.${uid}.${fk}`);
              });
            });
        });
      });
  });
  return out;
}

function hasContent(doc: Y.Doc, name: string): boolean {
  const t = doc.share.get(name)!;
  return t._start !== null || (t as unknown as { _map: Map<string, unknown> })._map.size > 0;
}

export function checkDraftDoc(doc: Y.Doc): { problems: Problem[]; draft: ProcessDraft | null } {
  const unknown = unknownDraftKeys(doc);
  const parsed = parseDraft(readDraft(doc));
  const problems: Problem[] = unknown.map((path) => ({ code: 'UNKNOWN_KEY', path, message: { zh: `不允许写入 ${path}`, en: `${path} may not be written` } }));
  if (!parsed.ok)
    problems.push(...parsed.problems.map((p) => ({ code: p.code, path: p.path.join('.'), message: p.message })));
  return { problems, draft: parsed.ok ? parsed.draft : null };
}

/** Puts a draft doc back to a known-good draft (minimal changes), clearing unknown keys. */
export function restoreDraftDoc(doc: Y.Doc, good: ProcessDraft, origin: unknown): void {
  doc.transact(() => {
    for (const name of doc.share.keys()) if (name !== DRAFT_ROOT) clearType(doc, name);
    const root = doc.getMap(DRAFT_ROOT);
    for (const k of [...root.keys()]) if (!ROOT_KEYS.has(k)) root.delete(k);
    for (const phase of ['presale', 'postsale'] as const) {
      const map = root.get(phase);
      if (!(map instanceof Y.Map)) continue;
      map.forEach((stage, id) => {
        if (!(stage instanceof Y.Map)) return void map.delete(id);
        for (const sk of [...stage.keys()]) if (!STAGE_KEYS.has(sk)) stage.delete(sk);
        const fields = stage.get('fields');
        if (fields instanceof Y.Map)
          fields.forEach((f, uid) => {
            if (!(f instanceof Y.Map)) return void fields.delete(uid);
            for (const fk of [...f.keys()]) if (!FIELD_KEYS.has(fk)) f.delete(fk);
          });
        else if (fields !== undefined) stage.delete('fields');
      });
    }
    for (const k of ['name'] as const) if (root.has(k) && !(root.get(k) instanceof Y.Text)) root.delete(k);
    for (const k of ['departments', 'presale', 'postsale', 'terminal', 'rules']) if (root.has(k) && !(root.get(k) instanceof Y.Map)) root.delete(k);
    writeDraft(doc, good);
  }, origin);
}

function clearType(doc: Y.Doc, name: string): void {
  const t = doc.share.get(name)!;
  const map = t as unknown as Y.Map<unknown>;
  for (const k of [...(t as unknown as { _map: Map<string, unknown> })._map.keys()]) map.delete(k);
  let item = t._start;
  let length = 0;
  while (item) {
    if (!item.deleted && item.countable) length += item.length;
    item = item.right;
  }
  if (length) (t as unknown as Y.Array<unknown>).delete(0, length);
}

export const emptyDraft: ProcessDraft = processDraftSchema.parse({});

// ---- opportunity forms -----------------------------------------------------------------

export interface FormField {
  source: 'customer' | 'opportunity' | 'stage';
  key: string;
  type: string;
  options?: { value: string }[] | null;
}

export const formKey = (f: { source: string; key: string }) => `${f.source}.${f.key}`;

/** The form map as plain values. */
export function readForm(doc: Y.Doc): Record<string, unknown> {
  return doc.getMap(FORM_ROOT).toJSON();
}

export function readServerState(doc: Y.Doc): Record<string, unknown> {
  return doc.getMap(SERVER_ROOT).toJSON();
}

/** Every client-written key must be a field of the current stage, with a value of its type. */
export function checkFormDoc(doc: Y.Doc, fields: readonly FormField[], serverBefore: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  for (const name of doc.share.keys())
    if (name !== FORM_ROOT && name !== SERVER_ROOT && hasContent(doc, name)) problems.push({ code: 'UNKNOWN_KEY', path: name, message: { zh: `不允许写入 ${name}`, en: `${name} may not be written` } });
  if (JSON.stringify(readServerState(doc)) !== JSON.stringify(serverBefore))
    problems.push({ code: 'SERVER_OWNED', path: SERVER_ROOT, message: { zh: '阶段、状态等只能由服务器修改', en: 'Stage, status and gates are written by the server only' } });
  const byKey = new Map(fields.map((f) => [formKey(f), f]));
  doc.getMap(FORM_ROOT).forEach((value, key) => {
    const f = byKey.get(key);
    if (!f) return void problems.push({ code: 'UNKNOWN_FIELD', path: `form.${key}`, message: { zh: `当前阶段没有字段 ${key}`, en: `The current stage has no field ${key}` } });
    if (value instanceof Y.AbstractType) return void problems.push({ code: 'INVALID_VALUE', path: `form.${key}`, message: { zh: `${key} 的值不合法`, en: `${key} has an invalid value` } });
    const problem = checkFieldValue(f.type as never, value, f.options as never);
    if (problem) problems.push({ code: 'INVALID_VALUE', path: `form.${key}`, message: { zh: `${key}：${problem.message.zh}`, en: `${key}: ${problem.message.en}` } });
  });
  return problems;
}

/** Writes plain values into a root map, changing only what differs. */
export function writeMap(doc: Y.Doc, root: string, values: Record<string, unknown>, origin: unknown, removeOthers = true): void {
  doc.transact(() => {
    const map = doc.getMap(root);
    if (removeOthers) for (const k of [...map.keys()]) if (!(k in values)) map.delete(k);
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const json = JSON.stringify(v);
      const cur = map.get(k);
      if (cur instanceof Y.AbstractType || JSON.stringify(cur) !== json) map.set(k, v === null ? null : JSON.parse(json));
    }
  }, origin);
}

/** Restores an opportunity doc to known-good form values and server state. */
export function restoreFormDoc(doc: Y.Doc, form: Record<string, unknown>, server: Record<string, unknown>, origin: unknown): void {
  doc.transact(() => {
    for (const name of doc.share.keys()) if (name !== FORM_ROOT && name !== SERVER_ROOT) clearType(doc, name);
    writeMap(doc, FORM_ROOT, form, origin);
    writeMap(doc, SERVER_ROOT, server, origin);
  }, origin);
}
