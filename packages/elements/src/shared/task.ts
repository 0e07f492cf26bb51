import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** What a task returns to go back to INITIAL (there is nothing to load). */
export const initialState: unique symbol = Symbol();

export const TaskStatus = { INITIAL: 0, PENDING: 1, COMPLETE: 2, ERROR: 3 } as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export interface TaskConfig<A extends readonly unknown[], R> {
  /** The arguments: a new run starts in the host's update when one of them changed. */
  args: () => A;
  task: (args: A, options: { signal: AbortSignal }) => R | typeof initialState | Promise<R | typeof initialState>;
  onComplete?: (value: R) => void;
  onError?: (error: unknown) => void;
}

/**
 * A load that follows its arguments: what the elements used of @lit/task (its `Task` with
 * `args`, `task`, `onComplete`, `onError`; `run`, `render`, `status`, `value`, `error`), with the
 * same behaviour, in the kit's `task` chunk at a third of @lit/task's size. It runs in the host's
 * update when `args()` differs from the last run's (item by item, as `Object.is`), aborts the run
 * it supersedes (its `signal`), ignores what a superseded run returns, and asks the host to
 * update when a run starts and ends.
 */
export class Task<A extends readonly unknown[], R> implements ReactiveController {
  status: TaskStatus = TaskStatus.INITIAL;
  /** What the last run returned (undefined after a failure). */
  value: R | undefined;
  /** Why the last run failed (undefined after a success). */
  error: unknown;
  readonly #host: ReactiveControllerHost;
  readonly #config: TaskConfig<A, R>;
  #args: A | undefined;
  #abort: AbortController | undefined;
  #runs = 0;

  constructor(host: ReactiveControllerHost, config: TaskConfig<A, R>) {
    this.#host = host;
    this.#config = config;
    host.addController(this);
  }

  hostUpdate(): void {
    const args = this.#config.args();
    const last = this.#args;
    if (!last || args.length !== last.length || args.some((a, i) => !Object.is(a, last[i]))) void this.run(args);
  }

  /** Runs the task now (with the current arguments unless given). */
  async run(args: A = this.#config.args()): Promise<void> {
    this.#args = args;
    if (this.status === TaskStatus.PENDING) this.#abort?.abort();
    this.status = TaskStatus.PENDING;
    this.#host.requestUpdate();
    const run = ++this.#runs;
    const abort = (this.#abort = new AbortController());
    let result: R | typeof initialState | undefined;
    let error: unknown;
    let failed = false;
    try {
      result = await this.#config.task(args, { signal: abort.signal });
    } catch (e) {
      failed = true;
      error = e;
    }
    if (run !== this.#runs) return;
    if (result === initialState) this.status = TaskStatus.INITIAL;
    else {
      try {
        if (failed) this.#config.onError?.(error);
        else this.#config.onComplete?.(result as R);
      } catch {
        // As @lit/task: a throwing callback does not change the outcome.
      }
      this.status = failed ? TaskStatus.ERROR : TaskStatus.COMPLETE;
      this.value = result as R | undefined;
      this.error = error;
    }
    this.#host.requestUpdate();
  }

  render<T>(renderer: {
    initial?: () => T;
    pending?: () => T;
    complete?: (value: R) => T;
    error?: (error: unknown) => T;
  }): T | undefined {
    const s = this.status;
    return s === TaskStatus.INITIAL
      ? renderer.initial?.()
      : s === TaskStatus.PENDING
        ? renderer.pending?.()
        : s === TaskStatus.COMPLETE
          ? renderer.complete?.(this.value as R)
          : renderer.error?.(this.error);
  }
}
