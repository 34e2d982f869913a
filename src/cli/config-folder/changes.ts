/** How `config diff` and `config push` print changes: one line per resource, with the fields that differ. */
import type { ConfigChange } from '../../api/index.js';

const MARK = { added: '+', changed: '~', removed: '-' } as const;

/** `~ Node/pa: labels.zone, cordoned`, `+ WorkspaceTemplate/py`, `- UserQuota/bob`. */
export function formatChanges(changes: ConfigChange[]): string {
  return changes.map((c) => `${MARK[c.action]} ${c.kind}/${c.name} ${c.action}${c.fields.length ? `: ${c.fields.join(', ')}` : ''}\n`).join('');
}
