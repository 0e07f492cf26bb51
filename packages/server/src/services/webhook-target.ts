import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { ApiError } from '../http/errors.js';

/** What a webhook may point at. */
export interface TargetPolicy {
  /** `http:` besides `https:` (default: only when private targets are allowed). */
  allowHttp: boolean;
  /** Loopback, private, link-local, CGNAT, … addresses (tests and local setups). */
  allowPrivate: boolean;
}

/** A webhook target refused at delivery: recorded on the delivery, never connected to. */
export class TargetRefused extends Error {}

/**
 * Whether an address is an ordinary public unicast one. Everything ipaddr.js classes as
 * anything else is refused: unspecified, loopback, private, link-local, carrier-grade NAT,
 * multicast, broadcast, benchmarking, reserved, unique-local, and the IPv6 forms that embed
 * an IPv4 address (mapped, NAT64, 6to4, Teredo), whose IPv4 part could be any of those.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

/** A host name as URL gives it, without the brackets of an IPv6 literal. */
const bare = (hostname: string) => (hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname);

/**
 * Checks a webhook URL when it is configured: `https:` (or `http:` when allowed), no
 * credentials, and no literal address that is not public. Names are resolved only at
 * delivery time (they may change), by `resolveTarget`. 400 at `body.url` otherwise.
 */
export function checkWebhookUrl(raw: string, policy: TargetPolicy): URL {
  const refuse = (zh: string, en: string) => new ApiError('VALIDATION_FAILED', [{ path: 'body.url', message: { zh, en } }]);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('不是合法的 URL', 'Not a valid URL');
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && policy.allowHttp)))
    throw refuse(policy.allowHttp ? '只支持 https: 或 http: 地址' : '只支持 https: 地址', policy.allowHttp ? 'Only https: and http: URLs' : 'Only https: URLs');
  if (url.username || url.password) throw refuse('URL 中不能包含用户名或密码', 'The URL may not carry credentials');
  const host = bare(url.hostname);
  if (!host) throw refuse('缺少主机名', 'The URL has no host');
  if (!policy.allowPrivate && (ipaddr.isValid(host) || /^\d+$/.test(host)) && !isPublicAddress(host))
    throw refuse('不能指向内网、本机或保留地址', 'The URL may not point at a loopback, private or reserved address');
  if (!policy.allowPrivate && /(^|\.)localhost\.?$/i.test(host)) throw refuse('不能指向本机', 'The URL may not point at this machine');
  return url;
}

/**
 * Resolves the target's host now and vets every address it has; the caller connects to the
 * returned address (no second lookup an attacker's DNS could answer differently).
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<{ address: string; family: 4 | 6 }> {
  const host = bare(url.hostname);
  const addresses = ipaddr.isValid(host) ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 }] : await lookup(host, { all: true, verbatim: true });
  if (!addresses.length) throw new Error(`no address for ${host}`);
  if (!policy.allowPrivate) {
    const inside = addresses.find((a) => !isPublicAddress(a.address));
    if (inside) throw new TargetRefused(`refused: ${host} resolves to a non-public address`);
  }
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
