import { describe, expect, it } from 'vitest';
import { processDefinitionSchema } from './definition.js';
import { seedProcessDefinition as seed } from './seed-process.js';
import { diffDefinitions, publishImpact } from './versioning.js';

const next = processDefinitionSchema.parse({
  ...seed,
  presale: [
    { ...seed.presale[0]!, minContacts: 1 },
    { ...seed.presale[2]!, name: '方案设计与演示' },
    { ...seed.presale[1]! },
    { id: 'negotiate', name: '商务谈判', winRate: 90 },
  ],
});

describe('versions', () => {
  it('diffs stages: removed, added, moved, renamed, gates changed', () => {
    expect(diffDefinitions(seed, next)).toEqual([
      { kind: 'removed', phase: 'presale', stageId: 'quote', name: '报价竞标' },
      { kind: 'added', phase: 'presale', stageId: 'negotiate', name: '商务谈判' },
      { kind: 'moved', stageId: 'needs', from: 1, to: 2 },
      { kind: 'moved', stageId: 'solution', from: 2, to: 1 },
      { kind: 'gatesChanged', stageId: 'visit', what: ['minContacts'] },
      { kind: 'renamed', stageId: 'solution', from: '方案设计', to: '方案设计与演示' },
    ]);
  });

  it('says which opportunities sit in removed stages and need a target', () => {
    const opps = [
      { id: '1', stageId: 'visit', status: 'open' },
      { id: '2', stageId: 'quote', status: 'open' },
      { id: '3', stageId: 'quote', status: 'open' },
      { id: '4', stageId: 'install', status: 'won' },
    ];
    const impact = publishImpact(seed, next, opps);
    expect(impact.total).toBe(4);
    expect(impact.unmapped).toEqual([{ stageId: 'quote', name: '报价竞标', count: 2 }]);
    expect(impact.perStage.map((s) => [s.stageId, s.count, s.removed])).toEqual([
      ['visit', 1, false],
      ['quote', 2, true],
      ['install', 1, false],
    ]);
    const mapped = publishImpact(seed, next, opps, { quote: 'negotiate' });
    expect(mapped.unmapped).toEqual([]);
    expect(mapped.perStage.find((s) => s.stageId === 'quote')!.target).toBe('negotiate');
    expect(publishImpact(seed, next, opps, { quote: 'gone' }).badTargets).toEqual([{ from: 'quote', to: 'gone' }]);
  });
});
