/**
 * The period as months (YYYY-MM), when it starts and ends on month boundaries: the rollups
 * are kept per month, so such a period reads them; any other goes to the rows.
 */
export function wholeMonths(q: { from?: string; to?: string }): { from?: string; to?: string } | null {
  const from = q.from && (q.from.endsWith('-01') ? q.from.slice(0, 7) : null);
  if (from === null) return null;
  if (!q.to) return { from };
  const next = new Date(`${q.to}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.getUTCDate() === 1 ? { from, to: q.to.slice(0, 7) } : null;
}
