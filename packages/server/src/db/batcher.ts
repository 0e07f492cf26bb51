/**
 * Group commit for a hot write: calls that arrive while `inFlight` runs are under way wait
 * and then go together, as one statement and one commit. Idle, a call waits only for the
 * current tick's other calls. Items with the same key are never in two runs at once (a run
 * changes each row at most once); the later one waits for the next run. When a run fails
 * as a whole, each of its items is run alone, so one bad item fails only its own caller.
 */
export class Batcher<I, O> {
  private gathering: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;
  private readonly busyKeys = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly keyOf: (item: I) => string,
    private readonly max = 64,
    private readonly inFlight = 4,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.gathering.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule() {
    if (this.running >= this.inFlight || this.scheduled || !this.gathering.length) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush() {
    if (this.running >= this.inFlight) return;
    const batch: typeof this.gathering = [];
    const keys: string[] = [];
    const later: typeof this.gathering = [];
    for (const g of this.gathering) {
      const key = this.keyOf(g.item);
      if (batch.length < this.max && !this.busyKeys.has(key)) {
        this.busyKeys.add(key);
        keys.push(key);
        batch.push(g);
      } else later.push(g);
    }
    this.gathering = later;
    if (!batch.length) return;
    this.running++;
    try {
      let results: O[];
      try {
        results = await this.run(batch.map((b) => b.item));
      } catch (error) {
        if (batch.length === 1) throw error;
        // Alone, each item gets its own result or its own error.
        await Promise.all(batch.map((b) => this.run([b.item]).then(([o]) => b.resolve(o!), b.reject)));
        return;
      }
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (error) {
      for (const b of batch) b.reject(error);
    } finally {
      this.running--;
      for (const k of keys) this.busyKeys.delete(k);
      this.schedule();
    }
  }
}
