/**
 * The same designer inside a React application, through @lit/react's typed wrapper:
 * React owns the page, the element owns its editing.
 */
import { createComponent } from '@lit/react';
import { SalesProcessDesigner, SalesProcessProvider, type SpPublishEvent } from '@sales-process/elements';
import * as React from 'react';
import { createElement as h, useState } from 'react';
import { createRoot, type Root } from 'react-dom/client';

const Provider = createComponent({
  tagName: 'sales-process-provider',
  elementClass: SalesProcessProvider,
  react: React,
});
const Designer = createComponent({
  tagName: 'sales-process-designer',
  elementClass: SalesProcessDesigner,
  react: React,
  events: { onPublish: 'sp-publish' },
});

function App({ token, processId, userName }: { token: string; processId: string; userName: string }) {
  const [published, setPublished] = useState<string | null>(null);
  return h(
    'div',
    { className: 'react-host' },
    h('p', { className: 'muted' }, 'React host · ', published ?? '—'),
    h(
      Provider,
      { token } as never,
      h(Designer, {
        processId,
        userName,
        onPublish: (e: SpPublishEvent) => setPublished(`v${e.detail.version} (${e.detail.mode})`),
      } as never),
    ),
  );
}

let root: Root | null = null;
export function mountReactDesigner(
  container: HTMLElement,
  props: { token: string; processId: string; userName: string },
): void {
  root?.unmount();
  root = createRoot(container);
  root.render(h(App, props));
}
