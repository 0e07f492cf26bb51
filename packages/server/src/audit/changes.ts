/**
 * What the trail records of a process: compact summaries of a version against the one before
 * (publishing) and of a process as it appears or goes (create, delete). Draft keystrokes are
 * never recorded one by one: the draft is not in force until it is published, and publishing
 * records what changed between the versions.
 */
import type { ProcessDefinition, ProcessDraft } from '@sales-process/core';
import { diffOf } from './service.js';

type Phase = 'presale' | 'postsale';

/** One change to the stages, as the trail stores it (`stages` of a `process.publish` entry). */
export type StageChange =
  | { kind: 'added'; phase: Phase; stageId: string; name: string }
  | { kind: 'removed'; phase: Phase; stageId: string; name: string }
  | { kind: 'renamed'; phase: Phase; stageId: string; from: string; to: string }
  /** Stages both versions have, in a new order: the phase's new order, by name. */
  | { kind: 'reordered'; phase: Phase; names: string[] }
  /** Settings of a stage that changed (`winRate`, `fields`, `requiresApproval`, …), by key. */
  | { kind: 'changed'; phase: Phase; stageId: string; name: string; keys: string[] };

/** Stages added, removed, renamed, reordered and changed, phase by phase (stage ids are stable across versions). */
export function stageChanges(before: ProcessDefinition, after: ProcessDefinition): StageChange[] {
  const out: StageChange[] = [];
  for (const phase of ['presale', 'postsale'] as const) {
    const old = new Map(before[phase].map((s) => [s.id, s]));
    const now = new Map(after[phase].map((s) => [s.id, s]));
    for (const s of before[phase])
      if (!now.has(s.id)) out.push({ kind: 'removed', phase, stageId: s.id, name: s.name });
    for (const s of after[phase]) if (!old.has(s.id)) out.push({ kind: 'added', phase, stageId: s.id, name: s.name });
    for (const s of after[phase]) {
      const was = old.get(s.id);
      if (!was) continue;
      if (was.name !== s.name) out.push({ kind: 'renamed', phase, stageId: s.id, from: was.name, to: s.name });
      const { id: _a, name: _b, ...a } = was;
      const { id: _c, name: _d, ...b } = s;
      const keys = Object.keys(diffOf(a, b));
      if (keys.length) out.push({ kind: 'changed', phase, stageId: s.id, name: s.name, keys });
    }
    const kept = before[phase].filter((s) => now.has(s.id)).map((s) => s.id);
    const keptAfter = after[phase].filter((s) => old.has(s.id));
    if (kept.some((id, i) => keptAfter[i]!.id !== id))
      out.push({ kind: 'reordered', phase, names: keptAfter.map((s) => s.name) });
  }
  return out;
}

/**
 * A published version against the one before: `name`, `departments`, `postsaleTeam` and
 * `appliesWhen` as `[before, after]` when they changed, `stages` (stageChanges), `rules` and
 * `terminal` as `{key: [before, after]}`. Only what changed appears.
 */
export function versionChanges(before: ProcessDraft, after: ProcessDraft): Record<string, unknown> {
  const settings = (d: ProcessDraft) => ({
    name: d.name,
    departments: d.departments,
    postsaleTeam: d.definition.postsaleTeam,
    appliesWhen: d.definition.appliesWhen,
  });
  const out: Record<string, unknown> = diffOf(settings(before), settings(after));
  const stages = stageChanges(before.definition, after.definition);
  if (stages.length) out.stages = stages;
  for (const key of ['rules', 'terminal'] as const) {
    const d = diffOf(before.definition[key], after.definition[key]);
    if (Object.keys(d).length) out[key] = d;
  }
  return out;
}

/** A process as the trail shows it appearing (`[null, value]`) or going (`[value, null]`). */
export function processSummary(p: {
  name: string;
  departments: string[];
  status: string;
  version: number;
  definition?: ProcessDefinition;
}): Record<string, unknown> {
  return {
    name: p.name,
    departments: p.departments,
    status: p.status,
    version: p.version,
    ...(p.definition
      ? {
          presale: p.definition.presale.map((s) => s.name),
          postsale: p.definition.postsale.map((s) => s.name),
        }
      : {}),
  };
}
