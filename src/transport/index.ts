/** The transport layer: how berth runs commands and moves files on a host (locally or over pooled SSH). */

export { LocalTransport } from './local.js';
export { quoteArg, remoteCommand, shellQuote } from './shell-quote.js';
export type { SshTransportOptions } from './ssh.js';
export { SshTransport, SshTransports, sshPoolKey } from './ssh.js';
export type { HostVerifier } from './ssh-connect.js';
export { sshFingerprint } from './ssh-connect.js';
export type { PoolStats } from './ssh-pool.js';
export type { ExecParams, ExecSession, RunParams, RunResult, Transport } from './transport.js';
export { exitCodeForSignal, runViaExec, validateExecParams } from './transport.js';
