/** Handing a link to the desktop's opener (`berth open --launch`, `berth preview --open`, `berth ui --open`). */
import { spawn } from 'node:child_process';
import { BerthError } from '../api/index.js';

/** Hands the link to the desktop; returns the opener used. `field` names the flag that asked for it, for the error. */
export async function launch(link: string, field = 'launch'): Promise<string> {
  for (const opener of ['xdg-open', 'open']) {
    const started = await new Promise<boolean>((resolve) => {
      const child = spawn(opener, [link], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    });
    if (started) return opener;
  }
  throw new BerthError('FAILED_PRECONDITION', `Neither xdg-open nor open is available to open the link; open it yourself: ${link}`, { field });
}
