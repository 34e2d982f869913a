/**
 * The browser terminal: xterm.js tabs, each its own shell over the exec WebSocket. Resizes
 * follow the element; pastes and keystrokes are stdin. Loaded only when a terminal opens.
 */
import { ClipboardAddon, type IClipboardProvider } from '@xterm/addon-clipboard';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { openExec } from './exec-socket.js';

/**
 * OSC 52: a program in the workspace may put text on the browser's clipboard (tmux, vim,
 * `printf '\e]52;c;BASE64\a'`), but never read it: the clipboard may hold anything.
 */
const writeOnlyClipboard: IClipboardProvider = {
  readText: () => '',
  writeText: async (selection, text) => {
    if (selection === 'c') await navigator.clipboard.writeText(text).catch(() => {});
  },
};

interface Tab {
  /** The reattach id: the node's agent keeps the shell under it across reloads and server restarts. */
  id: string;
  title: string;
  ended: string | null;
}

/** Where a browser tab keeps its terminals' ids, so a reload reattaches to the same shells. */
const storageKey = (name: string) => `berth-terminals:${name}`;

function newTab(n: number): Tab {
  return { id: crypto.randomUUID(), title: `Shell ${n}`, ended: null };
}

function savedTabs(name: string): Tab[] {
  try {
    const saved = JSON.parse(sessionStorage.getItem(storageKey(name)) ?? '[]') as Array<{ id: string; title: string }>;
    return saved.filter((t) => typeof t.id === 'string' && typeof t.title === 'string').map((t) => ({ ...t, ended: null }));
  } catch {
    return [];
  }
}

/** One xterm bound to one shell; `readOnly` watches someone's kept terminal (pairing). */
function TermPane({
  name,
  id,
  active,
  closing,
  onEnded,
  readOnly = false,
  label = 'Terminal',
}: {
  name: string;
  id: string;
  active: boolean;
  closing: { current: Set<string> };
  onEnded: (why: string) => void;
  readOnly?: boolean;
  label?: string;
}) {
  const host = useRef<HTMLElement>(null);
  useEffect(() => {
    const term = new Terminal({ cursorBlink: !readOnly, fontFamily: 'ui-monospace, monospace', fontSize: 14, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new ClipboardAddon(undefined, writeOnlyClipboard));
    term.open(host.current!);
    fit.fit();
    // After a dropped connection the node replays its kept output whole: start from a clean screen.
    let fresh = false;
    const clean = () => {
      if (fresh) term.reset();
      fresh = false;
    };
    const session = openExec(
      name,
      id,
      term.cols,
      term.rows,
      {
        output: (bytes) => {
          clean();
          term.write(bytes);
        },
        started: () => {
          clean();
          term.focus();
        },
        reconnecting: () => {
          if (!fresh) term.write('\r\n\x1b[2m[connection lost; reconnecting…]\x1b[0m\r\n');
          fresh = true;
        },
        ended: (how) => {
          const why = 'code' in how ? `exited with code ${how.code}` : how.error;
          term.write(`\r\n\x1b[2m[${why}]\x1b[0m\r\n`);
          onEnded(why);
        },
      },
      { readOnly },
    );
    // A viewer's keystrokes still go out, and the server refuses them: the page is not what keeps a view read-only.
    const data = term.onData((d) => session.input(d));
    const resized = term.onResize(({ cols, rows }) => session.resize(cols, rows));
    const observer = new ResizeObserver(() => {
      if (host.current && host.current.offsetParent !== null) fit.fit();
    });
    observer.observe(host.current!);
    return () => {
      observer.disconnect();
      data.dispose();
      resized.dispose();
      // A tab the user closed ends its shell; a page going away leaves it to reattach.
      session.close(closing.current.has(id));
      term.dispose();
    };
  }, [name, id, readOnly]);
  return <section class="term" ref={host} hidden={!active} aria-label={label} />;
}

/** A read-only view of the terminal kept under `id` (pairing): output only. */
export function WatchView({ name, id, owner }: { name: string; id: string; owner: string | null }) {
  const closing = useRef(new Set<string>());
  const [ended, setEnded] = useState<string | null>(null);
  const label = `Terminal of ${owner ?? 'another user'} (read-only)`;
  return (
    <div class="terminal">
      <p class="hint" role="status">
        Read-only view{owner ? ` of ${owner}'s terminal` : ''}: you see its output as it happens; the server refuses anything typed here.
        {ended ? ` It ended: ${ended}` : ''}
      </p>
      <TermPane name={name} id={id} active closing={closing} onEnded={setEnded} readOnly label={label} />
    </div>
  );
}

/** Terminal tabs for workspace `name`. */
export default function TerminalView({ name }: { name: string }) {
  const [tabs, setTabs] = useState<Tab[]>(() => {
    const saved = savedTabs(name);
    return saved.length ? saved : [newTab(1)];
  });
  const next = useRef(tabs.length + 1);
  const closing = useRef(new Set<string>());
  const [active, setActive] = useState(tabs[0]!.id);
  useEffect(() => {
    sessionStorage.setItem(storageKey(name), JSON.stringify(tabs.filter((t) => !t.ended).map(({ id, title }) => ({ id, title }))));
  }, [tabs, name]);
  const add = () => {
    const tab = newTab(next.current++);
    setTabs((t) => [...t, tab]);
    setActive(tab.id);
  };
  const close = (id: string) => {
    closing.current.add(id);
    setTabs((t) => {
      const rest = t.filter((x) => x.id !== id);
      if (active === id && rest.length) setActive(rest[rest.length - 1]!.id);
      return rest;
    });
  };
  return (
    <div class="terminal">
      <div role="tablist" aria-label="Terminals" class="tabs">
        {tabs.map((t) => (
          <span class="tab" key={t.id}>
            <button type="button" role="tab" aria-selected={t.id === active} onClick={() => setActive(t.id)}>
              {t.title}
              {t.ended ? ' (ended)' : ''}
            </button>
            <button type="button" class="tab-close" aria-label={`Close ${t.title}`} onClick={() => close(t.id)}>
              ×
            </button>
          </span>
        ))}
        <button type="button" onClick={add} aria-label="New terminal tab">
          +
        </button>
      </div>
      {tabs.map((t) => (
        <TermPane
          key={t.id}
          name={name}
          id={t.id}
          active={t.id === active}
          closing={closing}
          onEnded={(why) => setTabs((all) => all.map((x) => (x.id === t.id ? { ...x, ended: why } : x)))}
        />
      ))}
    </div>
  );
}
