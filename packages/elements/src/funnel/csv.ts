/** A CSV cell: numbers as they are (spreadsheets compute with them), text as written. */
export type CsvCell = string | number | null | undefined;

const cell = (v: CsvCell): string => {
  if (v == null) return '';
  if (typeof v === 'number') return String(v);
  // Text a spreadsheet would run as a formula (=, +, -, @) is written as text.
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * Rows as CSV that Excel opens correctly: a byte-order mark first (without one, Excel reads
 * UTF-8 as the system code page and Chinese comes out garbled), CRLF line ends, quoted fields.
 */
export const toCsv = (rows: readonly (readonly CsvCell[])[]): string =>
  `\uFEFF${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;

/** Saves `text` as a file named `name` (the browser's download). */
export function downloadCsv(name: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
