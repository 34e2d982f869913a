/**
 * Durations as compose writes them in health checks (`1m30s`, `500ms`, `1.5s`, `2h`): one or
 * more number-unit pairs, largest unit first, as Go's time.ParseDuration reads them. A plain
 * number is refused: compose's own docs say durations carry units, and `30` would otherwise
 * mean seconds to one reader and nanoseconds to another.
 */
import { z } from 'zod';

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 } as const;
const PAIR = /(\d+(?:\.\d+)?)(h|ms|m|s|us)/y;
/** The longest duration a spec may give (a day): anything longer is a typo, not a health check. */
export const MAX_SPEC_DURATION_MS = 86_400_000;

/** Parses `1m30s`-style durations into milliseconds; undefined when malformed or out of range. */
export function parseComposeDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 32) return undefined;
  let total = 0;
  PAIR.lastIndex = 0;
  let last = Infinity;
  while (PAIR.lastIndex < text.length) {
    const start = PAIR.lastIndex;
    const m = PAIR.exec(text);
    if (!m || m.index !== start) return undefined;
    const unit = UNIT_MS[m[2] as keyof typeof UNIT_MS];
    // Units may not repeat or grow (`5s1m`): that is a typo, not a duration.
    if (unit >= last) return undefined;
    last = unit;
    total += Number(m[1]) * unit;
  }
  return total <= MAX_SPEC_DURATION_MS ? Math.round(total) : undefined;
}

/** A compose-style duration on the wire: the text as written, checked here, converted where used. */
export const specDurationSchema = z
  .string()
  .max(32, 'use a duration such as 30s, 1m30s or 500ms')
  .refine((s) => parseComposeDuration(s) !== undefined, { message: 'use a duration such as 30s, 1m30s or 500ms (units h, m, s, ms, us; at most 24h)' });
