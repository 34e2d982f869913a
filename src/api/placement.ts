/**
 * Placement, labels, cordon and drain on the wire: node labels (keys and values bounded and
 * in a safe charset, like Kubernetes labels), placement constraints (`k=v`, `k!=v`), the
 * body of `node label` and `node drain`, and the detail `node show` prints.
 */
import { z } from 'zod';
import { BerthError } from './errors.js';

/** A label name: 1-63 characters, letters, digits, `-`, `_`, `.`, starting and ending alphanumeric (Kubernetes' "name" part). */
export const LABEL_NAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** An optional label prefix: a lowercase DNS subdomain of at most 253 characters, then `/`. */
const LABEL_PREFIX_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** Most labels one node may carry. */
export const MAX_LABELS = 64;
/** Most constraints one create may give. */
export const MAX_CONSTRAINTS = 32;

/** True when `key` is a valid label key: `[prefix/]name`. */
export function isLabelKey(key: string): boolean {
  if (key.length > 317) return false;
  const slash = key.indexOf('/');
  if (slash === -1) return LABEL_NAME_PATTERN.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && LABEL_PREFIX_PATTERN.test(prefix) && LABEL_NAME_PATTERN.test(key.slice(slash + 1));
}

/** A label key, e.g. `gpu` or `berth.dev/zone`. */
export const labelKeySchema = z
  .string()
  .max(317)
  .refine(
    isLabelKey,
    'use a label key of letters, digits, `-`, `_` and `.` (at most 63, starting and ending with a letter or digit), optionally after a DNS prefix and `/`',
  );
/** A label value: empty, or like a label name. */
export const labelValueSchema = z
  .string()
  .max(63)
  .refine(
    (v) => v === '' || LABEL_NAME_PATTERN.test(v),
    'use a label value of at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit',
  );
/** A node's labels. */
export const nodeLabelsSchema = z
  .record(labelKeySchema, labelValueSchema)
  .refine((r) => Object.keys(r).length <= MAX_LABELS, `a node carries at most ${MAX_LABELS} labels`);
export type NodeLabels = z.infer<typeof nodeLabelsSchema>;

/** One placement constraint: the node's label `key` must equal (`=`) or must not equal (`!=`) `value`. */
export interface Constraint {
  key: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `k=v` or `k!=v`; throws INVALID_ARGUMENT (field `constraints`) on anything else. */
export function parseConstraint(text: string): Constraint {
  const m = /^([^=!]+)(!=|=)(.*)$/s.exec(text);
  const shown = JSON.stringify(text.slice(0, 80));
  if (!m)
    throw new BerthError('INVALID_ARGUMENT', `Invalid constraint ${shown}: use KEY=VALUE or KEY!=VALUE, e.g. zone=eu or gpu!=none.`, { field: 'constraints' });
  const [, key, op, value] = m;
  if (!isLabelKey(key))
    throw new BerthError('INVALID_ARGUMENT', `Invalid constraint ${shown}: the key must be a label key (letters, digits, -, _ and ., at most 63).`, {
      field: 'constraints',
    });
  if (!labelValueSchema.safeParse(value).success)
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid constraint ${shown}: the value must be empty or at most 63 letters, digits, -, _ and ., starting and ending with a letter or digit.`,
      { field: 'constraints' },
    );
  return { key, op: op as '=' | '!=', value };
}

/** A constraint as it travels in a request body: the `k=v` / `k!=v` text. */
export const constraintSchema = z
  .string()
  .max(400)
  .superRefine((text, ctx) => {
    try {
      parseConstraint(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^Invalid constraint [^:]*: /, '').replace(/\.$/, '') });
    }
  });
/** The constraints of a create. */
export const constraintsSchema = z.array(constraintSchema).max(MAX_CONSTRAINTS, `give at most ${MAX_CONSTRAINTS} constraints`);

/** One `node label` argument: `k=v` sets, `k-` removes. */
export type LabelEdit = { set: true; key: string; value: string } | { set: false; key: string };

/** Parses `k=v` (set) or `k-` (remove); throws INVALID_ARGUMENT (field `labels`). */
export function parseLabelEdit(text: string): LabelEdit {
  const shown = JSON.stringify(text.slice(0, 80));
  if (text.endsWith('-') && !text.includes('=')) {
    const key = text.slice(0, -1);
    if (isLabelKey(key)) return { set: false, key };
    throw new BerthError('INVALID_ARGUMENT', `Invalid label ${shown}: to remove a label write KEY- with a valid label key.`, { field: 'labels' });
  }
  const eq = text.indexOf('=');
  if (eq === -1) throw new BerthError('INVALID_ARGUMENT', `Invalid label ${shown}: use KEY=VALUE to set a label or KEY- to remove one.`, { field: 'labels' });
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (!isLabelKey(key))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid label ${shown}: the key must be letters, digits, -, _ and . (at most 63, starting and ending with a letter or digit), optionally after a DNS prefix and /.`,
      { field: 'labels' },
    );
  if (!labelValueSchema.safeParse(value).success)
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid label ${shown}: the value must be empty or at most 63 letters, digits, -, _ and ., starting and ending with a letter or digit.`,
      { field: 'labels' },
    );
  return { set: true, key, value };
}

/** Body of POST /nodes/:name/labels: labels to set and keys to remove. */
export const nodeLabelsPostSchema = z.strictObject({
  set: z
    .record(labelKeySchema, labelValueSchema)
    .refine((r) => Object.keys(r).length <= MAX_LABELS, `set at most ${MAX_LABELS} labels`)
    .default({}),
  remove: z.array(labelKeySchema).max(MAX_LABELS, `remove at most ${MAX_LABELS} labels`).default([]),
});
export type NodeLabelsPost = z.input<typeof nodeLabelsPostSchema>;

/** Longest drain deadline: a week. */
export const MAX_DRAIN_DEADLINE_S = 7 * 86400;

/** Body of POST /nodes/:name/drain. */
export const nodeDrainPostSchema = z.strictObject({
  /** How long the workspaces may take to stop; default one hour. */
  deadlineSeconds: z.number().int().min(0).max(MAX_DRAIN_DEADLINE_S).default(3600),
  /** Past the deadline, stop what still runs forcibly instead of failing. */
  force: z.boolean().default(false),
});
export type NodeDrainPost = z.input<typeof nodeDrainPostSchema>;

/** How the scheduler picks among nodes that fit. */
export const placementStrategySchema = z.enum(['spread', 'binpack']);
export type PlacementStrategy = z.infer<typeof placementStrategySchema>;
