/** How the dotfiles commands print a user's dotfiles. */
import { type Dotfiles, formatSize } from '../../api/index.js';

/** A few lines: where they come from, and what runs. */
export function formatDotfiles(d: Dotfiles): string {
  const from =
    d.source === 'repo'
      ? `git ${d.url}${d.ref ? ` (${d.ref})` : ''}`
      : `uploaded folder (${d.files} file${d.files === 1 ? '' : 's'}, ${formatSize(d.bytes ?? 0)})`;
  const install = d.install ? `sh ${d.install}` : 'install.sh, bootstrap.sh or setup.sh if present, else link dot-files into $HOME';
  return `Dotfiles: ${from}\nInstall:  ${install}\nUpdated:  ${d.updatedAt}\n`;
}
