// Generated from package.json by scripts/build.mjs; test/package/manifest.test.ts checks it.
export const KIT_VERSION = '0.2.0';
