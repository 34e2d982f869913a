/** Handing a link to the desktop's opener (`berth open --launch`, `berth preview --open`). */
import { spawn } from 'node:child_process';
import { BerthError } from '../api/index.js';

/** Hands the link to the desktop; returns the opener used. */
export async function launch(link: string): Promise<string> {
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
  throw new BerthError('FAILED_PRECONDITION', `Neither xdg-open nor open is available to launch the link; open it yourself: ${link}`, { field: 'launch' });
}
