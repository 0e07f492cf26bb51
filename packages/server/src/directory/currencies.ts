/**
 * A tenant's currencies: its base currency (`tenants.base_currency`, CNY until an admin sets
 * another) and the rates an admin recorded (`currency_rates`: units of the base one unit of
 * each other currency is worth). Amounts keep the currency they were entered in; the funnel
 * and forecast convert them at the rates recorded when they are read (analytics/), and an
 * amount may only be in a currency the table can convert (docs/currencies.md).
 */
import { acceptedCurrencies, noRepeats, type CurrencyTable } from '@sales-process/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { mayReadAnalytics } from '../analytics/service.js';
import { diffOf, type AuditLog } from '../audit/service.js';
import type { ServerContext } from '../context.js';
import { rowsOf, type Db, type Tx } from '../db/open.js';
import { currencyRates, tenants } from '../db/schema.js';
import { requireRole, type Principal } from '../http/auth.js';
import { ApiError } from '../http/errors.js';

type Q = Db | Tx;

/** ISO 4217: three capital letters (CNY, USD, JPY). */
export const currencyCodeSchema = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code: three capital letters');

/** `PUT /currency-rates`: the whole table (what is left out goes), and optionally a new base currency. */
export const putCurrencyRatesSchema = z.object({
  baseCurrency: currencyCodeSchema.optional(),
  rates: z
    .array(
      z.object({
        currency: currencyCodeSchema,
        /** Units of the base currency one unit of `currency` is worth. */
        rate: z.number().positive().finite().max(1e9),
      }),
    )
    .max(300)
    .superRefine(noRepeats((r) => r.currency, 'currency', 'currency')),
});

export interface CurrencyRatesView {
  baseCurrency: string;
  rates: { currency: string; rate: number; updatedAt: string }[];
}

/** The tenant's base currency and recorded rates (the table core's `CurrencyConverter` takes). */
export async function currencyTable(q: Q, tenantId: string): Promise<CurrencyTable> {
  const view = await ratesView(q, tenantId);
  return { base: view.baseCurrency, rates: Object.fromEntries(view.rates.map((r) => [r.currency, r.rate])) };
}

async function ratesView(q: Q, tenantId: string): Promise<CurrencyRatesView> {
  const [tenant] = await q.select({ baseCurrency: tenants.baseCurrency }).from(tenants).where(eq(tenants.id, tenantId));
  const rows = await q
    .select({ currency: currencyRates.currency, rate: currencyRates.rate, updatedAt: currencyRates.updatedAt })
    .from(currencyRates)
    .where(eq(currencyRates.tenantId, tenantId))
    .orderBy(asc(currencyRates.currency));
  return {
    baseCurrency: tenant?.baseCurrency ?? 'CNY',
    rates: rows.map((r) => ({ currency: r.currency, rate: r.rate, updatedAt: r.updatedAt.toISOString() })),
  };
}

/** The refusal of an amount in `currency`: which currencies are accepted, and who adds one. */
export function currencyRefusal(table: CurrencyTable, currency: string, path = 'body.currency'): ApiError {
  const accepted = acceptedCurrencies(table);
  return new ApiError('VALIDATION_FAILED', [
    {
      path,
      code: 'CURRENCY_WITHOUT_RATE',
      currency,
      accepted,
      message: {
        zh: `货币 ${currency} 没有汇率，金额只能使用：${accepted.join('、')}（管理员可在汇率表中添加）`,
        en: `${currency} has no recorded rate; amounts may be in ${accepted.join(', ')} (admins add rates to the currency table)`,
      },
    },
  ]);
}

/**
 * Refuses (400 at `path`) an amount in a currency that is neither the tenant's base currency
 * nor in its rates table; answers the currency to store (the base one when none is given). Call it in the transaction that writes the amount: it holds the
 * tenant row (KEY SHARE, which the opportunity's foreign key takes anyway) until commit, so
 * a `PUT /currency-rates` that drops the rate waits for the write, and then sees it in use.
 */
export async function requireRatedCurrency(
  tx: Tx,
  tenantId: string,
  currency: string | undefined,
  path = 'body.currency',
): Promise<string> {
  const [tenant] = rowsOf<{ base_currency: string }>(
    await tx.execute(sql`select base_currency from tenants where id = ${tenantId} for key share`),
  );
  // No currency given: the tenant's base currency (always accepted).
  if (currency === undefined) return tenant?.base_currency ?? 'CNY';
  if (tenant?.base_currency === currency) return currency;
  // A statement of its own: it sees a rates change committed while the lock was awaited.
  const [rated] = await tx
    .select({ rate: currencyRates.rate })
    .from(currencyRates)
    .where(and(eq(currencyRates.tenantId, tenantId), eq(currencyRates.currency, currency)));
  if (rated) return currency;
  throw currencyRefusal(await currencyTable(tx, tenantId), currency, path);
}

export class CurrencyService {
  constructor(
    private readonly ctx: ServerContext,
    /** Changes are recorded (`tenant.currencies`). */
    private readonly audit: AuditLog,
  ) {}

  /** `GET /currency-rates`: for whoever reads the funnel, whose amounts these convert. */
  async get(p: Principal): Promise<CurrencyRatesView> {
    mayReadAnalytics(p);
    return ratesView(this.ctx.database.db, p.tenantId);
  }

  /**
   * `PUT /currency-rates` (admins): the table becomes `rates` (an unchanged rate keeps its
   * `updatedAt`), and the base currency `baseCurrency` when given. Afterwards every currency an
   * opportunity holds must still convert: a change that would leave one without a rate (a new
   * base, a dropped rate) is refused with one detail per such currency. Recorded in the audit
   * trail with what changed.
   */
  async replace(p: Principal, input: z.infer<typeof putCurrencyRatesSchema>): Promise<CurrencyRatesView> {
    requireRole(p, 'admin');
    await this.ctx.database.db.transaction(async (tx) => {
      // Creates and edits of amounts hold KEY SHARE on this row (requireRatedCurrency): they
      // finish first, and the currencies in use below include theirs.
      const [tenant] = rowsOf<{ base_currency: string }>(
        await tx.execute(sql`select base_currency from tenants where id = ${p.tenantId} for update`),
      );
      const oldBase = tenant?.base_currency ?? 'CNY';
      const base = input.baseCurrency ?? oldBase;
      const rates = new Map<string, number>();
      input.rates.forEach((r, i) => {
        if (r.currency !== base) rates.set(r.currency, r.rate);
        else if (r.rate !== 1)
          throw new ApiError('VALIDATION_FAILED', [
            {
              path: `body.rates.${i}.rate`,
              message: {
                zh: `${base} 是基准货币，汇率固定为 1`,
                en: `${base} is the base currency: its rate is 1`,
              },
            },
          ]);
      });
      // From the rollup (every opportunity is counted in it by currency): a few rows per
      // process, not a scan of the opportunities.
      const inUse = rowsOf<{ currency: string; n: number }>(
        await tx.execute(sql`select currency, sum(n)::int as n from funnel_cells where tenant_id = ${p.tenantId}
          group by currency having sum(n) <> 0 order by currency`),
      );
      const missing = inUse.filter((u) => u.currency !== base && !rates.has(u.currency));
      if (missing.length)
        throw new ApiError(
          'VALIDATION_FAILED',
          missing.map((m) => ({
            path: 'body.rates',
            code: 'RATE_REQUIRED',
            currency: m.currency,
            opportunities: m.n,
            message: {
              zh: `${m.n} 个商机的金额是 ${m.currency}，需要 ${m.currency} 对 ${base} 的汇率`,
              en: `${m.n} opportunities have amounts in ${m.currency}: a rate from ${m.currency} to ${base} is needed`,
            },
          })),
        );
      const before = await currencyTable(tx, p.tenantId);
      const now = this.ctx.clock.now();
      const gone = Object.keys(before.rates).filter((c) => !rates.has(c));
      if (gone.length)
        await tx.execute(
          sql`delete from currency_rates where tenant_id = ${p.tenantId} and currency in (${sql.join(
            gone.map((c) => sql`${c}`),
            sql`, `,
          )})`,
        );
      // A new base changes what every number means: each is recorded anew.
      const changed = [...rates].filter(([c, r]) => base !== oldBase || before.rates[c] !== r);
      if (changed.length)
        await tx
          .insert(currencyRates)
          .values(
            changed.map(([currency, rate]) => ({
              tenantId: p.tenantId,
              currency,
              rate,
              updatedAt: now,
              updatedBy: p.userId,
            })),
          )
          .onConflictDoUpdate({
            target: [currencyRates.tenantId, currencyRates.currency],
            set: { rate: sql`excluded.rate`, updatedAt: now, updatedBy: p.userId },
          });
      if (base !== oldBase) await tx.update(tenants).set({ baseCurrency: base }).where(eq(tenants.id, p.tenantId));
      const flat = (t: { base: string; rates: Readonly<Record<string, number>> }) => ({
        baseCurrency: t.base,
        ...Object.fromEntries(Object.entries(t.rates).map(([c, r]) => [`rates.${c}`, r])),
      });
      const diff = diffOf(flat(before), flat({ base, rates: Object.fromEntries(rates) }));
      if (Object.keys(diff).length)
        await this.audit.record(tx, p, {
          action: 'tenant.currencies',
          targetType: 'tenant',
          targetId: p.tenantId,
          diff,
        });
    });
    return ratesView(this.ctx.database.db, p.tenantId);
  }
}
