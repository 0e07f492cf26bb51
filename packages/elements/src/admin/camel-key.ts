/**
 * A key made from an English name, as the admin elements make a new field's or option's:
 * "Budget range" → `budgetRange` (letters and digits, starting with a letter, at most 40
 * characters); '' when the name has no letter to start with.
 */
export function camelKey(name: string): string {
  const camel = name
    .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))
    .replace(/^[^A-Za-z]+/, '')
    .slice(0, 40);
  return camel.charAt(0).toLowerCase() + camel.slice(1);
}
