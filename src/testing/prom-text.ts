/**
 * A small reader of the Prometheus text format, for tests that assert on the values a real
 * `/metrics` answered (prom-client writes the format but has no reader).
 */

/** One sample line: `name{label="value",...} value`. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/** Undoes the text format's escapes in a label value (\\, \", \n). */
function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** A sample value: a float, or +Inf, -Inf, NaN in any case (Prometheus reads them so; prom-client writes `Nan`). */
function parseValue(text: string): number {
  const t = text.toLowerCase();
  if (t === '+inf' || t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${text}`);
  return n;
}

/** Every sample in a text exposition; throws on a line that is not a comment, blank or a sample. */
export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < m[2].length) {
        const l = LABEL.exec(m[2]);
        if (!l) throw new Error(`bad labels in: ${line}`);
        labels[l[1]] = unescapeLabel(l[2]);
      }
    }
    out.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return out;
}

/** The samples named `name` whose labels include all of `labels`. */
export function samples(all: PromSample[], name: string, labels: Record<string, string> = {}): PromSample[] {
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` with exactly these labels (among others), or undefined when there is none. */
export function sampleValue(all: PromSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(all, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}; name more labels`);
  return found[0]?.value;
}
