import { createSecretKey } from 'node:crypto';
import { BEARER_SUBPROTOCOL_PREFIX, isStorableText, ROLES, type Role } from '@sales-process/core';
import type { Context, MiddlewareHandler } from 'hono';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { clientAddress, type AppEnv } from './env.js';
import { ApiError } from './errors.js';
import type { FailureThrottle } from './throttle.js';

export interface Principal {
  tenantId: string;
  userId: string;
  roles: ReadonlySet<Role>;
  name?: string;
}

export interface AuthConfig {
  /** HS256 secret. */
  secret?: string;
  /** Or a JWKS URL for asymmetric keys. */
  jwksUrl?: string;
  /** Longest accepted token life, `exp − (iat ?? now)`, in seconds (default 24 h). */
  maxTtlSeconds?: number;
}

export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 86_400;
/** How far the host's clock may run ahead of ours: `iat` this far in the future, and `exp − now` this far past the limit for a token without `iat`. */
export const TOKEN_CLOCK_LEEWAY_SECONDS = 60;

export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * Refusals of tokens whose signature verified (expired, living too long, lacking claims):
 * the host minted them, so they are no guess, and the failure throttle does not count them.
 */
const signedRefusals = new WeakSet<object>();
const signed = (e: ApiError) => {
  signedRefusals.add(e);
  return e;
};

/**
 * Whether an error is a token that failed verification (forged, malformed, wrongly signed):
 * what the per-address failure throttle counts and, over its limit, answers 429.
 */
export function isFailedVerification(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'UNAUTHENTICATED' && !signedRefusals.has(e);
}

export function createVerifier(config: AuthConfig, now: () => Date): TokenVerifier {
  // A KeyObject once, rather than importing the raw secret on every request.
  const key = config.secret ? createSecretKey(Buffer.from(config.secret, 'utf8')) : null;
  const jwks = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : null;
  if (!key && !jwks) throw new Error('auth needs a secret or a JWKS URL');
  // Hosts reuse a token for many requests: remember verified ones (the signature is
  // checked once; expiry is checked against the clock on every use). Bounded.
  // Only tokens that passed every check below (exp present, life within the limit) are kept.
  const verified = new Map<string, { principal: Principal; exp: number }>();
  const MAX_CACHED = 10_000;
  const maxTtl = config.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS;
  const live = (token: string) => {
    const hit = verified.get(token);
    if (!hit) return undefined;
    if (hit.exp * 1000 > now().getTime()) return hit;
    verified.delete(token);
    return undefined;
  };
  const verifier = async (token: string) => {
    const hit = live(token);
    if (hit) return hit.principal;
    const principal = await verifyOnce(token);
    if (verified.size >= MAX_CACHED) verified.delete(verified.keys().next().value!);
    verified.set(token, principal);
    return principal.principal;
  };
  return verifier;

  async function verifyOnce(token: string): Promise<{ principal: Principal; exp: number }> {
    let payload: JWTPayload;
    try {
      const options = { currentDate: now(), algorithms: key ? ['HS256'] : undefined };
      payload = key
        ? (await jwtVerify(token, key, options)).payload
        : (await jwtVerify(token, jwks!, { currentDate: now() })).payload;
    } catch (e) {
      // The key set could not be had (JWKS endpoint down, slow or broken): the server's
      // trouble, not the token's. 503, so clients retry and the failure throttle counts nothing.
      if (jwks && !key && keySetUnavailable(e))
        throw new ApiError('UNAVAILABLE', [
          {
            message: {
              zh: '暂时无法获取验证令牌的公钥（AUTH_JWKS_URL）',
              en: 'The keys that verify tokens (AUTH_JWKS_URL) cannot be fetched right now',
            },
          },
        ]).withRetryAfter(5);
      const code = (e as { code?: string }).code;
      const expired = code === 'ERR_JWT_EXPIRED';
      const error = new ApiError(
        'UNAUTHENTICATED',
        [],
        expired ? { zh: '令牌已过期', en: 'The token has expired' } : { zh: '令牌无效', en: 'The token is not valid' },
      );
      // jose checks the claims only once the signature holds.
      throw expired || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? signed(error) : error;
    }
    // A token without an end, or one minted to live for days, is a stolen-token risk the
    // host cannot take back: refuse both (API.md: AUTH_MAX_TOKEN_TTL).
    const { exp, iat } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp))
      throw signed(
        new ApiError('UNAUTHENTICATED', [], {
          zh: '令牌缺少过期时间（exp）',
          en: 'The token has no expiry time (exp)',
        }),
      );
    // The life is `exp − iat`, and `iat` is the client's word: it may not lie in the future
    // (beyond clock skew) nor at or after `exp`, so the life is never longer than it says.
    // Without `iat` the life is counted from now.
    const nowS = now().getTime() / 1000;
    if (
      iat !== undefined &&
      (typeof iat !== 'number' || !Number.isFinite(iat) || iat > nowS + TOKEN_CLOCK_LEEWAY_SECONDS || exp <= iat)
    )
      throw signed(
        new ApiError(
          'UNAUTHENTICATED',
          [
            {
              path: 'iat',
              message: {
                zh: '签发时间（iat）不能晚于现在或过期时间',
                en: 'The issue time (iat) may not be in the future or at or after exp',
              },
            },
          ],
          {
            zh: '令牌的签发时间（iat）无效',
            en: "The token's issue time (iat) is not valid",
          },
        ),
      );
    if (iat !== undefined ? exp - iat > maxTtl : exp - nowS > maxTtl + TOKEN_CLOCK_LEEWAY_SECONDS)
      throw signed(
        new ApiError(
          'UNAUTHENTICATED',
          [
            {
              maxTtlSeconds: maxTtl,
              message: { zh: `令牌有效期不得超过 ${maxTtl} 秒`, en: `A token may live at most ${maxTtl} s` },
            },
          ],
          {
            zh: `令牌有效期过长（上限 ${maxTtl} 秒，AUTH_MAX_TOKEN_TTL）`,
            en: `The token lives too long (at most ${maxTtl} s, AUTH_MAX_TOKEN_TTL)`,
          },
        ),
      );
    const { sub, tenant, roles } = payload as JWTPayload & { tenant?: unknown; roles?: unknown };
    if (typeof sub !== 'string' || !sub || typeof tenant !== 'string' || !tenant)
      throw signed(
        new ApiError('UNAUTHENTICATED', [], { zh: '令牌缺少 sub 或 tenant', en: 'The token lacks sub or tenant' }),
      );
    // They become keys of stored rows: a NUL (or unpaired surrogate) cannot be stored.
    if (!isStorableText(sub) || !isStorableText(tenant))
      throw signed(
        new ApiError('UNAUTHENTICATED', [], {
          zh: '令牌的 sub 或 tenant 含有不允许的字符',
          en: "The token's sub or tenant contains a character that is not allowed",
        }),
      );
    const list = Array.isArray(roles)
      ? roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r as string))
      : [];
    const name = typeof payload.name === 'string' && isStorableText(payload.name) ? payload.name : undefined;
    return { principal: { tenantId: tenant, userId: sub, roles: new Set(list), name }, exp };
  }
}

/** jose errors that are about fetching the key set rather than about the token. */
function keySetUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') return true;
  // fetch() itself failing (refused, reset, DNS) is no JOSEError at all.
  return !(typeof code === 'string' && code.startsWith('ERR_J'));
}

export async function signToken(
  secret: string,
  claims: { sub: string; tenant: string; roles: readonly string[]; name?: string },
  now: Date,
  expiresInSeconds = 12 * 3600,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ tenant: claims.tenant, roles: [...claims.roles], ...(claims.name ? { name: claims.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** The token of a REST request: `Authorization: Bearer <JWT>` only (API.md). */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1]! : null;
}

/**
 * The token of a websocket upgrade: a `Sec-WebSocket-Protocol` entry `bearer.<jwt>` (the
 * kit's client; keeps tokens out of URLs), else `?token=` (stock y-websocket clients),
 * else the Authorization header (Node clients).
 */
export function websocketToken(
  protocols: string | undefined,
  query: string | undefined,
  authorization: string | undefined,
): string | null {
  for (const entry of protocols?.split(',') ?? []) {
    const p = entry.trim();
    if (p.startsWith(BEARER_SUBPROTOCOL_PREFIX) && p.length > BEARER_SUBPROTOCOL_PREFIX.length)
      return p.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  }
  if (query) return query;
  return bearerToken(authorization);
}

export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.some((r) => p.roles.has(r)))
    throw new ApiError('FORBIDDEN', [
      { need: roles, message: { zh: `需要角色：${roles.join('/')}`, en: `Needs role: ${roles.join(' or ')}` } },
    ]);
}

/** A request's token checked once: verified, throttled per address, its tenant provisioned. */
export type Authenticate = (c: Context<AppEnv>, token: string) => Promise<Principal>;

/**
 * Token authentication, written once for REST and the websocket upgrade: verifies the token
 * (addresses that keep sending tokens that fail get 429 for them, http/throttle.ts) and
 * makes sure the principal's tenant exists.
 */
export function tokenAuthenticator(deps: {
  verify: TokenVerifier;
  throttle: FailureThrottle | null;
  ensureTenant: (tenantId: string) => Promise<unknown>;
}): Authenticate {
  const { verify, throttle, ensureTenant } = deps;
  return async (c, token) => {
    const principal = await (throttle
      ? throttle.guard(clientAddress(c), () => verify(token), isFailedVerification)
      : verify(token));
    await ensureTenant(principal.tenantId);
    return principal;
  };
}

/**
 * The REST guard: every request needs `Authorization: Bearer <JWT>` (sets `principal`),
 * except those `skip` lets through (a signed download link carries its own proof).
 */
export function bearerAuth(
  authenticate: Authenticate,
  skip: (c: Context<AppEnv>) => boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (skip(c)) return next();
    const token = bearerToken(c.req.header('authorization'));
    if (!token) {
      const hint = c.req.query('token') !== undefined;
      throw new ApiError(
        'UNAUTHENTICATED',
        [],
        hint
          ? {
              zh: '令牌须放在 Authorization 请求头中（?token= 只用于 WebSocket）',
              en: 'Send the token in the Authorization header (?token= is for websockets only)',
            }
          : { zh: '缺少令牌', en: 'No bearer token' },
      );
    }
    c.set('principal', await authenticate(c, token));
    await next();
  };
}
