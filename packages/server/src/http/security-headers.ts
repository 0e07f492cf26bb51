/**
 * The security headers every answer of ours shares, written once and spread by each place
 * that sets headers (API middleware in request-log.ts, demo pages in static.ts, raw-socket
 * answers in node.ts, the kit's files in kit.ts, downloads in files/routes.ts).
 */

/** Never sniff a body into another type. Every answer carries it, cross-origin kit files and downloads included. */
export const NOSNIFF = { 'x-content-type-options': 'nosniff' } as const;

/**
 * API answers, envelopes and demo pages: no sniffing and no `Referer` leaking ids from our URLs.
 * (The kit's files and downloads take only NOSNIFF: a Referrer-Policy on a module script would
 * change the referrer of the imports it makes.)
 */
export const SECURITY_HEADERS = { ...NOSNIFF, 'referrer-policy': 'no-referrer' } as const;
