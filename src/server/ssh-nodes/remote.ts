/**
 * What `berth node add` does on the node, over a Transport (the SSH transport in the server):
 * check the host, put the agent's files in place (each written beside its target and renamed
 * over it, so a half-copied file is never run), hand over the join token in a 0600 file, start
 * the agent, read its log when it does not come up, and remove everything again.
 */
import { BerthError, type SshHostFacts } from '../../api/index.js';
import { shellQuote, type Transport } from '../../transport/index.js';
import { PROBE_SCRIPT, parseHostFacts } from './host-probe.js';
import {
  BERTH_IN_PATH,
  BUNDLE_PATH,
  CONFIG_PATH,
  CRON_LINE,
  INSTALL_DIR,
  JOIN_TOKEN_PATH,
  LAUNCHER_PATH,
  LAUNCHER_SCRIPT,
  LOG_PATH,
  STATE_DIR,
  SYSTEMD_UNIT,
  UNIT_NAME,
  UNIT_PATH,
} from './layout.js';

/** Runs a shell script as root on the node; a non-zero exit is INTERNAL with its stderr. */
async function sh(t: Transport, script: string, what: string, timeoutMs = 60_000): Promise<string> {
  const r = await t.run({ cmd: ['sh', '-c', script], timeoutMs });
  if (r.code !== 0) {
    throw new BerthError('INTERNAL', `Could not ${what} on ${t.description} (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-500) || 'no output'}.`);
  }
  return r.stdout;
}

/** Runs the host check. */
export async function probeHost(t: Transport): Promise<SshHostFacts> {
  return parseHostFacts(await sh(t, PROBE_SCRIPT, 'check the host', 30_000));
}

/** The files an install writes. */
export interface AgentFiles {
  bundle: Buffer;
  sourceMap: Buffer | null;
  /** berth-in and the line its `version` prints (dist/native/berth-in and .version). */
  berthIn: { binary: Buffer; version: string };
  config: string;
}

/** Writes `data` next to `path` and renames it into place. */
async function writeAtomic(t: Transport, path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.new`;
  await t.writeFile(tmp, data, mode);
  await sh(t, shellQuote(['mv', '-f', tmp, path]), `move ${path} into place`);
}

/** Puts the bundle, launcher, settings and (where systemd runs) the unit in place; an upgrade replaces them. */
export async function installFiles(t: Transport, files: AgentFiles, facts: Pick<SshHostFacts, 'systemd' | 'cron'>): Promise<void> {
  await sh(t, `mkdir -p ${INSTALL_DIR}/native && mkdir -p -m 700 ${STATE_DIR} && chmod 700 ${STATE_DIR}`, 'create the install directories');
  await writeAtomic(t, BUNDLE_PATH, files.bundle, 0o644);
  if (files.sourceMap) await writeAtomic(t, `${BUNDLE_PATH}.map`, files.sourceMap, 0o644);
  await writeAtomic(t, BERTH_IN_PATH, files.berthIn.binary, 0o755);
  await writeAtomic(t, `${BERTH_IN_PATH}.version`, `${files.berthIn.version}\n`, 0o644);
  await writeAtomic(t, CONFIG_PATH, files.config, 0o644);
  await writeAtomic(t, LAUNCHER_PATH, LAUNCHER_SCRIPT, 0o755);
  if (facts.systemd) {
    await writeAtomic(t, UNIT_PATH, SYSTEMD_UNIT, 0o644);
  } else if (facts.cron) {
    // Without systemd, cron's @reboot brings the supervisor back after a restart of the machine.
    await sh(t, `(crontab -l 2>/dev/null | grep -vF '# berth-agent'; echo ${shellQuote([CRON_LINE])}) | crontab -`, "add the @reboot entry to root's crontab");
  }
}

/** The files an upgrade replaces, whose previous versions it keeps until the new agent is online. */
const UPGRADED = [BUNDLE_PATH, `${BUNDLE_PATH}.map`, CONFIG_PATH, LAUNCHER_PATH, BERTH_IN_PATH, `${BERTH_IN_PATH}.version`];

/** Keeps a copy (`.prev`) of the installed files before an upgrade replaces them. */
export async function backupInstall(t: Transport): Promise<void> {
  await sh(t, `for f in ${UPGRADED.join(' ')}; do if [ -f "$f" ]; then cp -p "$f" "$f.prev"; fi; done`, 'keep the installed agent');
}

/** Puts the files kept by backupInstall back (a failed upgrade). */
export async function restoreInstall(t: Transport): Promise<void> {
  await sh(t, `for f in ${UPGRADED.join(' ')}; do if [ -f "$f.prev" ]; then mv -f "$f.prev" "$f"; fi; done`, 'put the previous agent back');
}

/** Drops the copies once the upgraded agent is online. */
export async function dropBackup(t: Transport): Promise<void> {
  await sh(t, `rm -f ${UPGRADED.map((f) => `${f}.prev`).join(' ')}`, 'remove the previous agent');
}

/** Writes the join token where the launcher passes it to the agent (never on a command line). */
export async function writeJoinToken(t: Transport, token: string): Promise<void> {
  await t.writeFile(JOIN_TOKEN_PATH, token + '\n', 0o600);
}

/** Starts (or restarts) the agent through the launcher. */
export async function startAgent(t: Transport): Promise<void> {
  await sh(t, `${LAUNCHER_PATH} start`, 'start the agent');
}

/** The last lines the agent wrote, for an error message; empty when there are none. */
export async function agentLogTail(t: Transport, systemd: boolean): Promise<string> {
  const cmd = systemd ? `journalctl -u ${UNIT_NAME} -n 20 --no-pager 2>/dev/null` : `tail -n 20 ${LOG_PATH} 2>/dev/null`;
  const r = await t.run({ cmd: ['sh', '-c', cmd], timeoutMs: 10_000 }).catch(() => null);
  return r?.stdout.trim() ?? '';
}

/**
 * Stops the agent and removes everything berth installed on the node: the service (unit or
 * supervisor and @reboot line), the bundle and launcher, and the agent's state. Works on a
 * half-finished install too, launcher or not.
 */
export async function uninstallAgent(t: Transport): Promise<void> {
  await sh(
    t,
    `if [ -x ${LAUNCHER_PATH} ] && [ -f ${CONFIG_PATH} ]; then ${LAUNCHER_PATH} uninstall; fi; ` +
      `if [ -f ${UNIT_PATH} ]; then systemctl disable --now ${UNIT_NAME} >/dev/null 2>&1; rm -f ${UNIT_PATH}; systemctl daemon-reload 2>/dev/null; fi; ` +
      `if command -v crontab >/dev/null 2>&1 && crontab -l 2>/dev/null | grep -qF '# berth-agent'; then crontab -l | grep -vF '# berth-agent' | crontab -; fi; ` +
      // Contents first, then the directory: either may be a mount point, which stays.
      `for d in ${STATE_DIR} ${INSTALL_DIR}; do [ -d "$d" ] || continue; find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; rmdir "$d" 2>/dev/null; [ -z "$(ls -A "$d" 2>/dev/null)" ] || { echo "could not empty $d" >&2; exit 1; }; done; exit 0`,
    'uninstall the agent',
  );
}
