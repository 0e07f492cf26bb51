import {
  checkPublishable,
  parseDraft,
  processDefinitionSchema,
  processDraftDocName,
  readDraft,
  writeDraft,
  type createProcessSchema,
  type ProcessDefinition,
  type ProcessDraft,
  type publishSchema,
} from '@sales-process/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import type * as Y from 'yjs';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { Db, Tx } from '../db/open.js';
import { customers, opportunities, processes, processVersions } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import type { DirectoryService } from '../directory/directory.js';
import type { FieldService } from '../directory/fields.js';
import type { TenantService } from '../directory/tenants.js';
import type { DocStore } from '../live/doc-store.js';
import { processSummary } from '../audit/changes.js';
import { diffOf, type AuditLog } from '../audit/service.js';
import { judgeConditions, type ConditionValues } from './applicability.js';
import { Publishing } from './publishing.js';

type Q = Db | Tx;
const EMPTY_DEFINITION: ProcessDefinition = processDefinitionSchema.parse({});

/** The live-document layer as ProcessService uses it, so REST writes reach connected editors. */
export interface DraftDocs {
  /** Runs `fn` on the doc (loaded live if someone is editing), persisting what it changes. */
  edit(doc: string, fn: (ydoc: Y.Doc) => void, author: string | null): Promise<void>;
  read(doc: string): Promise<Y.Doc>;
  /** Deletes a doc (its process is gone): connected editors are closed. */
  reset(doc: string): Promise<void>;
}

export class ProcessService {
  /** Versions are immutable: cache their parsed definitions. */
  private readonly versionCache = new Map<string, ProcessDefinition>();

  constructor(
    private readonly ctx: ServerContext,
    /** The configuration trail: create, publish, enable, disable and delete are recorded in their transaction. */
    private readonly audit: AuditLog,
    private readonly store: DocStore,
    private readonly directory: DirectoryService,
    private readonly fields: FieldService,
    private readonly tenants: TenantService,
    /** The drafts' live docs (REST reads and writes reach connected editors). */
    private readonly docs: DraftDocs,
  ) {}

  private readonly publishing = new Publishing({
    ctx: this.ctx,
    audit: this.audit,
    row: (q, tenantId, id) => this.row(q, tenantId, id),
    definition: (q, processId, version) => this.definition(q, processId, version),
    catalog: (q, tenantId) => this.fields.catalog(q, tenantId),
    publishableDraft: (tenantId, id) => this.publishableDraft(tenantId, id),
    resetDraft: (tenantId, id) => this.resetDraft(tenantId, id),
  });

  private definitionProblems(def: ProcessDefinition, catalog: Parameters<typeof checkPublishable>[1], name: string) {
    const problems = checkPublishable(def, catalog, name);
    const errors = problems.filter((x) => x.severity === 'error');
    if (errors.length)
      throw new ApiError(
        'DEFINITION_INVALID',
        errors.map((e) => ({ path: e.path.join('.'), code: e.code, message: e.message })),
      );
    return problems;
  }

  async create(p: Principal, input: z.infer<typeof createProcessSchema>) {
    const { db } = this.ctx.database;
    // Designed from scratch in the designer (asDraft): disabled, no version until its first
    // publish, its stages a draft (not in force: the trail gets them when they are published).
    const draft = input.asDraft === true;
    const warnings = draft
      ? []
      : this.definitionProblems(input.definition, await this.fields.catalog(db, p.tenantId), input.name);
    const id = this.ctx.ids('proc');
    const now = this.ctx.clock.now();
    const status = draft ? ('disabled' as const) : ('enabled' as const);
    const version = draft ? 0 : 1;
    await db.transaction(async (tx) => {
      await tx.insert(processes).values({
        id,
        tenantId: p.tenantId,
        name: input.name,
        departments: input.departments,
        status,
        currentVersion: version,
        createdAt: now,
        updatedAt: now,
      });
      if (!draft)
        await tx.insert(processVersions).values({
          processId: id,
          version,
          tenantId: p.tenantId,
          name: input.name,
          definition: input.definition,
          publishedAt: now,
          publishedBy: p.userId,
        });
      const created = processSummary(
        draft ? { name: input.name, departments: input.departments, status, version } : { ...input, status, version },
      );
      await this.audit.record(tx, p, {
        action: 'process.create',
        targetType: 'process',
        targetId: id,
        diff: diffOf(null, created),
      });
    });
    if (draft && (input.definition.presale.length || input.definition.postsale.length))
      await this.docs.edit(
        processDraftDocName(id),
        (ydoc) => writeDraft(ydoc, { name: input.name, departments: input.departments, definition: input.definition }),
        p.userId,
      );
    return { ...(await this.get(p.tenantId, id)), warnings };
  }

  async row(q: Q, tenantId: string, id: string) {
    const [row] = await q
      .select()
      .from(processes)
      .where(and(eq(processes.tenantId, tenantId), eq(processes.id, id)));
    if (!row) throw notFound('process');
    return row;
  }

  async definition(q: Q, processId: string, version: number): Promise<ProcessDefinition> {
    if (version === 0) return EMPTY_DEFINITION; // created as a draft, never published
    const key = `${processId}@${version}`;
    const hit = this.versionCache.get(key);
    if (hit) return hit;
    const [row] = await q
      .select({ definition: processVersions.definition })
      .from(processVersions)
      .where(and(eq(processVersions.processId, processId), eq(processVersions.version, version)));
    if (!row) throw notFound('process');
    const def = processDefinitionSchema.parse(row.definition);
    this.versionCache.set(key, def);
    return def;
  }

  async get(tenantId: string, id: string) {
    const { db } = this.ctx.database;
    const row = await this.row(db, tenantId, id);
    const definition = await this.definition(db, id, row.currentVersion);
    const versions = await db
      .select({
        version: processVersions.version,
        name: processVersions.name,
        publishedAt: processVersions.publishedAt,
        publishedBy: processVersions.publishedBy,
      })
      .from(processVersions)
      .where(eq(processVersions.processId, id))
      .orderBy(asc(processVersions.version));
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      departments: row.departments,
      version: row.currentVersion,
      derivedFrom: row.derivedFrom,
      definition,
      versions: versions.map((v) => ({ ...v, publishedAt: v.publishedAt.toISOString() })),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  /** Enabled processes applicable to a department (its ancestors' processes included; no departments = everyone). */
  async usableFor(q: Q, tenantId: string, departmentId: string | null) {
    const chain = await this.directory.ancestry(q, tenantId, departmentId);
    const rows = await q
      .select()
      .from(processes)
      .where(and(eq(processes.tenantId, tenantId), eq(processes.status, 'enabled')))
      .orderBy(asc(processes.name));
    return rows.filter((r) => r.departments.length === 0 || r.departments.some((d) => chain.includes(d)));
  }

  /**
   * `GET /processes`. With `customerId` and/or `fields` (the opportunity's custom values, as
   * a creation form has them), each process is judged against its conditions (`applies`,
   * `unmet`, `undecided`: opportunity conditions without `fields`, customer ones without
   * `customerId`), and `suggestedId` names the one enabled process that applies when exactly
   * one does (what `POST /opportunities` without a `processId` takes).
   */
  async list(
    tenantId: string,
    filter: { status?: 'enabled' | 'disabled'; usableBy?: string; customerId?: string; fields?: string },
  ) {
    const { db } = this.ctx.database;
    const judged = filter.customerId !== undefined || filter.fields !== undefined;
    const values: ConditionValues = {};
    if (filter.fields !== undefined) values.opportunity = parseFieldsQuery(filter.fields);
    if (filter.customerId !== undefined) {
      const [customer] = await db
        .select({ fields: customers.fields })
        .from(customers)
        .where(and(eq(customers.tenantId, tenantId), eq(customers.id, filter.customerId)));
      if (!customer) throw notFound('customer');
      values.customer = customer.fields;
    }
    let rows: (typeof processes.$inferSelect)[];
    if (filter.usableBy) {
      const user = await this.directory.user(db, tenantId, filter.usableBy);
      if (!user) throw notFound('user');
      rows = await this.usableFor(db, tenantId, user.departmentId);
    } else {
      const where = filter.status
        ? and(eq(processes.tenantId, tenantId), eq(processes.status, filter.status))
        : eq(processes.tenantId, tenantId);
      rows = await db.select().from(processes).where(where).orderBy(asc(processes.name));
    }
    const counts = await db
      .select({ processId: opportunities.processId, n: sql<number>`count(*)`.mapWith(Number) })
      .from(opportunities)
      .where(and(eq(opportunities.tenantId, tenantId), eq(opportunities.status, 'open')))
      .groupBy(opportunities.processId);
    const open = new Map(counts.map((c) => [c.processId, c.n]));
    const items = [];
    for (const r of rows) {
      const def = await this.definition(db, r.id, r.currentVersion);
      items.push({
        id: r.id,
        name: r.name,
        status: r.status,
        departments: r.departments,
        version: r.currentVersion,
        stages: {
          presale: def.presale.map((s) => ({ id: s.id, name: s.name, winRate: s.winRate })),
          postsale: def.postsale.map((s) => ({ id: s.id, name: s.name })),
        },
        appliesWhen: def.appliesWhen,
        ...(judged ? judgeConditions(def, values) : {}),
        openOpportunities: open.get(r.id) ?? 0,
        updatedAt: r.updatedAt.toISOString(),
      });
    }
    if (!judged) return { items };
    const applying = items.filter((i) => i.status === 'enabled' && i.applies);
    return { items, suggestedId: applying.length === 1 ? applying[0]!.id : null };
  }

  // ---- drafts --------------------------------------------------------------------

  /** The draft doc, created from the current version the first time anyone opens it. */
  async ensureDraft(tenantId: string, id: string): Promise<void> {
    const doc = processDraftDocName(id);
    if (await this.store.exists(doc)) return;
    const { db } = this.ctx.database;
    const row = await this.row(db, tenantId, id);
    const definition = await this.definition(db, id, row.currentVersion);
    await this.docs.edit(
      doc,
      (ydoc) => writeDraft(ydoc, { name: row.name, departments: row.departments, definition }),
      null,
    );
  }

  async getDraft(tenantId: string, id: string) {
    await this.row(this.ctx.database.db, tenantId, id);
    await this.ensureDraft(tenantId, id);
    const ydoc = await this.docs.read(processDraftDocName(id));
    return this.describeDraft(tenantId, readDraft(ydoc));
  }

  private async describeDraft(tenantId: string, raw: unknown) {
    const parsed = parseDraft(raw);
    if (!parsed.ok) return { draft: raw, problems: parsed.problems };
    const catalog = await this.fields.catalog(this.ctx.database.db, tenantId);
    return { draft: parsed.draft, problems: checkPublishable(parsed.draft.definition, catalog, parsed.draft.name) };
  }

  async putDraft(p: Principal, id: string, input: unknown) {
    const parsed = parseDraft(input);
    if (!parsed.ok)
      throw new ApiError(
        'VALIDATION_FAILED',
        parsed.problems.map((x) => ({ path: ['body', ...x.path].join('.'), code: x.code, message: x.message })),
      );
    await this.row(this.ctx.database.db, p.tenantId, id);
    await this.ensureDraft(p.tenantId, id);
    await this.docs.edit(processDraftDocName(id), (ydoc) => writeDraft(ydoc, parsed.draft), p.userId);
    return this.describeDraft(p.tenantId, parsed.draft);
  }

  private async publishableDraft(tenantId: string, id: string): Promise<ProcessDraft> {
    await this.ensureDraft(tenantId, id);
    const raw = readDraft(await this.docs.read(processDraftDocName(id)));
    const parsed = parseDraft(raw);
    if (!parsed.ok)
      throw new ApiError(
        'DEFINITION_INVALID',
        parsed.problems.map((x) => ({ path: x.path.join('.'), code: x.code, message: x.message })),
      );
    const catalog = await this.fields.catalog(this.ctx.database.db, tenantId);
    this.definitionProblems(parsed.draft.definition, catalog, parsed.draft.name);
    return parsed.draft;
  }

  /** What publishing the draft would do (publishing.ts). */
  preview(p: Principal, id: string, input: z.infer<typeof publishSchema>) {
    return this.publishing.preview(p, id, input);
  }

  /** Publishes the draft (publishing.ts). */
  publish(p: Principal, id: string, input: z.infer<typeof publishSchema>) {
    return this.publishing.publish(p, id, input);
  }

  /** The current version as a draft (what a new draft starts from). */
  async currentDraft(id: string): Promise<ProcessDraft> {
    const { db } = this.ctx.database;
    const [row] = await db.select().from(processes).where(eq(processes.id, id));
    if (!row) throw notFound('process');
    return {
      name: row.name,
      departments: row.departments,
      definition: await this.definition(db, id, row.currentVersion),
    };
  }

  /**
   * Puts the draft back to the current version (after a "new-process" publish took the
   * edits away), as changes, so connected editors converge to it rather than resend theirs.
   */
  async resetDraft(_tenantId: string, id: string) {
    const current = await this.currentDraft(id);
    await this.docs.edit(processDraftDocName(id), (ydoc) => writeDraft(ydoc, current), null);
  }

  async setStatus(p: Principal, id: string, status: 'enabled' | 'disabled') {
    const { db } = this.ctx.database;
    await db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(processes)
        .where(and(eq(processes.tenantId, p.tenantId), eq(processes.id, id)))
        .for('update');
      if (!row) throw notFound('process');
      if (status === 'enabled' && row.currentVersion === 0)
        throw new ApiError('CONFLICT', [
          { message: { zh: '请先发布此销售流程', en: 'Publish the process before enabling it' } },
        ]);
      await tx.update(processes).set({ status, updatedAt: this.ctx.clock.now() }).where(eq(processes.id, id));
      // Enabling an enabled process changes nothing: nothing to record.
      if (row.status !== status)
        await this.audit.record(tx, p, {
          action: status === 'enabled' ? 'process.enable' : 'process.disable',
          targetType: 'process',
          targetId: id,
          diff: diffOf({ status: row.status }, { status }),
        });
    });
    return this.get(p.tenantId, id);
  }

  async remove(p: Principal, id: string) {
    const { db } = this.ctx.database;
    const { deleteRequiresStatus } = await this.tenants.settings(p.tenantId);
    await db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(processes)
        .where(and(eq(processes.tenantId, p.tenantId), eq(processes.id, id)))
        .for('update');
      if (!row) throw notFound('process');
      if (deleteRequiresStatus !== 'any' && row.status !== deleteRequiresStatus)
        throw new ApiError('CONFLICT', [
          {
            rule: 'deleteRequiresStatus',
            need: deleteRequiresStatus,
            status: row.status,
            message:
              deleteRequiresStatus === 'enabled'
                ? { zh: '只能删除启用中的销售流程', en: 'Only an enabled process can be deleted (tenant setting)' }
                : { zh: '请先停用再删除', en: 'Disable the process before deleting it' },
          },
        ]);
      const [used] = await tx
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(opportunities)
        .where(eq(opportunities.processId, id));
      if (used!.n > 0)
        throw new ApiError('PROCESS_IN_USE', [
          {
            opportunities: used!.n,
            message: {
              zh: `有 ${used!.n} 个商机关联此流程，请改为停用`,
              en: `${used!.n} opportunities use this process: disable it instead`,
            },
          },
        ]);
      await tx.delete(processes).where(eq(processes.id, id));
      const gone = processSummary({ ...row, version: row.currentVersion });
      await this.audit.record(tx, p, {
        action: 'process.delete',
        targetType: 'process',
        targetId: id,
        diff: diffOf(gone, null),
      });
    });
    await this.docs.reset(processDraftDocName(id));
  }
}

/** `GET /processes?fields=`: the opportunity's custom values as a JSON object, else 400 at `query.fields`. */
function parseFieldsQuery(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ApiError('VALIDATION_FAILED', [
      {
        path: 'query.fields',
        message: {
          zh: 'fields 须为 JSON 对象（商机字段的值）',
          en: "fields must be a JSON object (the opportunity's field values)",
        },
      },
    ]);
  return parsed as Record<string, unknown>;
}
