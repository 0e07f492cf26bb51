import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a signed download link works. */
export const LINK_TTL_SECONDS = 300;

/**
 * Short-lived download links: `sig` is HMAC-SHA256 (hex) over `tenant|id|exp` with a key
 * derived from the server's secret, so a link works for that one file until `exp` (unix
 * seconds) without a token in the URL.
 */
export class LinkSigner {
  private readonly key: Buffer;

  constructor(secret: string | Uint8Array) {
    // A key of its own: a link signature can never double as anything signed with the secret itself.
    this.key = createHmac('sha256', secret).update('sales-process/file-links/v1').digest();
  }

  sign(tenantId: string, id: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${tenantId}|${id}|${exp}`).digest('hex');
  }

  /** Whether `sig` is this key's signature of `tenant|id|exp` and `exp` is still ahead of `nowSeconds`. */
  verify(tenantId: string, id: string, exp: number, sig: string, nowSeconds: number): boolean {
    if (!Number.isSafeInteger(exp) || exp <= nowSeconds || !/^[0-9a-f]{64}$/.test(sig)) return false;
    return timingSafeEqual(Buffer.from(this.sign(tenantId, id, exp), 'hex'), Buffer.from(sig, 'hex'));
  }
}
