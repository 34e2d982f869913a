/**
 * Where `berth node add` puts things on a node, and the small launcher that starts the agent
 * there. The launcher is a POSIX sh script so the node needs nothing but Node and a shell:
 * `run` runs the agent in the foreground (what a systemd unit starts), `supervise` restarts it
 * whenever it dies (the background process used where systemd does not run), `start`/`stop`
 * pick whichever the node uses, and `uninstall` removes every file berth put there.
 */
import { shellQuote } from '../../transport/index.js';

/** The agent bundle, its source map, the launcher and its settings. */
export const INSTALL_DIR = '/opt/berth';
/** The agent's state: its credential, workspace handles, and (without systemd) its log and pid file. */
export const STATE_DIR = '/var/lib/berth-agent';
export const BUNDLE_PATH = `${INSTALL_DIR}/berth-agent.mjs`;
export const LAUNCHER_PATH = `${INSTALL_DIR}/berth-agent-launcher`;
export const CONFIG_PATH = `${INSTALL_DIR}/agent.conf`;
/**
 * berth-in, the helper the agent copies into every workspace, and its version file: in native/
 * beside the bundle, the layout the agent looks for (src/agent/runtime/berth-in/locate.ts).
 */
export const BERTH_IN_PATH = `${INSTALL_DIR}/native/berth-in`;
export const JOIN_TOKEN_PATH = `${STATE_DIR}/join-token`;
export const LOG_PATH = `${STATE_DIR}/agent.log`;
export const PID_PATH = `${STATE_DIR}/supervisor.pid`;
export const UNIT_NAME = 'berth-agent.service';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
/** The crontab line that restarts the supervised agent after a reboot where systemd does not run. */
export const CRON_LINE = `@reboot ${LAUNCHER_PATH} start # berth-agent`;

/** The agent's settings, sourced by the launcher. */
export function agentConfig(o: { serverUrl: string; name: string }): string {
  return [
    '# Written by `berth node add`; rewritten on every upgrade.',
    `BERTH_SERVER=${shellQuote([o.serverUrl])}`,
    `BERTH_NODE_NAME=${shellQuote([o.name])}`,
    '',
  ].join('\n');
}

/** The systemd unit: the launcher's `run`, restarted whenever it exits, started at boot. */
export const SYSTEMD_UNIT = `[Unit]
Description=berth agent (installed by berth node add)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=${LAUNCHER_PATH} run
Restart=always
RestartSec=2
KillMode=mixed

[Install]
WantedBy=multi-user.target
`;

/** The launcher script (see the file comment). */
export const LAUNCHER_SCRIPT = `#!/bin/sh
# berth agent launcher, installed by \`berth node add\`. Usage: $0 run|supervise|start|stop|status|uninstall
set -u
. ${CONFIG_PATH}
# The SSH session that started us marks its processes so it can kill them; the agent outlives it.
unset BERTH_EXEC_ID
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
uses_systemd() { [ -f ${UNIT_PATH} ] && case "$(systemctl is-system-running 2>/dev/null)" in running|degraded|starting|initializing) true ;; *) false ;; esac; }
supervisor_pid() { p=$(cat ${PID_PATH} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"; }
case "\${1:-}" in
run)
  set -- agent --server "$BERTH_SERVER" --state-dir ${STATE_DIR} --name "$BERTH_NODE_NAME"
  [ -f ${JOIN_TOKEN_PATH} ] && set -- "$@" --join-token-file ${JOIN_TOKEN_PATH}
  # With a TLS server the token file holds the one-string token, whose CA fingerprint the
  # agent pins on the join; it keeps the CA in its state dir for every later start.
  exec node ${BUNDLE_PATH} "$@"
  ;;
supervise)
  # Restarts the agent whenever it exits, waiting longer after quick failures (at most 30 s).
  echo $$ > ${PID_PATH}
  child=
  trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; rm -f ${PID_PATH}; exit 0' TERM INT
  delay=1
  while :; do
    started=$(date +%s)
    "$0" run &
    child=$!
    wait "$child"
    echo "berth-agent exited with status $?; restarting in $delay s" >&2
    [ $(( $(date +%s) - started )) -gt 60 ] && delay=1
    sleep "$delay"
    delay=$(( delay * 2 )); [ "$delay" -gt 30 ] && delay=30
  done
  ;;
start)
  if uses_systemd; then systemctl daemon-reload && systemctl enable ${UNIT_NAME} >/dev/null 2>&1; systemctl restart ${UNIT_NAME}; exit $?; fi
  "$0" stop
  # One old log is kept: the supervised agent's log does not grow without end across restarts.
  if [ -f ${LOG_PATH} ] && [ "$(wc -c < ${LOG_PATH})" -gt 10485760 ]; then mv -f ${LOG_PATH} ${LOG_PATH}.1; fi
  setsid "$0" supervise </dev/null >>${LOG_PATH} 2>&1 &
  i=0; while [ $i -lt 50 ] && [ -z "$(supervisor_pid)" ]; do sleep 0.1; i=$((i + 1)); done
  [ -n "$(supervisor_pid)" ]
  ;;
stop)
  if uses_systemd; then systemctl stop ${UNIT_NAME} 2>/dev/null; exit 0; fi
  p=$(supervisor_pid) || exit 0
  # The supervisor leads its own process group (setsid): the group is it and the agent.
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p"
  i=0; while [ $i -lt 100 ] && kill -0 "$p" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  kill -KILL -- "-$p" 2>/dev/null; rm -f ${PID_PATH}
  ;;
status)
  if uses_systemd; then systemctl is-active ${UNIT_NAME}; exit $?; fi
  if supervisor_pid >/dev/null; then echo active; else echo inactive; exit 3; fi
  ;;
uninstall)
  "$0" stop
  if [ -f ${UNIT_PATH} ]; then systemctl disable ${UNIT_NAME} >/dev/null 2>&1; rm -f ${UNIT_PATH}; systemctl daemon-reload 2>/dev/null; fi
  if command -v crontab >/dev/null 2>&1; then crontab -l 2>/dev/null | grep -vF '# berth-agent' | crontab - 2>/dev/null; fi
  for d in ${STATE_DIR} ${INSTALL_DIR}; do [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; rmdir "$d" 2>/dev/null; done; exit 0
  ;;
*)
  echo "usage: $0 run|supervise|start|stop|status|uninstall" >&2; exit 2
  ;;
esac
`;
