/**
 * The berth command tree on one commander program. Each command lives in its own module and
 * is imported only when the arguments name it, so `berth ws ls` loads the code of `ws ls`
 * and not the server's, the agent's or the SSH key tools. Help, unknown commands and a bare
 * `berth` load every command, so their output lists them all.
 */
import { Command } from 'commander';
import { BERTH_VERSION } from '../api/version.js';
import type { CliContext } from './context.js';

/** A command module's registration function. */
type Register = (parent: Command, ctx: CliContext) => void;

/** One command (or a command family such as `ssh-key`) and how to load its module. */
interface Entry {
  /** The words that select it: its name and aliases. */
  names: string[];
  load: () => Promise<Register>;
}

/** A command group (`ws`, `node`, `image`) whose subcommands are entries of their own. */
interface Group {
  name: string;
  alias?: string;
  description: string;
  commands: Entry[];
}

// In the order `berth --help` lists them.
const TOP: Array<Entry | Group> = [
  { names: ['server'], load: async () => (await import('./commands/server-run.js')).registerServerRun },
  { names: ['agent'], load: async () => (await import('./commands/agent-run.js')).registerAgentRun },
  { names: ['login'], load: async () => (await import('./commands/auth-login.js')).registerAuthLogin },
  { names: ['logout'], load: async () => (await import('./commands/auth-logout.js')).registerAuthLogout },
  { names: ['whoami'], load: async () => (await import('./commands/auth-whoami.js')).registerAuthWhoami },
  // user.ts also registers the top-level `register` (how an invited person signs up).
  { names: ['user', 'register'], load: async () => (await import('./commands/user.js')).registerUser },
  { names: ['token'], load: async () => (await import('./commands/token.js')).registerToken },
  { names: ['ssh-key'], load: async () => (await import('./commands/ssh-key.js')).registerSshKey },
  { names: ['audit'], load: async () => (await import('./commands/audit-ls.js')).registerAuditLs },
  { names: ['ssh'], load: async () => (await import('./commands/ssh.js')).registerSsh },
  { names: ['config-ssh'], load: async () => (await import('./commands/config-ssh.js')).registerConfigSsh },
  { names: ['open'], load: async () => (await import('./commands/open.js')).registerOpen },
  { names: ['ports'], load: async () => (await import('./commands/ports.js')).registerPorts },
  { names: ['port-forward'], load: async () => (await import('./commands/port-forward.js')).registerPortForward },
  // HTTP previews.
  { names: ['preview'], load: async () => (await import('./commands/preview.js')).registerPreview },
  // Web UI: a one-time sign-in link.
  { names: ['ui'], load: async () => (await import('./commands/ui.js')).registerUi },
  {
    name: 'node',
    description: 'manage the machines that run workspaces',
    commands: [
      { names: ['ls', 'list'], load: async () => (await import('./commands/node-ls.js')).registerNodeLs },
      { names: ['join-token'], load: async () => (await import('./commands/node-join-token.js')).registerNodeJoinToken },
      // Placement.
      { names: ['show', 'inspect'], load: async () => (await import('./commands/node-show.js')).registerNodeShow },
      { names: ['label'], load: async () => (await import('./commands/node-label.js')).registerNodeLabel },
      { names: ['cordon'], load: async () => (await import('./commands/node-cordon.js')).registerNodeCordon },
      { names: ['uncordon'], load: async () => (await import('./commands/node-uncordon.js')).registerNodeUncordon },
      { names: ['drain'], load: async () => (await import('./commands/node-drain.js')).registerNodeDrain },
      // Node trust: the CA, credential rotation, removal.
      { names: ['rm', 'remove'], load: async () => (await import('./commands/node-rm.js')).registerNodeRm },
      { names: ['rotate-credential'], load: async () => (await import('./commands/node-rotate-credential.js')).registerNodeRotateCredential },
      // Nodes added over SSH.
      { names: ['add'], load: async () => (await import('./commands/node-add.js')).registerNodeAdd },
    ],
  },
  {
    name: 'ws',
    alias: 'workspace',
    description: 'manage workspaces',
    commands: [
      { names: ['create'], load: async () => (await import('./commands/ws-create.js')).registerWsCreate },
      { names: ['ls', 'list'], load: async () => (await import('./commands/ws-ls.js')).registerWsLs },
      { names: ['show', 'inspect'], load: async () => (await import('./commands/ws-show.js')).registerWsShow },
      { names: ['start'], load: async () => (await import('./commands/ws-start.js')).registerWsStart },
      { names: ['stop'], load: async () => (await import('./commands/ws-stop.js')).registerWsStop },
      { names: ['restart'], load: async () => (await import('./commands/ws-restart.js')).registerWsRestart },
      { names: ['rm', 'delete'], load: async () => (await import('./commands/ws-rm.js')).registerWsRm },
      { names: ['exec'], load: async () => (await import('./commands/ws-exec.js')).registerWsExec },
      // Teams and sharing.
      { names: ['share'], load: async () => (await import('./commands/ws-share.js')).registerWsShare },
      { names: ['unshare'], load: async () => (await import('./commands/ws-unshare.js')).registerWsUnshare },
      { names: ['shares'], load: async () => (await import('./commands/ws-shares.js')).registerWsShares },
    ],
  },
  // Teams and sharing.
  {
    name: 'team',
    description: "manage teams: members share the team's workspaces and quotas",
    commands: [
      { names: ['create'], load: async () => (await import('./commands/team-create.js')).registerTeamCreate },
      { names: ['ls', 'list'], load: async () => (await import('./commands/team-ls.js')).registerTeamLs },
      { names: ['rm'], load: async () => (await import('./commands/team-rm.js')).registerTeamRm },
      { names: ['add'], load: async () => (await import('./commands/team-add.js')).registerTeamAdd },
      { names: ['remove'], load: async () => (await import('./commands/team-remove.js')).registerTeamRemove },
    ],
  },
  { names: ['sharing-policy'], load: async () => (await import('./commands/sharing-policy.js')).registerSharingPolicy },
  // Workspace services (declared in the spec).
  {
    name: 'svc',
    alias: 'service',
    description: "see and steer a workspace's services",
    commands: [
      { names: ['ls', 'list'], load: async () => (await import('./commands/svc-ls.js')).registerSvcLs },
      { names: ['logs'], load: async () => (await import('./commands/svc-logs.js')).registerSvcLogs },
      { names: ['start'], load: async () => (await import('./commands/svc-start.js')).registerSvcStart },
      { names: ['stop'], load: async () => (await import('./commands/svc-stop.js')).registerSvcStop },
      { names: ['restart'], load: async () => (await import('./commands/svc-restart.js')).registerSvcRestart },
    ],
  },
  // Project spec files (berth.yaml, devcontainer.json).
  {
    name: 'spec',
    description: "check a project's berth.yaml or devcontainer.json",
    commands: [{ names: ['check', 'validate'], load: async () => (await import('./commands/spec-check.js')).registerSpecCheck }],
  },
  // Configuration as code and dotfiles.
  {
    name: 'config',
    description: "keep the server's configuration in a folder of YAML files (admin)",
    commands: [
      { names: ['pull'], load: async () => (await import('./commands/config-pull.js')).registerConfigPull },
      { names: ['diff'], load: async () => (await import('./commands/config-diff.js')).registerConfigDiff },
      { names: ['push'], load: async () => (await import('./commands/config-push.js')).registerConfigPush },
    ],
  },
  {
    name: 'dotfiles',
    description: 'your dotfiles, applied in every new workspace',
    commands: [
      { names: ['set'], load: async () => (await import('./commands/dotfiles-set.js')).registerDotfilesSet },
      { names: ['show'], load: async () => (await import('./commands/dotfiles-show.js')).registerDotfilesShow },
      { names: ['unset'], load: async () => (await import('./commands/dotfiles-unset.js')).registerDotfilesUnset },
      { names: ['apply'], load: async () => (await import('./commands/dotfiles-apply.js')).registerDotfilesApply },
    ],
  },
  { names: ['schema'], load: async () => (await import('./commands/schema.js')).registerSchema },
  {
    name: 'op',
    alias: 'operation',
    description: 'steer operations (creates, builds and other long work)',
    commands: [{ names: ['cancel'], load: async () => (await import('./commands/op-cancel.js')).registerOpCancel }],
  },
  {
    name: 'image',
    description: 'manage base images',
    commands: [
      { names: ['build'], load: async () => (await import('./commands/image-build.js')).registerImageBuild },
      { names: ['ls', 'list'], load: async () => (await import('./commands/image-ls.js')).registerImageLs },
    ],
  },
];

/** Loads every command's module without registering any (the CLI snapshot preloads them all). */
export async function loadAllCommands(): Promise<void> {
  await Promise.all(TOP.flatMap((e) => ('names' in e ? [e] : e.commands)).map((e) => e.load()));
}

/**
 * Builds the program for these arguments (all commands when `argv` is absent); settings made
 * on the root before registering are inherited by every subcommand.
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
  const program = new Command('berth')
    .description('Remote development workspaces on your own machines: Docker, LXC and QEMU behind one lifecycle.')
    .version(BERTH_VERSION, '-V, --version', 'print the berth version')
    // Errors come back to runCli as exceptions instead of commander calling process.exit, so
    // tests can run the CLI in-process and exit codes are decided in one place.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .hook('preAction', (_root, action) => {
      ctx.json = action.opts().json === true;
    });

  // The command words are the first arguments that are not options (the root takes no option
  // with a value, so nothing before them can be an option's value).
  const [first, second] = argv ? argv.filter((a) => !a.startsWith('-')) : [];
  const named = (e: Entry | Group, word: string | undefined): boolean =>
    word !== undefined && ('names' in e ? e.names.includes(word) : e.name === word || e.alias === word);
  const chosen = TOP.find((e) => named(e, first));

  for (const entry of chosen ? [chosen] : TOP) {
    if ('names' in entry) {
      (await entry.load())(program, ctx);
      continue;
    }
    const group = program.command(entry.name).description(entry.description);
    if (entry.alias) group.alias(entry.alias);
    const sub = chosen ? entry.commands.find((c) => named(c, second)) : undefined;
    const registers = await Promise.all((sub ? [sub] : entry.commands).map((c) => c.load()));
    for (const register of registers) register(group, ctx);
  }
  return program;
}
