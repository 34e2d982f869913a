/** Polling a loader while the page is visible, so lists stay live without a reload. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './api.js';

/** What a polled value looks like to a page. */
export interface Polled<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** Loads now and then every `everyMs` (paused while the tab is hidden); `deps` restart it. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (stopped) return;
      if (document.visibilityState !== 'hidden') {
        try {
          const value = await loadRef.current();
          if (!stopped) {
            setData(value);
            setError(null);
          }
        } catch (err) {
          if (!stopped) setError(messageOf(err));
        }
      }
      if (!stopped && everyMs > 0) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tick, everyMs, ...deps]);
  return { data, error, reload };
}
