// What every test host records: the kit's events as the host receives them, and how often
// the kit asked the host's backend for a token. Read by the embedding tests as `window.probe`.
export const params = new URLSearchParams(location.search);
export const KIT = params.get('kit') ?? '';
export const PROCESS = params.get('process') ?? '';
export const OPPORTUNITY = params.get('opportunity') ?? '';

export const probe = { events: [], tokenCalls: {} };
globalThis.probe = probe;
for (const type of ['sp-stage-changed', 'sp-transition-refused', 'sp-error'])
  document.addEventListener(type, (e) =>
    probe.events.push({ type, detail: JSON.parse(JSON.stringify(e.detail ?? null)) }),
  );

/** A host's token provider: its own backend mints a short-lived token for the signed-in user. */
export function tokenProvider(user) {
  return async () => {
    probe.tokenCalls[user] = (probe.tokenCalls[user] ?? 0) + 1;
    const res = await fetch(`/token?user=${encodeURIComponent(user)}`);
    if (!res.ok) throw new Error(`token: ${res.status}`);
    return res.text();
  };
}
