import { describe, expect, it } from 'vitest';
import {
  checkFieldValue,
  isCalendarDate,
  isFileRef,
  isStorableText,
  repeatedAt,
  STORABLE_TEXT,
  UNSTORABLE_CHAR,
} from './field-values.js';

describe('field values', () => {
  it('stores text without NUL or unpaired surrogates, with a pattern that needs no flags', () => {
    for (const ok of ['', 'abc', '中文', '😀 and 😀', 'a\tb\nc']) expect(isStorableText(ok), ok).toBe(true);
    for (const bad of ['a\u0000b', 'a\ud800', '\udc00x', '😀'.slice(0, 1), `${'x'.repeat(10)}\u0000`])
      expect(isStorableText(bad), JSON.stringify(bad)).toBe(false);
    expect(STORABLE_TEXT.flags).toBe('');
    expect(isStorableText('😀'.repeat(300_000))).toBe(true);
  });

  it('UNSTORABLE_CHAR is the same rule: it finds a character exactly when STORABLE_TEXT refuses the text', () => {
    // Every string of up to 4 units over NUL, plain text, both surrogate halves and a BMP letter.
    const units = ['\u0000', 'a', '\ud83d', '\ude00', '中'];
    let strings = [''];
    for (let n = 0; n < 4; n++) {
      strings = [...strings, ...strings.flatMap((s) => units.map((u) => s + u))];
      strings = [...new Set(strings)];
    }
    for (const s of strings) expect(!UNSTORABLE_CHAR.test(s), JSON.stringify(s)).toBe(STORABLE_TEXT.test(s));
  });

  it('knows calendar days', () => {
    for (const ok of ['2024-02-29', '0001-01-01', '9999-12-31']) expect(isCalendarDate(ok), ok).toBe(true);
    for (const bad of [
      '2024-02-30',
      '2023-02-29',
      '2024-13-01',
      '2024-00-10',
      '0000-01-01',
      '2024-1-01',
      '20240101',
      '2024-02-29T00:00',
    ])
      expect(isCalendarDate(bad), bad).toBe(false);
    expect(checkFieldValue('date', '2023-02-29')).not.toBeNull();
  });

  it('takes a file value only in the shape an upload answers', () => {
    expect(isFileRef({ id: 'fil_1', name: 'a.txt', size: 3 })).toBe(true);
    expect(isFileRef({ id: 'fil_1', name: 'a.txt', size: 3, type: 'text/plain' })).toBe(true);
    for (const bad of [
      { id: 'fil_1', name: 'a.txt', size: 3, extra: 1 },
      { id: 'fil_1', name: 'a.txt', size: '3' },
      { id: 'fil_1', name: 'a.txt', size: 1.5 },
      { id: 'fil_1', name: 'a.txt', size: -1 },
      { id: '', name: 'a.txt', size: 3 },
      { id: 'fil_1', name: 'a\u0000.txt', size: 3 },
      { id: 'fil_1', name: 'x'.repeat(201), size: 3 },
      { id: 'fil_1', size: 3 },
      [{ id: 'fil_1', name: 'a', size: 3 }],
      'fil_1',
    ])
      expect(isFileRef(bad), JSON.stringify(bad).slice(0, 60)).toBe(false);
  });

  it('bounds every kind of value', () => {
    expect(checkFieldValue('text', 'a\u0000')).not.toBeNull();
    expect(checkFieldValue('currency', 9_999_999_999_999)).toBeNull();
    expect(checkFieldValue('currency', 1e13)).not.toBeNull();
    expect(checkFieldValue('number', 1e16)).not.toBeNull();
    expect(checkFieldValue('select', 'x'.repeat(65))).not.toBeNull();
    expect(
      checkFieldValue(
        'multiselect',
        Array.from({ length: 201 }, () => 'a'),
      ),
    ).not.toBeNull();
    expect(checkFieldValue('email', `${'a'.repeat(250)}@b.cn`)).not.toBeNull();
    expect(checkFieldValue('url', `https://a.cn/${'x'.repeat(2000)}`)).not.toBeNull();
    expect(checkFieldValue('datetime', `2024-01-01T00:00:00Z${' '.repeat(40)}`)).not.toBeNull();
  });

  it('finds repeats', () => {
    expect(repeatedAt(['a', 'b', 'a', 'c', 'b'], (x) => x)).toEqual([2, 4]);
  });
});
