import { computeFunnel, seedProcessDefinition, writeDraft, SERVER_ROOT } from '@sales-process/core';
import { EXAMPLE, STAYS } from '@sales-process/core/testing/funnel-example';
import { expect, fixture, html } from '@open-wc/testing';
import * as Y from 'yjs';
import '../index.js';
import { opportunityFixture } from '../testing/fixtures.js';

/**
 * Portals embed the kit under strict Content-Security-Policies: the elements must render
 * with `style-src` forbidding inline style attributes (their styles are adopted sheets;
 * dynamic colours and widths go through the CSSOM).
 */
const violations: string[] = [];
before(() => {
  document.addEventListener('securitypolicyviolation', (e) =>
    violations.push(`${e.violatedDirective}: ${e.sample || e.blockedURI}`),
  );
  const meta = document.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = "style-src 'self'";
  document.head.append(meta);
});

describe('under a strict style-src', () => {
  it('the elements render without an inline style violation', async () => {
    const draft = new Y.Doc();
    writeDraft(draft, { name: '流程', departments: [], definition: seedProcessDefinition });
    const form = new Y.Doc();
    const server = form.getMap(SERVER_ROOT);
    for (const [k, v] of Object.entries({
      ...opportunityFixture(),
      formFields: [
        {
          source: 'stage',
          key: 'notes',
          type: 'textarea',
          required: true,
          label: { zh: '拜访记录', en: 'Notes' },
          options: null,
        },
      ],
    }))
      server.set(k, v);
    const funnel = {
      process: { id: 'p1', name: '流程', version: 1 },
      ...computeFunnel(seedProcessDefinition, EXAMPLE, STAYS),
    };
    const el = await fixture(html`<div>
      <opportunity-stage-path .opportunity=${opportunityFixture()}></opportunity-stage-path>
      <stage-feedback-form opportunity-id="opp_1" .doc=${form}></stage-feedback-form>
      <sales-funnel-chart .data=${funnel}></sales-funnel-chart>
      <sales-notifications></sales-notifications>
      <sales-process-designer process-id="p1" .doc=${draft} .catalog=${{ customer: [], opportunity: [] }} .departments=${[]}></sales-process-designer>
    </div>`);
    await new Promise((r) => setTimeout(r, 100));
    expect(
      el.querySelector('sales-funnel-chart')!.shadowRoot!.querySelector<HTMLElement>('.bar')!.style.width,
    ).to.match(/%$/);
    expect(violations).to.deep.equal([]);
  });
});
