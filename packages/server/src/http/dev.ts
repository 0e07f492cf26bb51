import { Hono } from 'hono';
import { devTokenSchema } from '@sales-process/core';
import { z } from 'zod';
import { AdjustableClock, type Clock } from '../context.js';
import { signToken } from './auth.js';
import type { AppEnv } from './env.js';
import { ApiError, validationError } from './errors.js';

/**
 * Dev mode's endpoints, mounted at `/api/v1` before authentication: `POST /dev/token`
 * (tokens for any user) and `GET/POST /dev/clock` (a movable clock). Absent (404) otherwise.
 */
export function devRoutes(deps: {
  authSecret: string;
  clock: Clock;
  /** Longest token life, seconds. */
  maxTokenTtl: number;
  /** Sends reminders that are due now; answers how many notifications it created. */
  tick: () => Promise<number>;
}) {
  const { authSecret, clock, maxTokenTtl } = deps;
  const dev = new Hono<AppEnv>();
  dev.post('/dev/token', async (c) => {
    const body = devTokenSchema.safeParse(await c.req.json().catch(() => null));
    if (!body.success) throw validationError(body.error);
    const token = await signToken(
      authSecret,
      body.data,
      clock.now(),
      Math.min(body.data.expiresIn ?? 12 * 3600, maxTokenTtl),
    );
    return c.json({ token });
  });
  dev.post('/dev/clock', async (c) => {
    const body = z
      .object({
        now: z.iso.datetime({ offset: true }).optional(),
        advanceDays: z.number().min(0).max(3650).optional(),
      })
      .safeParse(await c.req.json().catch(() => null));
    if (!body.success) throw validationError(body.error);
    if (!(clock instanceof AdjustableClock))
      throw new ApiError('CONFLICT', [{ message: { zh: '时钟不可调', en: 'This clock cannot be moved' } }]);
    if (body.data.now) clock.set(new Date(body.data.now));
    if (body.data.advanceDays) clock.advance(body.data.advanceDays * 86_400_000);
    // Show the effect at once: reminders that are now due go out.
    const created = await deps.tick();
    return c.json({ now: clock.now().toISOString(), notificationsCreated: created });
  });
  dev.get('/dev/clock', (c) => c.json({ now: clock.now().toISOString() }));
  return dev;
}
