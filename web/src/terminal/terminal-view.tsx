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
  /** The reattach id: the shell lives on in the server under it across reloads. */
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

/** One xterm bound to one shell. */
function TermPane({ name, id, active, closing, onEnded }: { name: string; id: string; active: boolean; closing: { current: Set<string> }; onEnded: (why: string) => void }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const term = new Terminal({ cursorBlink: true, fontFamily: 'ui-monospace, monospace', fontSize: 14, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new ClipboardAddon(undefined, writeOnlyClipboard));
    term.open(host.current!);
    fit.fit();
    const session = openExec(name, id, term.cols, term.rows, {
      output: (bytes) => term.write(bytes),
      started: () => term.focus(),
      ended: (how) => {
        const why = 'code' in how ? `exited with code ${how.code}` : how.error;
        term.write(`\r\n\x1b[2m[${why}]\x1b[0m\r\n`);
        onEnded(why);
      },
    });
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
  }, [name, id]);
  return <div class="term" ref={host} hidden={!active} role="region" aria-label="Terminal" />;
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
              {t.title}{t.ended ? ' (ended)' : ''}
            </button>
            <button type="button" class="tab-close" aria-label={`Close ${t.title}`} onClick={() => close(t.id)}>×</button>
          </span>
        ))}
        <button type="button" onClick={add} aria-label="New terminal tab">+</button>
      </div>
      {tabs.map((t) => (
        <TermPane key={t.id} name={name} id={t.id} active={t.id === active} closing={closing} onEnded={(why) => setTabs((all) => all.map((x) => (x.id === t.id ? { ...x, ended: why } : x)))} />
      ))}
    </div>
  );
}
