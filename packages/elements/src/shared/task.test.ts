import { expect, fixture, html } from '@open-wc/testing';
import { LitElement } from 'lit';
import { until } from '../testing/network.js';
import { initialState, Task, TaskStatus } from './task.js';

/** A host whose task loads `key` (a promise the test settles), as the elements' loaders do. */
class TaskHost extends LitElement {
  static override properties = { key: {} };
  key = 'a';
  runs: {
    key: string;
    signal: AbortSignal;
    settle: (v: string | typeof initialState) => void;
    fail: (e: unknown) => void;
  }[] = [];
  completed: string[] = [];
  failed: unknown[] = [];
  readonly task = new Task(this, {
    args: () => [this.key] as const,
    task: ([key], { signal }) =>
      new Promise<string | typeof initialState>((settle, fail) => this.runs.push({ key, signal, settle, fail })),
    onComplete: (v) => this.completed.push(v),
    onError: (e) => this.failed.push(e),
  });
  override render() {
    return this.task.render({
      initial: () => 'initial',
      pending: () => 'pending',
      complete: (v) => `complete ${v}`,
      error: (e) => `error ${String(e)}`,
    });
  }
}
customElements.define('sp-task-host', TaskHost);

const text = (el: TaskHost) => el.shadowRoot!.textContent!.trim();

describe('Task (shared/task.ts, in place of @lit/task)', () => {
  it('runs in the host update, again only when an argument changed, and renders each state', async () => {
    const el = await fixture<TaskHost>(html`<sp-task-host></sp-task-host>`);
    expect(el.runs.map((r) => r.key)).to.deep.equal(['a']);
    expect(el.task.status).to.equal(TaskStatus.PENDING);
    expect(text(el)).to.equal('pending');
    el.runs[0]!.settle('A');
    await until(() => el.task.status === TaskStatus.COMPLETE, 1000, 'complete');
    await el.updateComplete;
    expect([el.task.value, el.completed, text(el)]).to.deep.equal(['A', ['A'], 'complete A']);
    el.requestUpdate();
    await el.updateComplete;
    expect(el.runs).to.have.length(1);
    el.key = 'b';
    await el.updateComplete;
    expect(el.runs.map((r) => r.key)).to.deep.equal(['a', 'b']);
  });

  it('aborts the run a newer one supersedes, and ignores what it returns', async () => {
    const el = await fixture<TaskHost>(html`<sp-task-host></sp-task-host>`);
    el.key = 'b';
    await el.updateComplete;
    const [first, second] = el.runs;
    expect([first!.signal.aborted, second!.signal.aborted]).to.deep.equal([true, false]);
    second!.settle('B');
    first!.settle('A');
    await until(() => el.task.status === TaskStatus.COMPLETE, 1000, 'complete');
    await new Promise((r) => setTimeout(r));
    expect([el.task.value, el.completed]).to.deep.equal(['B', ['B']]);
  });

  it('fails with onError and the error state (no value), runs again on run(), and goes back to initial', async () => {
    const el = await fixture<TaskHost>(html`<sp-task-host></sp-task-host>`);
    el.runs[0]!.fail('boom');
    await until(() => el.task.status === TaskStatus.ERROR, 1000, 'error');
    await el.updateComplete;
    expect([el.task.error, el.task.value, el.failed, text(el)]).to.deep.equal([
      'boom',
      undefined,
      ['boom'],
      'error boom',
    ]);
    const again = el.task.run();
    expect(el.runs).to.have.length(2);
    el.runs[1]!.settle(initialState);
    await again;
    await el.updateComplete;
    expect([el.task.status, text(el), el.completed]).to.deep.equal([TaskStatus.INITIAL, 'initial', []]);
  });
});
