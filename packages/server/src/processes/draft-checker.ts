/**
 * The draft's rules as a Yjs doc: every update must leave a structurally valid draft
 * (core's parseDraft) with nothing the mapping does not know (core's DRAFT_*_KEYS, no
 * other root than DRAFT_ROOT). `DraftChecker` checks a live draft incrementally;
 * `restoreDraftDoc` puts one back to a known-good draft.
 */
import {
  DRAFT_FIELD_KEYS,
  DRAFT_ROOT,
  DRAFT_ROOT_KEYS,
  DRAFT_SETTINGS_KEYS,
  DRAFT_STAGE_KEYS,
  parseDraft,
  parseDraftByStage,
  parseDraftSettings,
  parseStage,
  readDraft,
  readDraftSettings,
  readStage,
  readStageValue,
  readStages,
  reparseStageKeys,
  writeDraft,
  type PhaseKey,
  type ProcessDraft,
  type SettingsCheck,
  type StageCheck,
} from '@sales-process/core';
import * as Y from 'yjs';
import type { Problem } from '../live/doc-kind.js';
import { clearUnknownRoots, unknownKeyProblem, unknownRoots } from '../live/yjs-roots.js';

/** Root keys the mapping writes as plain JSON values (an edit replaces the whole value). */
const ROOT_PLAIN_KEYS: ReadonlySet<string> = new Set(['postsaleTeam', 'appliesWhen']);
const rootTypeFits = (k: string, v: unknown) => (k === 'name' ? v instanceof Y.Text : v instanceof Y.Map);

/** Keys the draft mapping does not know: a client wrote something it should not have. */
function unknownDraftKeys(
  doc: Y.Doc,
  stageKeys: (phase: PhaseKey, id: string, stage: Y.Map<unknown>) => string[] = unknownStageKeys,
): string[] {
  const out: string[] = [];
  out.push(...unknownRoots(doc, [DRAFT_ROOT]));
  const root = doc.getMap(DRAFT_ROOT);
  root.forEach((v, k) => {
    // An unknown key, or a known one holding something else than the type the mapping writes
    // (plain values are checked by the settings' schema).
    if (!DRAFT_ROOT_KEYS.has(k) || (ROOT_PLAIN_KEYS.has(k) ? v instanceof Y.AbstractType : !rootTypeFits(k, v)))
      out.push(`draft.${k}`);
    if ((k === 'presale' || k === 'postsale') && v instanceof Y.Map)
      v.forEach((stage, id) => {
        if (!(stage instanceof Y.Map)) return void out.push(`draft.${k}.${id}`);
        out.push(...stageKeys(k, id, stage));
      });
  });
  return out;
}

function unknownStageKeys(phase: PhaseKey, id: string, stage: Y.Map<unknown>): string[] {
  const out: string[] = [];
  stage.forEach((fv, sk) => {
    if (!DRAFT_STAGE_KEYS.has(sk)) out.push(`draft.${phase}.${id}.${sk}`);
    if (sk === 'fields' && fv instanceof Y.Map)
      fv.forEach((f, uid) => {
        if (!(f instanceof Y.Map)) return void out.push(`draft.${phase}.${id}.fields.${uid}`);
        f.forEach((_, fk) => {
          if (!DRAFT_FIELD_KEYS.has(fk)) out.push(`draft.${phase}.${id}.fields.${uid}.${fk}`);
        });
      });
  });
  return out;
}

/** The whole draft doc checked at once (see `DraftChecker` for the incremental one). */
export function checkDraftDoc(doc: Y.Doc): { problems: Problem[]; draft: ProcessDraft | null } {
  const parsed = parseDraft(readDraft(doc));
  return { problems: problemsOf(unknownDraftKeys(doc), parsed), draft: parsed.ok ? parsed.draft : null };
}

/**
 * `checkDraftDoc` for one live doc, re-reading and re-checking only what changed since the
 * last check. Which types changed comes from every transaction on the doc, whatever its
 * origin (client, restore, server edit, another instance), so a cached result is never
 * older than what it stands for. Two levels:
 * - a stage's check is cached until something in that stage changes;
 * - while the draft is valid and transactions only change known values inside stages (a
 *   name or requirements typed, a win rate set), the last draft is patched with those
 *   values, each checked alone (`reparseStageKeys`): a keystroke costs a few microseconds,
 *   not a walk over every stage. Anything else (stages added, removed or moved, settings,
 *   fields, unknown keys, a refusal) takes the stage-by-stage path.
 */
export class DraftChecker {
  private readonly stages = new WeakMap<
    Y.Map<unknown>,
    { phase: PhaseKey; id: string; check: StageCheck; unknown: string[] }
  >();
  /** Stage maps changed since the last check: their cached check is stale. */
  private readonly dirty = new Set<Y.AbstractType<any>>();
  /** The settings' check, until a transaction changes the root's entries or a setting. */
  private settings: SettingsCheck | null = null;
  /** The last check while it found the draft valid, with where each stage sits in it. */
  private valid: { draft: ProcessDraft; at: Map<Y.Map<unknown>, { phase: PhaseKey; index: number }> } | null = null;
  /** Keys changed inside each stage since the last check (while `valid` holds). */
  private readonly edits = new Map<Y.Map<unknown>, Set<string>>();
  private readonly root: Y.Map<unknown>;

  constructor(private readonly doc: Y.Doc) {
    this.root = doc.getMap(DRAFT_ROOT);
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      for (const [type, keys] of tr.changed) this.changed(type, keys);
    });
  }

  /** What a change to `type` (to its entries `keys`, for a map) makes stale. */
  private changed(type: Y.AbstractType<any>, keys: Set<string | null>) {
    if (type === this.root) {
      this.settings = null; // a root entry was set or deleted
      return this.dropFastPath();
    }
    // The chain from the changed type up to the child of its root: [type, …, top].
    const chain: Y.AbstractType<any>[] = [];
    let deleted = false;
    for (let t: Y.AbstractType<any> = type; t._item; t = t._item.parent as Y.AbstractType<any>) {
      chain.push(t);
      deleted ||= t._item.deleted;
    }
    const top = chain.at(-1);
    if (!top || (top._item!.parent as unknown) !== this.root) return this.dropFastPath(); // another root
    const key = top._item!.parentSub!;
    if (key !== 'presale' && key !== 'postsale') {
      if ((DRAFT_SETTINGS_KEYS as readonly string[]).includes(key)) this.settings = null;
      return this.dropFastPath();
    }
    if (chain.length < 2) return this.dropFastPath(); // stages added or removed
    const stage = chain.at(-2)!;
    this.dirty.add(stage);
    if (!this.valid) return;
    // Only a change inside a current stage keeps the last draft: which key of the stage it is under.
    if (deleted || !(stage instanceof Y.Map) || this.root.get(key) !== top) return this.dropFastPath();
    const changedKeys = chain.length === 2 ? [...keys] : [chain.at(-3)!._item!.parentSub];
    // `order` moves the stage among the others.
    if (changedKeys.some((k) => k === null || k === 'order')) return this.dropFastPath();
    let set = this.edits.get(stage);
    if (!set) this.edits.set(stage, (set = new Set()));
    for (const k of changedKeys) set.add(k!);
  }

  private dropFastPath() {
    this.valid = null;
    this.edits.clear();
  }

  private stage(phase: PhaseKey, id: string, m: Y.Map<unknown>) {
    let hit = this.stages.get(m);
    if (!hit || this.dirty.has(m) || hit.phase !== phase || hit.id !== id) {
      hit = { phase, id, check: parseStage(phase, readStage(id, m)), unknown: unknownStageKeys(phase, id, m) };
      this.stages.set(m, hit);
    }
    return hit;
  }

  check(): { problems: Problem[]; draft: ProcessDraft | null } {
    const patched = this.valid && this.patch(this.valid);
    const result = patched ? { problems: [], draft: patched } : this.checkByStage();
    if (patched) this.valid!.draft = patched;
    this.dirty.clear();
    this.edits.clear();
    return result;
  }

  /** The last valid draft with the edited stage values, or null when one needs the full check. */
  private patch(valid: NonNullable<DraftChecker['valid']>): ProcessDraft | null {
    let draft = valid.draft;
    for (const [m, keys] of this.edits) {
      const at = valid.at.get(m);
      const cached = this.stages.get(m);
      if (!at || !cached?.check.ok) return null;
      const values: Record<string, unknown> = {};
      for (const k of keys) values[k] = readStageValue(m, k);
      const stage = reparseStageKeys(at.phase, cached.check.stage, values);
      if (!stage) return null;
      this.stages.set(m, { ...cached, check: { ok: true, stage } });
      const stages = draft.definition[at.phase].slice();
      stages[at.index] = stage as never;
      draft = { ...draft, definition: { ...draft.definition, [at.phase]: stages } };
    }
    return draft;
  }

  private checkByStage(): { problems: Problem[]; draft: ProcessDraft | null } {
    const unknown = unknownDraftKeys(this.doc, (phase, id, m) => this.stage(phase, id, m).unknown);
    this.settings ??= parseDraftSettings(readDraftSettings(this.doc));
    const at = new Map<Y.Map<unknown>, { phase: PhaseKey; index: number }>();
    const checks = (phase: PhaseKey) => {
      let index = 0;
      return readStages(this.doc, phase, (_, id, m) => {
        at.set(m, { phase, index: index++ });
        return this.stage(phase, id, m).check;
      });
    };
    const parsed = parseDraftByStage(
      { definition: { presale: checks('presale'), postsale: checks('postsale') } },
      this.settings,
    );
    const problems = problemsOf(unknown, parsed);
    this.valid = !problems.length && parsed.ok ? { draft: parsed.draft, at } : null;
    return { problems, draft: parsed.ok ? parsed.draft : null };
  }
}

function problemsOf(unknown: string[], parsed: ReturnType<typeof parseDraft>): Problem[] {
  const problems: Problem[] = unknown.map(unknownKeyProblem);
  if (!parsed.ok)
    problems.push(...parsed.problems.map((p) => ({ code: p.code, path: p.path.join('.'), message: p.message })));
  return problems;
}

/** Puts a draft doc back to a known-good draft (minimal changes), clearing unknown keys. */
export function restoreDraftDoc(doc: Y.Doc, good: ProcessDraft, origin: unknown): void {
  doc.transact((tr) => {
    clearUnknownRoots(doc, [DRAFT_ROOT], tr);
    const root = doc.getMap(DRAFT_ROOT);
    for (const k of [...root.keys()]) if (!DRAFT_ROOT_KEYS.has(k)) root.delete(k);
    for (const phase of ['presale', 'postsale'] as const) {
      const map = root.get(phase);
      if (!(map instanceof Y.Map)) continue;
      map.forEach((stage, id) => {
        if (!(stage instanceof Y.Map)) return void map.delete(id);
        for (const sk of [...stage.keys()]) if (!DRAFT_STAGE_KEYS.has(sk)) stage.delete(sk);
        const fields = stage.get('fields');
        if (fields instanceof Y.Map)
          fields.forEach((f, uid) => {
            if (!(f instanceof Y.Map)) return void fields.delete(uid);
            for (const fk of [...f.keys()]) if (!DRAFT_FIELD_KEYS.has(fk)) f.delete(fk);
          });
        else if (fields !== undefined) stage.delete('fields');
      });
    }
    for (const k of ['name'] as const) if (root.has(k) && !(root.get(k) instanceof Y.Text)) root.delete(k);
    for (const k of ['departments', 'presale', 'postsale', 'terminal', 'rules'])
      if (root.has(k) && !(root.get(k) instanceof Y.Map)) root.delete(k);
    for (const k of ROOT_PLAIN_KEYS) if (root.get(k) instanceof Y.AbstractType) root.delete(k);
    writeDraft(doc, good);
  }, origin);
}
