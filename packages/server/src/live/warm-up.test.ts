import { describe, expect, it } from 'vitest';
import { testDatabases } from '../testing/harness.js';
import { warmDatabase, warmLiveEdits } from './warm-up.js';

describe('warming a fresh process', () => {
  it('runs edits the draft checker accepts, as a client would make them', () => {
    expect(warmLiveEdits(20)).toBeGreaterThan(0);
  });

  for (const kind of testDatabases())
    it(`opens the pool on ${kind.name}`, async () => {
      const database = await kind.open();
      try {
        expect(await warmDatabase(database, 4)).toBeGreaterThan(0);
      } finally {
        await database.close();
      }
    });
});
