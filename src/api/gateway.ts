/**
 * The SSH gateway as clients see it (GET /gateway), and the editor deep links that open a
 * workspace over it. Link building lives in the contract because the server puts links into
 * workspace views and `berth open` prints the same links.
 */
import { z } from 'zod';

/** Where the gateway listens and the host key clients should pin. */
export const sshGatewaySchema = z.object({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  /** `ssh-ed25519 AAAA...`, as a known_hosts line holds it. */
  hostKey: z.string(),
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  fingerprint: z.string(),
});
export type SshGateway = z.infer<typeof sshGatewaySchema>;

/** Response of GET /gateway: null when the server runs with `--ssh-listen off`. */
export const gatewayGetSchema = z.object({ ssh: sshGatewaySchema.nullable() });
export type GatewayGet = z.infer<typeof gatewayGetSchema>;

/** Editors berth builds links for. */
export const EDITORS = ['vscode', 'cursor', 'windsurf', 'jetbrains'] as const;
export type Editor = (typeof EDITORS)[number];

/** A workspace's editor links. */
export const workspaceLinksSchema = z.object({ vscode: z.string(), cursor: z.string(), windsurf: z.string(), jetbrains: z.string() });
export type WorkspaceLinks = z.infer<typeof workspaceLinksSchema>;

/** The directory editors open when none is named: the workspace user's home. */
export const DEFAULT_WORKSPACE_PATH = '/root';

/** The ~/.ssh/config host alias `berth config-ssh` writes for a workspace. */
export function sshHostAlias(workspace: string): string {
  return `${workspace}.berth`;
}

/** One editor's link to open `path` in a workspace through the gateway at host:port. */
export function editorLink(editor: Editor, w: { workspace: string; host: string; port: number; path?: string }): string {
  const path = w.path || DEFAULT_WORKSPACE_PATH;
  if (editor === 'jetbrains') {
    const q = { type: 'ssh', deploy: 'false', host: w.host, port: String(w.port), user: w.workspace, projectPath: path };
    return `jetbrains-gateway://connect#${Object.entries(q)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&')}`;
  }
  // VS Code and its forks resolve the host through ~/.ssh/config, hence the config-ssh alias.
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${editor}://vscode-remote/ssh-remote+${sshHostAlias(w.workspace)}${encodedPath}`;
}

/** Every editor's link for a workspace. */
export function editorLinks(w: { workspace: string; host: string; port: number; path?: string }): WorkspaceLinks {
  return { vscode: editorLink('vscode', w), cursor: editorLink('cursor', w), windsurf: editorLink('windsurf', w), jetbrains: editorLink('jetbrains', w) };
}

/**
 * The ciphers clients berth starts (`berth ssh`, `berth config-ssh`) prefer, AES-GCM first.
 * OpenSSH takes the first cipher of its own list that the server offers, which is aes128-ctr
 * with a separate HMAC from the gateway; AES-GCM is one pass with AES-NI and one object per
 * packet in ssh2, about half again the throughput of a forward (docs/performance.md). The
 * gateway still offers CTR for clients without GCM.
 */
export const CLIENT_CIPHERS = 'aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr';
