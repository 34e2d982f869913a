/** `berth server`: runs the coordination server in this process until it shuts down. */
import { type Command, Option } from 'commander';
import { BerthError, type PlacementStrategy, PREVIEW_DOMAIN_PATTERN, placementStrategySchema } from '../../api/index.js';
import { parseDurationMs, parseListen, parseMetricsListen, parseSshListenOption } from '../args.js';
import { optionParser, withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { defaultDataDir } from '../defaults.js';
import { LOG_LEVELS } from './log-levels.js';

interface ServerCliOptions {
  listen: string;
  dataDir?: string;
  localAgent: boolean;
  logLevel: string;
  sshListen: string;
  sshAdvertise?: string;
  tls?: boolean;
  insecureHttp: boolean;
  advertise?: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  placement?: PlacementStrategy;
  nodeTtl?: number;
  nodeGrace?: number;
  reapGrace?: number;
  metricsListen?: string;
  previewDomain?: string;
}

/** `--preview-domain BASE`: a wildcard base such as preview.example.com (lowercased). */
function parsePreviewDomain(text: string): string {
  const d = text.trim().toLowerCase().replace(/\.$/, '');
  if (!PREVIEW_DOMAIN_PATTERN.test(d)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid --preview-domain "${text.slice(0, 64)}": use a DNS name of two or more labels, such as preview.example.com, whose wildcard *.preview.example.com points at this server.`,
      { field: 'previewDomain' },
    );
  }
  return d;
}

/** `--advertise a,b` (repeatable): host names or addresses, each checked. */
function parseNameList(text: string, previous: string[] = []): string[] {
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const n of names) {
    if (n.length > 253 || !/^[A-Za-z0-9.:-]+$/.test(n)) {
      throw new BerthError('INVALID_ARGUMENT', `Invalid --advertise name "${n}": use host names or IP addresses, comma-separated.`, { field: 'advertise' });
    }
  }
  return [...previous, ...names];
}

/** Registers `berth server`. */
export function registerServerRun(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('server')
      .description('run the berth coordination server')
      .option('--listen <host:port>', 'address to serve the API on', optionParser(parseListen), '127.0.0.1:7080')
      .option(
        '--data-dir <dir>',
        'where the server keeps its database and secrets (default: $BERTH_DATA_DIR, /var/lib/berth as root, else ~/.local/share/berth)',
      )
      .option('--local-agent', 'also run an agent for this machine inside the server process', false)
      .option('--ssh-listen <host:port|off>', 'address of the SSH gateway (ssh WORKSPACE@host), or off', optionParser(parseSshListenOption), '127.0.0.1:2222')
      .option(
        '--ssh-advertise <host>',
        "host name clients should dial for the SSH gateway (default: the --ssh-listen host, or this machine's name when listening on all addresses)",
      )
      .option('--tls', 'serve HTTPS even on a loopback address (any other address serves HTTPS by default)')
      .option('--no-tls', 'serve plain HTTP; refused on a non-loopback address unless --insecure-http')
      .option('--insecure-http', 'allow plain HTTP on a non-loopback address (only behind something that encrypts)', false)
      .option('--advertise <names>', 'extra host names/IP addresses for the serving certificate, comma-separated', optionParser(parseNameList))
      .option('--tls-cert <file>', "serve this certificate (PEM, may hold the chain) instead of berth's own")
      .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
      .option('--tls-ca <file>', 'the CA of --tls-cert that clients pin (default: they pin the --tls-cert leaf itself)')
      .addOption(new Option('--log-level <level>', 'how much to log').choices(LOG_LEVELS).default('info'))
      .addOption(
        new Option('--placement <strategy>', 'how new workspaces are spread over nodes (default: $BERTH_PLACEMENT, else spread)').choices(
          placementStrategySchema.options,
        ),
      )
      .option(
        '--node-ttl <duration>',
        'heartbeat silence after which a node is offline, e.g. 15s (default: $BERTH_NODE_TTL_MS ms, else 15s)',
        optionParser((t) => parseDurationMs(t, 'nodeTtl')),
      )
      .option(
        '--node-grace <duration>',
        'grace on top of --node-ttl, e.g. 5s (default: $BERTH_NODE_GRACE_MS ms, else 5s)',
        optionParser((t) => parseDurationMs(t, 'nodeGrace')),
      )
      .option(
        '--reap-grace <duration>',
        'how long a node must keep reporting a workspace berth has no record of before it is removed there, e.g. 60s (default 60s)',
        optionParser((t) => parseDurationMs(t, 'reapGrace')),
      )
      .option(
        '--metrics-listen <host:port>',
        'also serve GET /metrics (Prometheus) WITHOUT authentication here, for a private scraper; a bare port means 127.0.0.1',
        optionParser(parseMetricsListen),
      )
      .option(
        '--preview-domain <base>',
        'also serve previews at PORT--NAME--USER.BASE (needs a wildcard DNS record and certificate for *.BASE; see docs/previews.md)',
        optionParser(parsePreviewDomain),
      ),
  ).action(async (opts: ServerCliOptions) => {
    // Loaded only now, so user commands never pay for the server's code and dependencies.
    const { runServer } = await import('../../server/main.js');
    await runServer({
      listen: opts.listen,
      dataDir: opts.dataDir ?? defaultDataDir(ctx.io),
      localAgent: opts.localAgent,
      logLevel: opts.logLevel,
      sshListen: opts.sshListen,
      sshAdvertise: opts.sshAdvertise,
      placement: opts.placement,
      nodeTtlMs: opts.nodeTtl,
      nodeGraceMs: opts.nodeGrace,
      reapGraceMs: opts.reapGrace,
      metricsListen: opts.metricsListen,
      previewDomain: opts.previewDomain,
      tls: { tls: opts.tls, insecureHttp: opts.insecureHttp, advertise: opts.advertise, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey, tlsCa: opts.tlsCa },
    });
  });
}
