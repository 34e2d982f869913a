/** Aligned plain-text tables for human output. */

/** Renders rows under headers with columns padded to their widest cell; no trailing spaces. */
export function renderTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, col) => Math.max(...all.map((row) => displayWidth(row[col] ?? ''))));
  const lines = all.map((row) =>
    headers
      .map((_, col) => {
        const cell = row[col] ?? '';
        return col === headers.length - 1 ? cell : cell + ' '.repeat(widths[col] - displayWidth(cell));
      })
      .join('   ')
      .trimEnd(),
  );
  return lines.join('\n') + '\n';
}

/** Renders `Label:  value` lines with the values aligned, for one resource. */
export function renderFields(fields: Array<[string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length + 1));
  return fields.map(([label, value]) => `${(label + ':').padEnd(width)}  ${value}`).join('\n') + '\n';
}

/** Width in terminal columns; counts code points, so ✓ and ✗ count as one. */
export function displayWidth(text: string): number {
  return [...text].length;
}
