import { featureRoutes, json, principalOf as P, route } from '../http/routes.js';
import { putCurrencyRatesSchema, type CurrencyService } from './currencies.js';

/** The tenant's base currency and rates (docs/currencies.md). */
export function currencyRoutes(s: { currencies: CurrencyService }) {
  const api = featureRoutes();
  api.openapi(
    route({
      method: 'get',
      path: '/currency-rates',
      tags: ['settings'],
      description:
        'The base currency the funnel and forecast are in, and the recorded rates: `{baseCurrency, rates: [{currency, rate, updatedAt}]}`, `rate` being units of the base currency one unit of `currency` is worth. For whoever reads the funnel (analysts, supervisors, admins).',
    }),
    async (c) => c.json(await s.currencies.get(P(c)), 200),
  );
  api.openapi(
    route({
      method: 'put',
      path: '/currency-rates',
      tags: ['settings'],
      description:
        "Replaces the rates table (a currency left out loses its rate) and, with `baseCurrency`, the base currency; the base's own rate is 1 and need not be listed. Admins. Every currency an opportunity's amount is in must still have a rate afterwards: otherwise 400 with one `RATE_REQUIRED` detail per such currency (`currency`, `opportunities`). Answers the table as `GET` does; recorded in the audit trail (`tenant.currencies`).",
      request: { body: json(putCurrencyRatesSchema) },
    }),
    async (c) => c.json(await s.currencies.replace(P(c), c.req.valid('json')), 200),
  );
  return api;
}
