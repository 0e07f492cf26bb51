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
 * multicast, broadcast, benchmarking, reserved, unique-local. The IPv6 forms that embed an
 * IPv4 address are judged by that address (a host's stack or a router may deliver them to
 * it): mapped (::ffff:0:0/96) and translated (::ffff:0:0:0/96), NAT64 (64:ff9b::/96, the
 * form DNS64 gives public names on IPv6-only networks), 6to4 (2002::/16) and Teredo
 * (2001::/32: its server and its client). The deprecated IPv4-compatible range ::/96
 * (`::127.0.0.1`, which ipaddr.js classes as unicast) and local-use NAT64 (64:ff9b:1::/48)
 * are refused outright.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() === 'unicast';
  // ipaddr.js reads `::a.b.c.d` as mapped (::ffff:a.b.c.d): take the 16 bits as WHATWG URL
  // (and so the delivery's connection) reads them.
  const v6 = address.includes('.')
    ? ipaddr.IPv6.parse(new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1))
    : (parsed as ipaddr.IPv6);
  const p = v6.parts;
  const v4 = (hi: number, lo: number) => ipaddr.IPv4.parse(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  const zero = (from: number, to: number) => p.slice(from, to).every((x) => x === 0);
  const publicV4 = (a: ipaddr.IPv4) => a.range() === 'unicast';
  if (zero(0, 6)) return false; // ::/96: unspecified, loopback, IPv4-compatible
  if (zero(0, 5) && p[5] === 0xffff) return publicV4(v4(p[6]!, p[7]!)); // mapped
  if (zero(0, 4) && p[4] === 0xffff && p[5] === 0) return publicV4(v4(p[6]!, p[7]!)); // translated (RFC 6145)
  if (p[0] === 0x64 && p[1] === 0xff9b) return zero(2, 6) && publicV4(v4(p[6]!, p[7]!)); // NAT64; 64:ff9b:1::/48 is local
  if (p[0] === 0x2002) return publicV4(v4(p[1]!, p[2]!)); // 6to4
  if (p[0] === 0x2001 && p[1] === 0)
    return publicV4(v4(p[2]!, p[3]!)) && publicV4(v4(~p[6]! & 0xffff, ~p[7]! & 0xffff)); // Teredo: server, client (inverted)
  return v6.range() === 'unicast';
}

/** A host name as URL gives it, without the brackets of an IPv6 literal. */
const bare = (hostname: string) =>
  hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;

/**
 * Checks a webhook URL when it is configured: `https:` (or `http:` when allowed), no
 * credentials, and no literal address that is not public. Names are resolved only at
 * delivery time (they may change), by `resolveTarget`. 400 at `body.url` otherwise.
 */
export function checkWebhookUrl(raw: string, policy: TargetPolicy): URL {
  const refuse = (zh: string, en: string) =>
    new ApiError('VALIDATION_FAILED', [{ path: 'body.url', message: { zh, en } }]);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('不是合法的 URL', 'Not a valid URL');
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && policy.allowHttp)))
    throw refuse(
      policy.allowHttp ? '只支持 https: 或 http: 地址' : '只支持 https: 地址',
      policy.allowHttp ? 'Only https: and http: URLs' : 'Only https: URLs',
    );
  if (url.username || url.password) throw refuse('URL 中不能包含用户名或密码', 'The URL may not carry credentials');
  const host = bare(url.hostname);
  if (!host) throw refuse('缺少主机名', 'The URL has no host');
  if (!policy.allowPrivate && (ipaddr.isValid(host) || /^\d+$/.test(host)) && !isPublicAddress(host))
    throw refuse('不能指向内网、本机或保留地址', 'The URL may not point at a loopback, private or reserved address');
  if (!policy.allowPrivate && /(^|\.)localhost\.?$/i.test(host))
    throw refuse('不能指向本机', 'The URL may not point at this machine');
  return url;
}

/**
 * Resolves the target's host now and vets every address it has; the caller connects to the
 * returned address (no second lookup an attacker's DNS could answer differently).
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<{ address: string; family: 4 | 6 }> {
  const host = bare(url.hostname);
  const addresses = ipaddr.isValid(host)
    ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 }]
    : await lookup(host, { all: true, verbatim: true });
  if (!addresses.length) throw new Error(`no address for ${host}`);
  if (!policy.allowPrivate) {
    const inside = addresses.find((a) => !isPublicAddress(a.address));
    if (inside) throw new TargetRefused(`refused: ${host} resolves to a non-public address`);
  }
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
