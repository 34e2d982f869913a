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
  id: number;
  title: string;
  ended: string | null;
}

/** One xterm bound to one shell. */
function TermPane({ name, active, onEnded }: { name: string; active: boolean; onEnded: (why: string) => void }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const term = new Terminal({ cursorBlink: true, fontFamily: 'ui-monospace, monospace', fontSize: 14, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new ClipboardAddon(undefined, writeOnlyClipboard));
    term.open(host.current!);
    fit.fit();
    const session = openExec(name, term.cols, term.rows, {
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
      session.close();
      term.dispose();
    };
  }, [name]);
  return <div class="term" ref={host} hidden={!active} role="region" aria-label="Terminal" />;
}

/** Terminal tabs for workspace `name`. */
export default function TerminalView({ name }: { name: string }) {
  const next = useRef(2);
  const [tabs, setTabs] = useState<Tab[]>([{ id: 1, title: 'Shell 1', ended: null }]);
  const [active, setActive] = useState(1);
  const add = () => {
    const id = next.current++;
    setTabs((t) => [...t, { id, title: `Shell ${id}`, ended: null }]);
    setActive(id);
  };
  const close = (id: number) => {
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
        <TermPane key={t.id} name={name} active={t.id === active} onEnded={(why) => setTabs((all) => all.map((x) => (x.id === t.id ? { ...x, ended: why } : x)))} />
      ))}
    </div>
  );
}
