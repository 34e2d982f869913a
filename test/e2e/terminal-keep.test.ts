/**
 * Kept terminals live in the agent, through the exec WebSocket the web UI uses, with a real
 * server, a separate `berth agent` process and Docker: a shell survives the server being
 * killed and started again on the same data dir (same `$$`, earlier output replayed), and an
 * open page in chromium reconnects to it by itself; an admin
 * watches a member's terminal read-only and the server refuses the viewer's input; another
 * member can neither watch it nor list it; a terminal nobody attaches to ends after the
 * configured idle time (BERTH_WEB_TERMINAL_IDLE_MS, short here).
 */
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EXEC_CLOSE_END, type ExecServerFrame, execServerFrameSchema } from '../../src/api/index.js';
import { type Proc, startAgent, TestServer, uniqueName, waitFor } from './harness.js';
import { launchChromium } from './web/browser.js';

/** Idle time of this server's kept terminals: longer than a server restart, short enough to wait out. */
const IDLE_MS = 15_000;

let server: TestServer;
let agent: Proc;
let aliceToken: string;
let bobToken: string;
const name = uniqueName('keep');

/** One exec WebSocket speaking the frames of src/api/exec.ts, its output gathered as text. */
class Term {
  text = '';
  frames: ExecServerFrame[] = [];
  closed: Promise<number>;
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const f = execServerFrameSchema.parse(JSON.parse(data.toString()));
      this.frames.push(f);
      if (f.type === 'stdout' || f.type === 'stderr') this.text += Buffer.from(f.data, 'base64').toString();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code) => resolve(code)));
  }

  /** Opens (or reattaches to) the kept terminal `id` of workspace `name` as the token's user. */
  /** `ref`: how the caller names the workspace (names are unique per owner: another's is OWNER/NAME). */
  static open(token: string, id: string, readOnly = false, ref = name): Promise<Term> {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/workspaces/${encodeURIComponent(ref)}/exec`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const t = new Term(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => {
        socket.send(
          JSON.stringify({
            type: 'start',
            request: { cmd: ['/bin/sh'], tty: true, env: { TERM: 'xterm-256color' }, cols: 120, rows: 30 },
            reattach: readOnly ? { id, readOnly } : { id },
          }),
        );
        resolve(t);
      });
    });
  }

  /** Waits for the `started` frame (or fails with the error frame). */
  async started(): Promise<this> {
    await waitFor(
      'started',
      async () => {
        const err = this.frames.find((f) => f.type === 'error');
        if (err) throw new Error(`exec failed: ${JSON.stringify(err)}`);
        return this.frames.some((f) => f.type === 'started');
      },
      30_000,
      50,
    );
    return this;
  }

  type(text: string): void {
    this.socket.send(JSON.stringify({ type: 'stdin', data: Buffer.from(text).toString('base64') }));
  }

  /** Waits until the output matches `re`; returns the match. */
  async until(re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return waitFor(`output matching ${re} (have: ${JSON.stringify(this.text.slice(-400))})`, async () => re.exec(this.text), timeoutMs, 50);
  }

  close(code = 1000): Promise<number> {
    this.socket.close(code);
    return this.closed;
  }
}

/** A member's API token, registered from an admin's invite. */
async function member(user: string): Promise<string> {
  const invite = await server.json<any>(['user', 'invite', `${user}@example.com`]);
  const reg = await fetch(`${server.url}/api/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite: invite.code, name: user }),
  });
  expect(reg.status).toBe(201);
  return ((await reg.json()) as { token: string }).token;
}

beforeAll(async () => {
  // No local agent: the agent must outlive the server, as it does on a real node.
  server = await TestServer.start({ env: { BERTH_WEB_TERMINAL_IDLE_MS: String(IDLE_MS) } });
  agent = (await startAgent(server, { name: 'tk' })).proc;
  await server.waitNodeOnline('tk');
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'tk']);
  expect(build.code, build.stderr).toBe(0);
  aliceToken = await member('alice');
  bobToken = await member('bob');
  const created = await server.cli(['ws', 'create', name, '--image', 'base', '--node', 'tk'], { env: { BERTH_TOKEN: aliceToken } });
  expect(created.code, created.stderr).toBe(0);
}, 300_000);

let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await server?.destroy();
  await agent?.stop();
});

describe('terminals kept by the agent', () => {
  const id = `keep-${randomUUID()}`;

  it('keeps the same shell through a server restart, its earlier output replayed', async () => {
    const t = await (await Term.open(aliceToken, id)).started();
    t.type('echo hello-$((6*7)); echo pid-$$\n');
    const pid = (await t.until(/pid-(\d+)/))[1];
    await t.until(/hello-42/);
    // The server dies hard (the socket drops with it) and comes back on the same data dir.
    await server.proc!.stop('SIGKILL');
    await t.closed;
    await server.launch();
    await server.waitNodeOnline('tk', 60_000);
    const again = await (await Term.open(aliceToken, id)).started();
    // The kept output comes first: the earlier command's answer, from before the restart.
    await again.until(/hello-42/);
    again.type('echo again-$$\n');
    expect((await again.until(/again-(\d+)/))[1]).toBe(pid);
    // The node lists it as alice's, attached.
    const list = await fetch(`${server.url}/api/v1/workspaces/${name}/terminals`, { headers: { authorization: `Bearer ${aliceToken}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as any).terminals).toEqual([expect.objectContaining({ id, owner: 'alice', attached: true })]);
    await again.close();
  }, 180_000);

  it('lets an admin watch read-only: output arrives, the viewer’s input is refused', async () => {
    const owner = await (await Term.open(aliceToken, id)).started();
    const viewer = await (await Term.open(server.token, id, true, `alice/${name}`)).started();
    // The viewer gets the kept output too, then what the owner's shell prints.
    await viewer.until(/again-\d+/);
    viewer.type('echo injected-$((1+1))\n');
    owner.type('echo owner-$((2+3))\n');
    await viewer.until(/owner-5/);
    await owner.until(/owner-5/);
    // Give a refused keystroke every chance to show up before looking for it.
    owner.type('echo settled-$((3+4))\n');
    await owner.until(/settled-7/);
    expect(owner.text).not.toMatch(/injected-2/);
    expect(viewer.text).not.toMatch(/injected-2/);
    // A viewer closing "for good" does not end the owner's shell.
    await viewer.close(EXEC_CLOSE_END);
    owner.type('echo alive-$((4+4))\n');
    await owner.until(/alive-8/);
    await owner.close();
  }, 60_000);

  it('shows another member neither the terminal nor a way to watch it', async () => {
    const viewer = await Term.open(bobToken, id, true);
    const code = await viewer.closed;
    expect(code).toBe(1000);
    expect(viewer.frames).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'NOT_FOUND' }) }]);
    const list = await fetch(`${server.url}/api/v1/workspaces/${name}/terminals`, { headers: { authorization: `Bearer ${bobToken}` } });
    expect(list.status).toBe(404);
    // Nor can bob take it over as a writer under the same id (he cannot exec there at all).
    const writer = await Term.open(bobToken, id);
    await writer.closed;
    expect(writer.frames[0]).toMatchObject({ type: 'error', error: { code: 'NOT_FOUND' } });
  }, 60_000);

  it('reconnects an open browser terminal by itself after a server restart, to the same shell', async () => {
    browser = await launchChromium();
    const ui = await server.cli(['ui', '--json'], { env: { BERTH_TOKEN: aliceToken } });
    expect(ui.code, ui.stderr).toBe(0);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(JSON.parse(ui.stdout).url);
    await page.waitForURL(`${server.url}/`);
    await page.goto(`${server.url}/workspaces/${name}/terminal`);
    const rows = page.locator('.xterm-rows').first();
    await rows.waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 20_000 }).toMatch(/[#$]/);
    await page.locator('.term').first().click();
    await page.keyboard.type('echo web-$((7*6)); echo pid-$$\n');
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 15_000 }).toMatch(/pid-\d+/);
    const pid = /pid-(\d+)/.exec((await rows.textContent())!)![1];
    await server.proc!.stop('SIGKILL');
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 15_000 }).toContain('reconnecting');
    await server.launch();
    // No reload: the page finds the node's kept shell again, its output replayed on a clean screen.
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 60_000 }).not.toContain('reconnecting');
    expect(await rows.textContent()).toContain('web-42');
    await page.locator('.term').first().click();
    await page.keyboard.type('echo back-$$\n');
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 15_000 }).toContain(`back-${pid}`);
    await page.close();
  }, 120_000);

  it('ends a terminal nobody attached to for the idle time; one closed for good ends at once', async () => {
    const idle = `idle-${randomUUID()}`;
    const t = await (await Term.open(aliceToken, idle)).started();
    t.type('echo pid-$$\n');
    const pid = (await t.until(/pid-(\d+)/))[1];
    await t.close();
    const listed = async () => {
      const res = await fetch(`${server.url}/api/v1/workspaces/${name}/terminals`, { headers: { authorization: `Bearer ${aliceToken}` } });
      return ((await res.json()) as any).terminals.map((x: { id: string }) => x.id) as string[];
    };
    expect(await listed()).toContain(idle);
    const detachedAt = Date.now();
    await waitFor('the idle terminal to end', async () => !(await listed()).includes(idle), IDLE_MS + 20_000, 500);
    expect(Date.now() - detachedAt).toBeGreaterThan(IDLE_MS - 1000);
    // The same id now starts a new shell.
    const fresh = await (await Term.open(aliceToken, idle)).started();
    fresh.type('echo pid-$$\n');
    expect((await fresh.until(/pid-(\d+)/))[1]).not.toBe(pid);
    // A tab closed with EXEC_CLOSE_END ends its shell at once.
    await fresh.close(EXEC_CLOSE_END);
    await waitFor('the ended terminal to go', async () => !(await listed()).includes(idle), 10_000, 200);
  }, 90_000);
});
