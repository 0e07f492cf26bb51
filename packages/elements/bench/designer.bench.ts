/**
 * How long the designer takes to answer a keystroke, on a big draft (30 presale stages ×
 * 10 fields): the time from an `input` event on a text control until the element's
 * `updateComplete`, over many keystrokes, as median and p95. Prints figures, asserts no
 * times (they depend on the machine). Not part of `pnpm test`: run `pnpm bench:designer`.
 */
import { writeDraft, type ProcessDefinition } from '@sales-process/core';
import { fixture, html } from '@open-wc/testing';
import * as Y from 'yjs';
import '../src/index.js';
import type { SalesProcessDesigner } from '../src/designer/sales-process-designer.js';

const STAGES = 30;
const FIELDS = 10;
const WARMUP = 10;
const KEYSTROKES = 50;

const catalog = {
  customer: Array.from({ length: FIELDS }, (_, k) => ({
    key: `c${k}`,
    label: { zh: `客户字段 ${k}`, en: `Customer field ${k}` },
    type: 'text' as const,
  })),
  opportunity: [{ key: 'amount', label: { zh: '金额', en: 'Amount' }, type: 'currency' as const }],
  // The contact roles each pre-sale stage's editor offers.
  contact: [
    {
      key: 'role',
      label: { zh: '联系人角色', en: 'Contact role' },
      type: 'multiselect' as const,
      options: ['direct', 'decisionMaker', 'technical', 'procurement'].map((value) => ({
        value,
        label: { zh: value, en: value },
      })),
    },
  ],
};

function bigDefinition(): ProcessDefinition {
  const presale = Array.from({ length: STAGES }, (_, i) => ({
    id: `s${i}`,
    name: `阶段 ${i + 1}`,
    winRate: Math.min(99, 3 * (i + 1)),
    requirements: `第 ${i + 1} 阶段的要求`,
    remindAfterDays: 7,
    requiresApproval: i % 5 === 0,
    minContacts: 0,
    requiredContactRoles: [],
    fields: Array.from({ length: FIELDS }, (_, k) =>
      k % 2
        ? { source: 'customer' as const, key: `c${k}`, required: k % 3 === 0 }
        : {
            source: 'stage' as const,
            key: `f${i}_${k}`,
            required: k % 4 === 0,
            label: { zh: `字段 ${k}`, en: `Field ${k}` },
            type: 'text' as const,
          },
    ),
  }));
  return {
    presale,
    postsale: [
      {
        id: 'install',
        name: '上门安装',
        requirements: '',
        remindAfterDays: null,
        requiresApproval: false,
        overdueAfterDays: 5,
        team: null,
        fields: [],
      },
    ],
    terminal: {
      won: { name: '赢单', winRate: 100 },
      lost: { name: '输单', winRate: 0 },
      invalid: { name: '无效', winRate: 0 },
    },
    rules: {
      orderRequiredToWin: false,
      orderAllowedAfterStage: null,
      allowSkipStages: false,
      allowMoveBack: true,
      allowReopen: true,
    },
    postsaleTeam: { userIds: [], departments: [] },
    appliesWhen: [],
  } as ProcessDefinition;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Types `KEYSTROKES` characters into the control `selector`, one `input` event each, timing each until `updateComplete`. */
async function type(el: SalesProcessDesigner, selector: string): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < WARMUP + KEYSTROKES; k++) {
    const input = el.shadowRoot!.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector)!;
    input.value += String.fromCharCode(97 + (k % 26));
    const start = performance.now();
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await el.updateComplete;
    const ms = performance.now() - start;
    if (k >= WARMUP) times.push(ms);
  }
  return times;
}

function report(what: string, times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(
    `designer bench (${STAGES} stages × ${FIELDS} fields), ${what}: ${times.length} keystrokes, median ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, mean ${mean.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`,
  );
}

describe('designer keystroke benchmark', function () {
  this.timeout(120_000);

  async function render() {
    const doc = new Y.Doc();
    writeDraft(doc, { name: '大流程', departments: [], definition: bigDefinition() });
    const el = await fixture<SalesProcessDesigner>(
      html`<sales-process-designer process-id="bench" .doc=${doc} .catalog=${catalog} .departments=${[]}></sales-process-designer>`,
    );
    // The middle stage, so its editor (name, requirements, 10 fields) is on screen.
    el.shadowRoot!.querySelector<HTMLElement>('ol.stages li[data-id="s15"]')!.click();
    await el.updateComplete;
    return el;
  }

  it('types into a stage name', async () => {
    const el = await render();
    report('stage name', await type(el, '#stage-name'));
  });

  it('types into a stage requirement', async () => {
    const el = await render();
    report('stage requirements', await type(el, '#stage-requirements'));
  });

  it('types into the process name', async () => {
    const el = await render();
    report('process name', await type(el, '#process-name'));
  });
});
