import { createSecretKey } from 'node:crypto';
import { ROLES, type Role } from '@sales-process/core';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { ApiError } from './errors.js';

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
}

export type TokenVerifier = (token: string) => Promise<Principal>;

export function createVerifier(config: AuthConfig, now: () => Date): TokenVerifier {
  // A KeyObject once, rather than importing the raw secret on every request.
  const key = config.secret ? createSecretKey(Buffer.from(config.secret, 'utf8')) : null;
  const jwks = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : null;
  if (!key && !jwks) throw new Error('auth needs a secret or a JWKS URL');
  // Hosts reuse a token for many requests: remember verified ones (the signature is
  // checked once; expiry is checked against the clock on every use). Bounded.
  const verified = new Map<string, { principal: Principal; exp: number | undefined }>();
  const MAX_CACHED = 10_000;
  return async (token) => {
    const hit = verified.get(token);
    if (hit) {
      if (hit.exp === undefined || hit.exp * 1000 > now().getTime()) return hit.principal;
      verified.delete(token);
    }
    const principal = await verifyOnce(token);
    if (verified.size >= MAX_CACHED) verified.delete(verified.keys().next().value!);
    verified.set(token, principal);
    return principal.principal;
  };

  async function verifyOnce(token: string): Promise<{ principal: Principal; exp: number | undefined }> {
    let payload: JWTPayload;
    try {
      const options = { currentDate: now(), algorithms: key ? ['HS256'] : undefined };
      payload = key ? (await jwtVerify(token, key, options)).payload : (await jwtVerify(token, jwks!, { currentDate: now() })).payload;
    } catch (e) {
      const expired = (e as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new ApiError('UNAUTHENTICATED', [], expired ? { zh: '令牌已过期', en: 'The token has expired' } : { zh: '令牌无效', en: 'The token is not valid' });
    }
    const { sub, tenant, roles } = payload as JWTPayload & { tenant?: unknown; roles?: unknown };
    if (typeof sub !== 'string' || !sub || typeof tenant !== 'string' || !tenant)
      throw new ApiError('UNAUTHENTICATED', [], { zh: '令牌缺少 sub 或 tenant', en: 'The token lacks sub or tenant' });
    const list = Array.isArray(roles) ? roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r as string)) : [];
    const name = typeof payload.name === 'string' ? payload.name : undefined;
    return { principal: { tenantId: tenant, userId: sub, roles: new Set(list), name }, exp: payload.exp };
  }
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

/** The bearer token of a request: the Authorization header, or `?token=` (websockets). */
export function tokenFrom(header: string | undefined, query: string | undefined): string | null {
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return m ? m[1]! : null;
  }
  return query || null;
}

export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.some((r) => p.roles.has(r)))
    throw new ApiError('FORBIDDEN', [{ need: roles, message: { zh: `需要角色：${roles.join('/')}`, en: `Needs role: ${roles.join(' or ')}` } }]);
}
