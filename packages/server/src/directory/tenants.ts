import { DEFAULT_CUSTOM_FIELDS, FIELD_OBJECTS } from '@sales-process/core';
import { eq } from 'drizzle-orm';
import { diffOf, type AuditLog } from '../audit/service.js';
import type { ServerContext } from '../context.js';
import { fieldDefinitions, tenants } from '../db/schema.js';
import type { Principal } from '../http/auth.js';
import { CurrencyService } from './currencies.js';

/** Tenants come into being with their first token: the row and default field definitions. */
export class TenantService {
  private readonly known = new Set<string>();
  /** Its base currency and rates (`GET`/`PUT /currency-rates`). */
  readonly currencies: CurrencyService;
  constructor(
    private readonly ctx: ServerContext,
    /** Settings and currency changes are recorded (`tenant.settings`, `tenant.currencies`). */
    private readonly audit: AuditLog,
  ) {
    this.currencies = new CurrencyService(ctx, audit);
  }

  async ensure(tenantId: string): Promise<void> {
    if (this.known.has(tenantId)) return;
    const { db } = this.ctx.database;
    await db.transaction(async (tx) => {
      const inserted = await tx
        .insert(tenants)
        .values({ id: tenantId })
        .onConflictDoNothing()
        .returning({ id: tenants.id });
      if (inserted.length) {
        const rows = FIELD_OBJECTS.flatMap((object) =>
          DEFAULT_CUSTOM_FIELDS[object].map((f) => ({
            tenantId,
            object,
            key: f.key,
            label: f.label,
            type: f.type,
            options: f.options ?? null,
            required: !!f.required,
          })),
        );
        await tx.insert(fieldDefinitions).values(rows).onConflictDoNothing();
      }
    });
    this.known.add(tenantId);
  }

  async settings(tenantId: string) {
    const [row] = await this.ctx.database.db
      .select({ settings: tenants.settings })
      .from(tenants)
      .where(eq(tenants.id, tenantId));
    return { deleteRequiresStatus: row?.settings.deleteRequiresStatus ?? ('enabled' as const) };
  }

  async updateSettings(p: Principal, settings: { deleteRequiresStatus: 'enabled' | 'disabled' | 'any' }) {
    await this.ctx.database.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ settings: tenants.settings })
        .from(tenants)
        .where(eq(tenants.id, p.tenantId))
        .for('update');
      await tx.update(tenants).set({ settings }).where(eq(tenants.id, p.tenantId));
      // As `settings()` reads them: an unset setting is its default.
      const before = { deleteRequiresStatus: row?.settings.deleteRequiresStatus ?? 'enabled' };
      const diff = diffOf(before, settings);
      if (Object.keys(diff).length)
        await this.audit.record(tx, p, { action: 'tenant.settings', targetType: 'tenant', targetId: p.tenantId, diff });
    });
    return settings;
  }
}
