import type { PropertyDeclaration, ReactiveElement } from 'lit';

/**
 * Lit's `@property` and `@state`, for the decorators the kit compiles (TypeScript's
 * experimental ones, on fields): what lit/decorators.js does on that path, without its code for
 * standard decorators, which every page of the one-script kit would otherwise load.
 */
export const property =
  (options?: PropertyDeclaration) =>
  // `any`: TypeScript wants a field decorator to return void or any.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (proto: object, name: PropertyKey): any => {
    const own = Object.hasOwn(proto, name);
    (proto.constructor as typeof ReactiveElement).createProperty(name, options);
    // An accessor keeps its own descriptor (as lit's legacy decorator returns it).
    return own ? Object.getOwnPropertyDescriptor(proto, name) : undefined;
  };

/** A reactive property that is not an attribute (internal state). */
export const state = (options?: { hasChanged?: (value: unknown, old: unknown) => boolean }) =>
  property({ ...options, state: true, attribute: false });
