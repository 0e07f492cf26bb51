import { isoDateSchema, targetPlanSchema } from '@sales-process/core';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Database } from '../db/open.js';
import { documented, featureRoutes, json, principalOf as P, route } from '../http/routes.js';
import { holding, type UserSlots } from '../http/user-slots.js';
import type { ProcessService } from '../processes/service.js';
import type { AnalyticsBus, AnalyticsService } from './service.js';

const funnelQuery = z.object({
  processId: z.string().min(1).max(128),
  from: isoDateSchema.optional(),
  to: isoDateSchema.optional(),
  departmentId: z.string().max(128).optional(),
  ownerId: z.string().max(128).optional(),
});

// Issue 21's query and body schemas live here while core's api-schemas.ts is being edited elsewhere.
const winLossQuery = funnelQuery.extend({
  period: z.enum(['month', 'quarter']).optional().describe('Rows per month (default) or quarter closed in'),
  from: isoDateSchema.optional().describe('Closed from this day (UTC, inclusive)'),
  to: isoDateSchema.optional().describe('Closed up to this day (UTC, inclusive)'),
});
const staleDealsQuery = z.object({
  processId: z.string().min(1).max(128),
  departmentId: z.string().max(128).optional(),
  ownerId: z.string().max(128).optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .optional()
    .describe('How many of the oldest to list (default 50); the counts are of all'),
});
const targetPlanBody = targetPlanSchema.extend({
  ownerId: z.string().min(1).max(128).optional().describe("One salesperson's plan (a salesperson: their own)"),
  departmentId: z.string().min(1).max(128).optional().describe("A department's plan, its sub-departments included"),
  averageDealAmount: z
    .number()
    .positive()
    .max(1e13)
    .optional()
    .describe('The deal size (base currency) to plan with before the first win'),
});

const OWN =
  ' Analysts, supervisors and admins read anyone’s figures; a salesperson reads only their own (`ownerId` is theirs, given or not; another owner or a department is 403).';

/** Analytics (SPEC §7, issue 21): the funnel, target planning, win/loss, stale deals, and a stream of "the figures changed". */
export function analyticsRoutes(s: {
  database: Database;
  processes: ProcessService;
  analytics: AnalyticsService;
  analyticsBus: AnalyticsBus;
  /** Shared with the other event streams (http/user-slots.ts `eventStreamSlots`). */
  streamSlots: UserSlots;
}) {
  const api = featureRoutes();
  api.openapi(
    route({
      method: 'get',
      path: '/analytics/funnel',
      tags: ['analytics'],
      summary: 'The funnel: per-stage figures, forecast, shape diagnosis',
      description:
        'SPEC §7 for opportunities created in the period (`from`/`to`, UTC days), a department subtree or an owner. The shape diagnosis judges conversions only from cohorts old enough to have converted: opportunities created through `diagnosis.cohort.createdThrough`, months that ended at least `minAgeDays` ago (the sum of the process’s pre-sale reminder days); `diagnosis.cohort` says which and its conversions. Whole-month periods and departments read the rollups.',
      request: { query: funnelQuery },
    }),
    async (c) => c.json(await s.analytics.funnel(P(c), c.req.valid('query')), 200),
  );
  api.openapi(
    route({
      method: 'post',
      path: '/analytics/target-plan',
      tags: ['analytics'],
      summary: '分解销售目标: deals, opportunities and new customers to find per period',
      description: `For the process, one owner (\`ownerId\`) or one department subtree (\`departmentId\`), from that scope's history: deals = target ÷ average won amount, opportunities = deals ÷ (won ÷ closed), found one average cycle earlier (\`findIn\`, \`newOpportunitiesPerPeriod\`), and customers = opportunities × customers per opportunity (distinct customers ÷ opportunities; \`customersNeeded\`, \`newCustomersPerPeriod\`: 需挖掘的客户量). Before the scope's first win it plans from the process (\`figures.basis: "process"\`, said in \`note\`): its first stage's win rate, the sum of its reminder days as the cycle, and the opportunities' mean amount or \`averageDealAmount\` as the deal; 400 \`NOT_ENOUGH_HISTORY\` only when none of these exists (the message says which). Amounts in the tenant base currency (\`currency\`, \`converted\`, \`rates\`, \`unconverted\`).${OWN}`,
      request: { body: json(targetPlanBody) },
    }),
    async (c) => c.json(await s.analytics.targetPlan(P(c), c.req.valid('json')), 200),
  );
  api.openapi(
    route({
      method: 'get',
      path: '/analytics/win-loss',
      tags: ['analytics'],
      summary: 'Win/loss per period: by lost reason and by the stage lost from',
      description: `Closed opportunities of the process (all versions) by the UTC month or quarter they were closed in (\`from\`/\`to\` are close dates): \`periods[]\` and \`total\`, each with \`won\`, \`lost\`, \`invalid\` (\`{count, amount}\`), \`winRate\` = won ÷ (won + lost), \`lostByReason[]\` (\`{reason, label: {zh, en} | null, count, amount}\`, most first; \`reason\` null: none given) and \`lostByStage[]\` (\`{stageId, name, count, amount}\`, in stage order). Amounts in the tenant base currency. From the rollup when the period is whole months.${OWN}`,
      request: { query: winLossQuery },
    }),
    async (c) => c.json(await s.analytics.winLoss(P(c), c.req.valid('query')), 200),
  );
  api.openapi(
    route({
      method: 'get',
      path: '/analytics/stale-deals',
      tags: ['analytics'],
      summary: "Stale deals: open ones past their stage's reminder days, per owner, oldest first",
      description: `Open pre-sale opportunities of the process that have stayed in their stage at least its 停留n天提醒 days (in their own process version; the moment the reminder goes out), as of the server clock (\`asOf\`): \`total\` and \`amount\` of all, \`owners[]\` (\`{ownerId, ownerName, count, amount, oldestEnteredAt, oldestDays}\`, the oldest first) and the \`limit\` oldest in \`deals[]\` (\`{id, name, ownerId, ownerName, customerId, customerName, stageId, stageName, stageEnteredAt, daysInStage, remindAfterDays, daysOverdue, amount, originalAmount, originalCurrency}\`). Amounts in the tenant base currency.${OWN}`,
      request: { query: staleDealsQuery },
    }),
    async (c) => c.json(await s.analytics.staleDeals(P(c), c.req.valid('query')), 200),
  );
  api.get('/analytics/stream', async (c) => {
    const p = P(c);
    const processId = c.req.query('processId') ?? '';
    await s.processes.row(s.database.db, p.tenantId, processId);
    s.analytics.mayRead(p);
    const release = s.streamSlots.take(p);
    return streamSSE(
      c,
      holding(release, async (stream) => {
        stream.onAbort(release);
        let wake: (() => void) | null = null;
        let changed = false;
        const off = s.analyticsBus.subscribe(p.tenantId, processId, () => {
          changed = true;
          wake?.();
        });
        stream.onAbort(() => wake?.());
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (!stream.aborted && !stream.closed) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 25_000);
          });
          wake = null;
          if (stream.aborted) break;
          await stream.writeSSE({ event: changed ? 'changed' : 'ping', data: '{}' });
          changed = false;
        }
        off();
      }),
    );
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/analytics/stream',
    tags: ['analytics'],
    summary: 'Server-sent events: `changed` when the funnel figures of a process change',
    request: { query: z.object({ processId: z.string().min(1).max(128) }) },
  });
  return api;
}
