// custom-elements.json from the elements' JSDoc (@summary @slot @event @csspart @cssproperty)
// and their Lit reactive properties (`static properties`); run by scripts/build.mjs on every build (`cem analyze --litelement`).

/**
 * The elements register through `export const define = (tag = 'default-tag') => defineElement(tag, Class)`
 * (never-throwing registration), which the analyzer does not recognise as `customElements.define`:
 * this reads the default tag from that pattern.
 */
function defineTagPlugin() {
  const found = new Map(); // module path -> [{ tag, className }]
  return {
    name: 'sales-process-define-tag',
    analyzePhase({ ts, node, moduleDoc }) {
      if (!ts.isVariableDeclaration(node) || node.name.getText() !== 'define') return;
      const fn = node.initializer;
      if (!fn || !ts.isArrowFunction(fn)) return;
      const init = fn.parameters[0]?.initializer;
      const call = fn.body;
      if (!init || !ts.isStringLiteral(init) || !ts.isCallExpression(call) || call.arguments.length < 2) return;
      const list = found.get(moduleDoc.path) ?? [];
      list.push({ tag: init.text, className: call.arguments[1].getText() });
      found.set(moduleDoc.path, list);
    },
    moduleLinkPhase({ moduleDoc }) {
      for (const { tag, className } of found.get(moduleDoc.path) ?? []) {
        const decl = moduleDoc.declarations?.find((d) => d.name === className);
        if (!decl) continue;
        decl.tagName = tag;
        decl.customElement = true;
        moduleDoc.exports ??= [];
        if (!moduleDoc.exports.some((e) => e.kind === 'custom-element-definition' && e.name === tag))
          moduleDoc.exports.push({
            kind: 'custom-element-definition',
            name: tag,
            declaration: { name: className, module: moduleDoc.path },
          });
      }
    },
  };
}

/**
 * Events: the analyzer names `dispatchEvent(new SpErrorEvent(…))` after its first argument (or not at all) and `@event sp-x`
 * JSDoc with no type. The event classes carry `static readonly type = 'sp-x'`, so this names
 * the first and types the second, then keeps one entry per event name.
 */
function eventTypesPlugin() {
  return {
    name: 'sales-process-event-types',
    packageLinkPhase({ customElementsManifest }) {
      const classOf = new Map(); // event name -> class name
      const nameOf = new Map(); // class name -> event name
      for (const mod of customElementsManifest.modules)
        for (const d of mod.declarations ?? []) {
          const type = d.kind === 'class' && d.members?.find((m) => m.static && m.name === 'type');
          const value = type?.default?.match(/^['"]([^'"]+)['"]$/)?.[1];
          if (value) {
            classOf.set(value, d.name);
            nameOf.set(d.name, value);
          }
        }
      for (const mod of customElementsManifest.modules)
        for (const d of mod.declarations ?? []) {
          if (!d.events) continue;
          const byName = new Map();
          for (const e of d.events) {
            // `new SpErrorEvent(x)` is named after its class's static type, not its first argument.
            const name = nameOf.get(e.type?.text) ?? e.name;
            if (!name) continue;
            const prev = byName.get(name) ?? {};
            const typeText = prev.type?.text ?? e.type?.text ?? classOf.get(name);
            byName.set(name, {
              ...prev,
              ...e,
              name,
              description: prev.description || e.description || undefined,
              ...(typeText ? { type: { text: typeText } } : {}),
            });
          }
          d.events = [...byName.values()].map((e) => {
            if (e.description === undefined) delete e.description;
            return e;
          });
        }
    },
  };
}

/**
 * The elements declare their reactive properties in `static properties`; the analyzer reads those,
 * but takes `{ state: true }` (internal state, never an attribute: Lit sets `attribute: false`
 * for it) for an attribute. This drops the attribute of every state (inherited ones too).
 */
function litStatePlugin() {
  const states = new Map(); // class name -> Set of state property names
  return {
    name: 'sales-process-lit-state',
    analyzePhase({ ts, node }) {
      if (!ts.isClassDeclaration(node) || !node.name) return;
      for (const member of node.members) {
        if (!ts.isPropertyDeclaration(member) || member.name.getText() !== 'properties') continue;
        if (!member.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword)) continue;
        const init = member.initializer;
        if (!init || !ts.isObjectLiteralExpression(init)) continue;
        const names = new Set();
        for (const prop of init.properties) {
          if (!ts.isPropertyAssignment(prop) || !ts.isObjectLiteralExpression(prop.initializer)) continue;
          const isState = prop.initializer.properties.some(
            (o) =>
              ts.isPropertyAssignment(o) &&
              o.name.getText() === 'state' &&
              o.initializer.kind === ts.SyntaxKind.TrueKeyword,
          );
          if (isState) names.add(prop.name.getText());
        }
        states.set(node.name.getText(), names);
      }
    },
    packageLinkPhase({ customElementsManifest }) {
      const isState = (owner, name) => states.get(owner)?.has(name) ?? false;
      for (const mod of customElementsManifest.modules)
        for (const d of mod.declarations ?? []) {
          if (d.kind !== 'class') continue;
          for (const m of d.members ?? [])
            if (m.kind === 'field' && isState(m.inheritedFrom?.name ?? d.name, m.name)) delete m.attribute;
          if (d.attributes) {
            d.attributes = d.attributes.filter((a) => !isState(a.inheritedFrom?.name ?? d.name, a.fieldName));
            if (!d.attributes.length) delete d.attributes;
          }
        }
    },
  };
}

/** Module paths as the package ships them (`dist/…js`), not the sources the analyzer read; modules in path order. */
function distPathsPlugin() {
  const fix = (value) => (typeof value === 'string' ? value.replace(/^\/?src\/(.*)\.ts$/, 'dist/$1.js') : value);
  const walk = (node) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'path' || key === 'module') && typeof value === 'string') node[key] = fix(value);
        else walk(value);
      }
  };
  return {
    name: 'sales-process-dist-paths',
    packageLinkPhase({ customElementsManifest }) {
      walk(customElementsManifest);
      // The analyzer lists modules in the order it finished them: sort, so a rebuild changes nothing.
      customElementsManifest.modules.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
  };
}

export default {
  globs: ['src/**/*.ts'],
  exclude: ['src/**/*.test.ts', 'src/testing/**', 'src/kit/**', 'src/react/**'],
  outdir: '.',
  litelement: true,
  dependencies: false,
  packagejson: false,
  plugins: [defineTagPlugin(), eventTypesPlugin(), litStatePlugin(), distPathsPlugin()],
};
