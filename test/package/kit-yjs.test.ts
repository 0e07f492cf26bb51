/**
 * The kit's Yjs reads Yjs's XML types as opaque types (packages/elements/vite.kit.config.ts,
 * `opaqueXmlTypes`): a doc that holds them must still decode, take edits beside them, and
 * encode to what stock Yjs reads back unchanged, also when their updates arrive out of order.
 * The edited yjs.mjs is loaded from a file beside the original, so it finds lib0 as Yjs does.
 */
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DRAFT_ROOT } from '@sales-process/core';
import { opaqueXmlTypes } from '../../packages/elements/vite.kit.config.js';
import { ROOT } from './pack.js';

const yjsDir = dirname(createRequire(join(ROOT, 'packages/elements/package.json')).resolve('yjs'));
const kitFile = join(yjsDir, `yjs.kit-test-${process.pid}.mjs`);
let KitY: typeof Y;

beforeAll(async () => {
  writeFileSync(kitFile, opaqueXmlTypes(readFileSync(join(yjsDir, 'yjs.mjs'), 'utf8')));
  KitY = await import(pathToFileURL(kitFile).href);
});

afterAll(() => rmSync(kitFile, { force: true }));

/** A stock doc with every XML type (attributes, children, formatted text, a hook) beside plain values. */
function stockDoc() {
  const doc = new Y.Doc();
  const root = doc.getMap(DRAFT_ROOT);
  doc.transact(() => {
    root.set('name', new Y.Text('流程'));
    const el = new Y.XmlElement('p');
    root.set('el', el);
    el.setAttribute('class', 'lead');
    const text = new Y.XmlText();
    el.insert(0, [text, new Y.XmlElement('br')]);
    text.insert(0, 'hello', { bold: true });
    const fragment = new Y.XmlFragment();
    root.set('fragment', fragment);
    fragment.insert(0, [new Y.XmlElement('span')]);
    const hook = new Y.XmlHook('mention');
    hook.set('user', 'u1');
    root.set('hook', hook);
  });
  doc.getXmlFragment('page').insert(0, [new Y.XmlElement('h1')]);
  return doc;
}

const xmlOf = (doc: Y.Doc) => {
  const root = doc.getMap(DRAFT_ROOT);
  return {
    el: root.get('el')?.toString(),
    fragment: root.get('fragment')?.toString(),
    hook: (root.get('hook') as Y.XmlHook | undefined)?.toJSON(),
    page: doc.getXmlFragment('page').toString(),
  };
};

describe("the kit's Yjs with opaque XML types", () => {
  it('reads XML types as opaque types, and has no XML getters left (so the bundle drops the classes)', () => {
    const kit = new KitY.Doc();
    KitY.applyUpdate(kit, Y.encodeStateAsUpdate(stockDoc()));
    const el = kit.getMap(DRAFT_ROOT).get('el');
    expect(el).toBeInstanceOf(KitY.AbstractType);
    expect(el).not.toBeInstanceOf(KitY.XmlElement);
    expect('getXmlElement' in kit || 'getXmlFragment' in kit).toBe(false);
  });

  it('decodes a doc with XML types, edits beside them and encodes them back unchanged', () => {
    const stock = stockDoc();
    const kit = new KitY.Doc();
    KitY.applyUpdate(kit, Y.encodeStateAsUpdate(stock));
    const root = kit.getMap(DRAFT_ROOT);
    expect((root.get('name') as Y.Text).toString()).toBe('流程');
    kit.transact(() => {
      root.set('rules', new KitY.Map([['allowReopen', true]]));
      (root.get('name') as Y.Text).insert(2, '一');
    });

    const back = new Y.Doc();
    Y.applyUpdate(back, KitY.encodeStateAsUpdate(kit));
    expect(xmlOf(back)).toEqual(xmlOf(stock));
    expect(xmlOf(back).el).toBe('<p class="lead"><bold>hello</bold><br></br></p>');
    expect((back.getMap(DRAFT_ROOT).get('name') as Y.Text).toString()).toBe('流程一');
    expect((back.getMap(DRAFT_ROOT).get('rules') as Y.Map<boolean>).toJSON()).toEqual({ allowReopen: true });
    // Both sides agree on the whole state.
    expect(Y.encodeStateVector(back)).toEqual(KitY.encodeStateVector(kit));
  });

  it('keeps XML content that arrives before its parent, and edits made inside it later', () => {
    const stock = stockDoc();
    const before = Y.encodeStateVector(stock);
    const el = stock.getMap(DRAFT_ROOT).get('el') as Y.XmlElement;
    el.insert(0, [new Y.XmlElement('img')]);
    el.setAttribute('id', 'x');
    const later = Y.encodeStateAsUpdate(stock, before);

    const kit = new KitY.Doc();
    // The edits inside the element come first: they wait (pending) for the element itself.
    KitY.applyUpdate(kit, later);
    KitY.applyUpdate(kit, Y.encodeStateAsUpdate(stock));
    const back = new Y.Doc();
    Y.applyUpdate(back, KitY.encodeStateAsUpdate(kit));
    expect(xmlOf(back)).toEqual(xmlOf(stock));
    expect(xmlOf(back).el).toContain('<img></img>');
  });

  it('sends its own edits as updates stock Yjs applies', () => {
    const stock = stockDoc();
    const kit = new KitY.Doc();
    KitY.applyUpdate(kit, Y.encodeStateAsUpdate(stock));
    const updates: Uint8Array[] = [];
    kit.on('update', (u: Uint8Array) => updates.push(u));
    kit.getMap(DRAFT_ROOT).delete('fragment');
    kit.getMap(DRAFT_ROOT).set('won', 100);
    for (const u of updates) Y.applyUpdate(stock, u);
    expect(stock.getMap(DRAFT_ROOT).has('fragment')).toBe(false);
    expect(stock.getMap(DRAFT_ROOT).get('won')).toBe(100);
    expect(xmlOf(stock).el).toBe('<p class="lead"><bold>hello</bold><br></br></p>');
  });
});
