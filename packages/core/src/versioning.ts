import { stageById, type ProcessDefinition, type Stage } from './definition.js';

export type StageChange =
  | { kind: 'added'; phase: 'presale' | 'postsale'; stageId: string; name: string }
  | { kind: 'removed'; phase: 'presale' | 'postsale'; stageId: string; name: string }
  | { kind: 'renamed'; stageId: string; from: string; to: string }
  | { kind: 'moved'; stageId: string; from: number; to: number }
  | { kind: 'gatesChanged'; stageId: string; what: string[] };

/** What changes between two versions, stage by stage (ids are stable across versions). */
export function diffDefinitions(before: ProcessDefinition, after: ProcessDefinition): StageChange[] {
  const changes: StageChange[] = [];
  for (const phase of ['presale', 'postsale'] as const) {
    const afterIds = after[phase].map((s) => s.id);
    const beforeIds = before[phase].map((s) => s.id);
    before[phase].forEach((s) => {
      if (!afterIds.includes(s.id)) changes.push({ kind: 'removed', phase, stageId: s.id, name: s.name });
    });
    after[phase].forEach((s) => {
      if (!beforeIds.includes(s.id)) changes.push({ kind: 'added', phase, stageId: s.id, name: s.name });
    });
    // Order among the stages both versions have.
    const kept = beforeIds.filter((id) => afterIds.includes(id));
    const keptAfter = afterIds.filter((id) => beforeIds.includes(id));
    kept.forEach((id, i) => {
      const j = keptAfter.indexOf(id);
      if (i !== j) changes.push({ kind: 'moved', stageId: id, from: i, to: j });
    });
    for (const s of after[phase]) {
      const old = before[phase].find((x) => x.id === s.id);
      if (!old) continue;
      if (old.name !== s.name) changes.push({ kind: 'renamed', stageId: s.id, from: old.name, to: s.name });
      const what = gateDifferences(old, s);
      if (what.length) changes.push({ kind: 'gatesChanged', stageId: s.id, what });
    }
  }
  return changes;
}

function gateDifferences(a: Stage, b: Stage): string[] {
  const what: string[] = [];
  if (a.requiresApproval !== b.requiresApproval) what.push('requiresApproval');
  if ('minContacts' in a && 'minContacts' in b && a.minContacts !== b.minContacts) what.push('minContacts');
  if ('winRate' in a && 'winRate' in b && a.winRate !== b.winRate) what.push('winRate');
  const req = (s: Stage) =>
    s.fields
      .filter((f) => f.required)
      .map((f) => `${f.source}.${f.key}`)
      .sort()
      .join(',');
  if (req(a) !== req(b)) what.push('requiredFields');
  if (a.remindAfterDays !== b.remindAfterDays) what.push('remindAfterDays');
  return what;
}

export interface OpportunityPosition {
  id: string;
  stageId: string | null;
  status: string;
}

export interface PublishImpact {
  /** Opportunities per stage id of the old version (closed ones included). */
  perStage: { stageId: string | null; name: string | null; count: number; removed: boolean; target: string | null }[];
  /** Removed stages that still hold opportunities and have no target in the mapping. */
  unmapped: { stageId: string; name: string; count: number }[];
  /** Mapping entries that do not name a stage of the new version. */
  badTargets: { from: string; to: string }[];
  total: number;
  changes: StageChange[];
}

/**
 * The effect of publishing `after` with update-existing onto opportunities currently on
 * `before`: which stages they sit in, and which sit in removed stages needing a target.
 */
export function publishImpact(
  before: ProcessDefinition,
  after: ProcessDefinition,
  opportunities: readonly OpportunityPosition[] | ReadonlyMap<string | null, number>,
  mapping: Record<string, string> = {},
): PublishImpact {
  const counts = new Map<string | null, number>();
  if (opportunities instanceof Map) for (const [k, v] of opportunities) counts.set(k, v);
  else
    for (const o of opportunities as readonly OpportunityPosition[])
      counts.set(o.stageId, (counts.get(o.stageId) ?? 0) + 1);

  const perStage: PublishImpact['perStage'] = [];
  const unmapped: PublishImpact['unmapped'] = [];
  let total = 0;
  for (const [stageId, count] of counts) {
    total += count;
    const old = stageById(before, stageId);
    const stillThere = stageId === null || !!stageById(after, stageId);
    const target = stillThere ? stageId : (mapping[stageId!] ?? null);
    perStage.push({ stageId, name: old?.stage.name ?? null, count, removed: !stillThere, target });
    if (!stillThere && !(mapping[stageId!] && stageById(after, mapping[stageId!])))
      unmapped.push({ stageId: stageId!, name: old?.stage.name ?? stageId!, count });
  }
  const badTargets = Object.entries(mapping)
    .filter(([, to]) => !stageById(after, to))
    .map(([from, to]) => ({ from, to }));
  perStage.sort((a, b) => order(before, a.stageId) - order(before, b.stageId));
  return { perStage, unmapped, badTargets, total, changes: diffDefinitions(before, after) };
}

function order(def: ProcessDefinition, id: string | null): number {
  const at = stageById(def, id);
  if (!at) return 10_000;
  return at.phase === 'presale' ? at.index : 1000 + at.index;
}
