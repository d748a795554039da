// The one plain-text table renderer of the operator commands, and the few value formats
// their tables share (times, ages).

export interface TableOptions {
  /** Per column: numbers read best right-aligned. @default every column left */
  align?: readonly ('left' | 'right')[];
  /** Put before every line, e.g. two spaces under a heading. @default '' */
  indent?: string;
}

/** Columns two spaces apart with a header row; no trailing spaces. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string[] {
  const indent = options.indent ?? '';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent +
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        return options.align?.[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `2026-11-22 10:00:00Z` for a unix time in seconds. */
export function formatUnix(seconds: number): string {
  return new Date(seconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A short age: `45s`, `12m`, `3h 05m`, `2d 04h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, '0')}h`;
}
