import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentOpenApi, renderRestReference, REST_REFERENCE } from './rest-docs.js';

describe('the REST reference in docs/', () => {
  it('is what the OpenAPI document says today (run `pnpm docs:api` after changing an endpoint)', async () => {
    const doc = await currentOpenApi();
    const written = readFileSync(REST_REFERENCE, 'utf8');
    expect(written).toBe(renderRestReference(doc));
    // Every operation has its heading.
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(operations.length).toBeGreaterThan(30);
    for (const op of operations) expect(written).toContain(`### \`${op}\``);
  });
});
