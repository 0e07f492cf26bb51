import * as Y from 'yjs';
import type { ProcessDraft, StageField } from './definition.js';

/**
 * How a process draft lives in a Y.Doc, so that two admins editing different stages or
 * fields never clobber each other:
 *
 * root `draft` (Y.Map)
 *   name          Y.Text
 *   departments   Y.Map<deptId, true>          a set: concurrent adds merge
 *   presale       Y.Map<stageId, Y.Map>        keyed by id, ordered by `order`
 *   postsale      Y.Map<stageId, Y.Map>          (a move changes one number, so a
 *                                                concurrent edit of the moved stage survives)
 *     stage: order number, name Y.Text, requirements Y.Text, winRate, remindAfterDays,
 *            overdueAfterDays, requiresApproval, minContacts, requiredContactRoles (a list),
 *            team (post-sale: {userIds, departments} or null),
 *            fields Y.Map<"source:key", Y.Map{order, source, key, required, label, type, options}>
 *   terminal      Y.Map<won|lost|invalid, Y.Map{name, winRate}>
 *   rules         Y.Map
 *   postsaleTeam  {userIds, departments}       plain values: an edit replaces the whole
 *   appliesWhen   [{source, key, values}]        value (a small list, one admin's choice)
 *
 * `readDraft` turns the doc into plain JSON (not yet validated); `writeDraft` applies a
 * JSON draft as the smallest set of changes.
 */
export const DRAFT_ROOT = 'draft';
export type PhaseKey = 'presale' | 'postsale';

const STAGE_SCALARS = [
  'winRate',
  'remindAfterDays',
  'overdueAfterDays',
  'requiresApproval',
  'minContacts',
  'requiredContactRoles',
  'team',
] as const;
const STAGE_TEXTS = ['name', 'requirements'] as const;

export function draftRoot(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap(DRAFT_ROOT);
}

export const fieldUid = (f: Pick<StageField, 'source' | 'key'>) => `${f.source}:${f.key}`;

function ensure<T extends Y.AbstractType<any>>(map: Y.Map<unknown>, key: string, make: () => T): T {
  const v = map.get(key);
  if (v instanceof Y.AbstractType) return v as T;
  const created = make();
  map.set(key, created);
  return created;
}

function setText(text: Y.Text, value: string): void {
  const now = text.toString();
  if (now === value) return;
  // Keep the common prefix and suffix so that concurrent typing elsewhere survives.
  let start = 0;
  while (start < now.length && start < value.length && now[start] === value[start]) start++;
  let endNow = now.length;
  let endNew = value.length;
  while (endNow > start && endNew > start && now[endNow - 1] === value[endNew - 1]) {
    endNow--;
    endNew--;
  }
  if (endNow > start) text.delete(start, endNow - start);
  if (endNew > start) text.insert(start, value.slice(start, endNew));
}

function setScalar(map: Y.Map<unknown>, key: string, value: unknown): void {
  if (value === undefined) {
    if (map.has(key)) map.delete(key);
    return;
  }
  const json = JSON.stringify(value);
  // Store plain JSON: Yjs refuses objects without Object's prototype (e.g. Object.create(null)).
  if (JSON.stringify(map.get(key)) !== json)
    map.set(key, typeof value === 'object' && value !== null ? JSON.parse(json) : value);
}

/** Entries of a keyed Y.Map sorted by their `order`, then by key (deterministic). */
export function orderedEntries(map: Y.Map<unknown>): [string, Y.Map<unknown>][] {
  const out: [string, Y.Map<unknown>][] = [];
  map.forEach((v, k) => {
    if (v instanceof Y.Map) out.push([k, v as Y.Map<unknown>]);
  });
  const ord = (m: Y.Map<unknown>) => {
    const o = m.get('order');
    return typeof o === 'number' && Number.isFinite(o) ? o : 0;
  };
  return out.sort((a, b) => ord(a[1]) - ord(b[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function writeOrder(map: Y.Map<unknown>, ids: string[]): void {
  const current = orderedEntries(map).map(([k]) => k);
  if (current.join('\u0000') === ids.join('\u0000')) return;
  ids.forEach((id, i) => setScalar(map.get(id) as Y.Map<unknown>, 'order', i));
}

function writeFields(stage: Y.Map<unknown>, fields: readonly StageField[]): void {
  const map = ensure(stage, 'fields', () => new Y.Map());
  const uids = fields.map(fieldUid);
  map.forEach((_, k) => {
    if (!uids.includes(k)) map.delete(k);
  });
  fields.forEach((f, i) => {
    const uid = fieldUid(f);
    let m = map.get(uid);
    if (!(m instanceof Y.Map)) {
      m = new Y.Map();
      map.set(uid, m);
      (m as Y.Map<unknown>).set('order', i);
    }
    const fm = m as Y.Map<unknown>;
    setScalar(fm, 'source', f.source);
    setScalar(fm, 'key', f.key);
    setScalar(fm, 'required', f.required);
    setScalar(fm, 'label', f.label);
    setScalar(fm, 'type', f.type);
    setScalar(fm, 'options', f.options);
  });
  writeOrder(map, uids);
}

function writeStages(root: Y.Map<unknown>, phase: PhaseKey, stages: readonly Record<string, any>[]): void {
  const map = ensure(root, phase, () => new Y.Map());
  const ids = stages.map((s) => String(s.id));
  map.forEach((_, k) => {
    if (!ids.includes(k)) map.delete(k);
  });
  stages.forEach((s, i) => {
    let m = map.get(s.id);
    if (!(m instanceof Y.Map)) {
      m = new Y.Map();
      map.set(s.id, m);
      (m as Y.Map<unknown>).set('order', i);
    }
    const sm = m as Y.Map<unknown>;
    for (const key of STAGE_TEXTS)
      setText(
        ensure(sm, key, () => new Y.Text()),
        String(s[key] ?? ''),
      );
    for (const key of STAGE_SCALARS) setScalar(sm, key, s[key]);
    writeFields(sm, s.fields ?? []);
  });
  writeOrder(map, ids);
}

/** Applies a whole draft to the doc as the smallest set of changes, in one transaction. */
export function writeDraft(doc: Y.Doc, draft: ProcessDraft, origin?: unknown): void {
  doc.transact(() => {
    const root = draftRoot(doc);
    setText(
      ensure(root, 'name', () => new Y.Text()),
      draft.name,
    );
    const depts = ensure(root, 'departments', () => new Y.Map());
    depts.forEach((_, k) => {
      if (!draft.departments.includes(k)) depts.delete(k);
    });
    for (const d of draft.departments) if (!depts.has(d)) depts.set(d, true);
    writeStages(root, 'presale', draft.definition.presale);
    writeStages(root, 'postsale', draft.definition.postsale);
    const terminal = ensure(root, 'terminal', () => new Y.Map());
    for (const t of ['won', 'lost', 'invalid'] as const) {
      const m = ensure(terminal, t, () => new Y.Map());
      setScalar(m, 'name', draft.definition.terminal[t].name);
      setScalar(m, 'winRate', draft.definition.terminal[t].winRate);
    }
    const rules = ensure(root, 'rules', () => new Y.Map());
    for (const [k, v] of Object.entries(draft.definition.rules)) setScalar(rules, k, v);
    setScalar(root, 'postsaleTeam', draft.definition.postsaleTeam);
    setScalar(root, 'appliesWhen', draft.definition.appliesWhen);
  }, origin);
}

function plain(v: unknown): unknown {
  if (v instanceof Y.Text) return v.toString();
  if (v instanceof Y.AbstractType) return (v as Y.Map<unknown>).toJSON();
  return v;
}

/** One value of a stage map as `readStage` reads it (`fields` aside). */
export function readStageValue(m: Y.Map<unknown>, key: string): unknown {
  return plain(m.get(key));
}

/** One stage map as plain JSON (not yet validated), as `readDraft` reads it. */
export function readStage(id: string, m: Y.Map<unknown>): Record<string, unknown> {
  const stage: Record<string, unknown> = { id };
  m.forEach((v, k) => {
    if (k === 'order' || k === 'fields') return;
    stage[k] = plain(v);
  });
  const fields = m.get('fields');
  stage.fields =
    fields instanceof Y.Map
      ? orderedEntries(fields as Y.Map<unknown>).map(([, f]) => {
          const o: Record<string, unknown> = {};
          f.forEach((v, k) => {
            if (k !== 'order' && v !== undefined) o[k] = plain(v);
          });
          return o;
        })
      : [];
  return stage;
}

/**
 * Everything of the draft but its stages, as plain JSON, with each phase's stages given
 * by `stage` (the server answers from a per-stage cache). `readDraft` is this with
 * `readStage`.
 */
export function readDraftShell<T>(doc: Y.Doc, stage: (phase: PhaseKey, id: string, m: Y.Map<unknown>) => T) {
  const settings = readDraftSettings(doc);
  return {
    ...settings,
    definition: {
      presale: readStages(doc, 'presale', stage),
      postsale: readStages(doc, 'postsale', stage),
      ...settings.definition,
    },
  };
}

/** The draft's settings as plain JSON: name, departments, terminal states, rules, team, conditions. */
export function readDraftSettings(doc: Y.Doc) {
  const root = draftRoot(doc);
  const name = root.get('name');
  const depts = root.get('departments');
  const terminal = root.get('terminal');
  const rules = root.get('rules');
  return {
    name: plain(name) ?? '',
    departments: depts instanceof Y.Map ? [...(depts as Y.Map<unknown>).keys()].sort() : [],
    definition: {
      terminal: terminal instanceof Y.Map ? terminal.toJSON() : undefined,
      rules: rules instanceof Y.Map ? rules.toJSON() : undefined,
      postsaleTeam: plain(root.get('postsaleTeam')),
      appliesWhen: plain(root.get('appliesWhen')),
    },
  };
}

/** The root keys `readDraftSettings` reads. */
export const DRAFT_SETTINGS_KEYS = ['name', 'departments', 'terminal', 'rules', 'postsaleTeam', 'appliesWhen'] as const;

/** A phase's stages in order, each given by `stage`. */
export function readStages<T>(
  doc: Y.Doc,
  phase: PhaseKey,
  stage: (phase: PhaseKey, id: string, m: Y.Map<unknown>) => T,
): T[] {
  const map = draftRoot(doc).get(phase);
  return map instanceof Y.Map ? orderedEntries(map as Y.Map<unknown>).map(([id, m]) => stage(phase, id, m)) : [];
}

/**
 * The doc as plain JSON in the shape of `ProcessDraft`. Not validated: pass it to
 * `parseDraft` (the server does after every incoming update).
 */
export function readDraft(doc: Y.Doc): unknown {
  return readDraftShell(doc, (_phase, id, m) => readStage(id, m));
}

// ---- fine-grained edits the designer makes -----------------------------------------

function phaseMap(doc: Y.Doc, phase: PhaseKey): Y.Map<unknown> {
  return ensure(draftRoot(doc), phase, () => new Y.Map());
}

/** An `order` between neighbours, so a move touches one stage only. */
export function orderBetween(before: number | undefined, after: number | undefined): number {
  if (before === undefined && after === undefined) return 0;
  if (before === undefined) return after! - 1;
  if (after === undefined) return before + 1;
  return (before + after) / 2;
}

function orderAt(map: Y.Map<unknown>, id: string, toIndex: number): number {
  const others = orderedEntries(map).filter(([k]) => k !== id);
  const ord = (i: number) => others[i]?.[1].get('order') as number | undefined;
  const i = Math.max(0, Math.min(toIndex, others.length));
  return orderBetween(i > 0 ? ord(i - 1) : undefined, ord(i));
}

export function addStage(
  doc: Y.Doc,
  phase: PhaseKey,
  stage: { id: string; name?: string } & Record<string, unknown>,
  atIndex?: number,
): void {
  doc.transact(() => {
    const map = phaseMap(doc, phase);
    const m = new Y.Map<unknown>();
    m.set('order', orderAt(map, stage.id, atIndex ?? map.size));
    m.set('name', new Y.Text(String(stage.name ?? '')));
    m.set('requirements', new Y.Text(String(stage.requirements ?? '')));
    for (const key of STAGE_SCALARS) if (stage[key] !== undefined) m.set(key, stage[key]);
    m.set('fields', new Y.Map());
    map.set(stage.id, m);
  });
}

export function removeStage(doc: Y.Doc, phase: PhaseKey, id: string): void {
  phaseMap(doc, phase).delete(id);
}

export function moveStage(doc: Y.Doc, phase: PhaseKey, id: string, toIndex: number): void {
  const map = phaseMap(doc, phase);
  const m = map.get(id);
  if (m instanceof Y.Map) m.set('order', orderAt(map, id, toIndex));
}

export function stageMap(doc: Y.Doc, phase: PhaseKey, id: string): Y.Map<unknown> | null {
  const m = phaseMap(doc, phase).get(id);
  return m instanceof Y.Map ? (m as Y.Map<unknown>) : null;
}

export function setStageValue(doc: Y.Doc, phase: PhaseKey, id: string, key: string, value: unknown): void {
  const m = stageMap(doc, phase, id);
  if (!m) return;
  doc.transact(() => {
    if (key === 'name' || key === 'requirements')
      setText(
        ensure(m, key, () => new Y.Text()),
        String(value ?? ''),
      );
    else setScalar(m, key, value);
  });
}

export function addStageField(doc: Y.Doc, phase: PhaseKey, stageId: string, field: StageField): void {
  const m = stageMap(doc, phase, stageId);
  if (!m) return;
  doc.transact(() => {
    const fields = ensure(m, 'fields', () => new Y.Map());
    const uid = fieldUid(field);
    if (fields.has(uid)) return;
    const f = new Y.Map<unknown>();
    f.set('order', orderAt(fields, uid, fields.size));
    for (const [k, v] of Object.entries(field)) if (v !== undefined) setScalar(f, k, v);
    fields.set(uid, f);
  });
}

export function removeStageField(doc: Y.Doc, phase: PhaseKey, stageId: string, uid: string): void {
  const fields = stageMap(doc, phase, stageId)?.get('fields');
  if (fields instanceof Y.Map) fields.delete(uid);
}

export function setStageFieldValue(
  doc: Y.Doc,
  phase: PhaseKey,
  stageId: string,
  uid: string,
  key: string,
  value: unknown,
): void {
  const fields = stageMap(doc, phase, stageId)?.get('fields');
  const f = fields instanceof Y.Map ? fields.get(uid) : null;
  if (f instanceof Y.Map) setScalar(f as Y.Map<unknown>, key, value);
}

export function moveStageField(doc: Y.Doc, phase: PhaseKey, stageId: string, uid: string, toIndex: number): void {
  const fields = stageMap(doc, phase, stageId)?.get('fields');
  if (!(fields instanceof Y.Map)) return;
  const f = fields.get(uid);
  if (f instanceof Y.Map) f.set('order', orderAt(fields as Y.Map<unknown>, uid, toIndex));
}

export function setRule(doc: Y.Doc, key: string, value: unknown): void {
  setScalar(
    ensure(draftRoot(doc), 'rules', () => new Y.Map()),
    key,
    value,
  );
}

export function setTerminal(
  doc: Y.Doc,
  which: 'won' | 'lost' | 'invalid',
  key: 'name' | 'winRate',
  value: unknown,
): void {
  const terminal = ensure(draftRoot(doc), 'terminal', () => new Y.Map());
  setScalar(
    ensure(terminal, which, () => new Y.Map()),
    key,
    value,
  );
}

export function setDepartments(doc: Y.Doc, ids: readonly string[]): void {
  doc.transact(() => {
    const depts = ensure(draftRoot(doc), 'departments', () => new Y.Map());
    depts.forEach((_, k) => {
      if (!ids.includes(k)) depts.delete(k);
    });
    for (const d of ids) if (!depts.has(d)) depts.set(d, true);
  });
}

/**
 * One of the draft's plain root values (`postsaleTeam`, `appliesWhen`): the whole value is
 * replaced (nothing is written when it is unchanged).
 */
export function setDraftValue(doc: Y.Doc, key: 'postsaleTeam' | 'appliesWhen', value: unknown): void {
  setScalar(draftRoot(doc), key, value);
}

export function setDraftName(doc: Y.Doc, name: string): void {
  setText(
    ensure(draftRoot(doc), 'name', () => new Y.Text()),
    name,
  );
}
