/** Mounts the web UI. */
import { render } from 'preact';
import { App } from './app.js';
import { hasCsrf } from './lib/api.js';
import { prefetchWorkspaces } from './lib/workspaces.js';
import './styles.css';

// The list is the first page: ask for it beside the session check rather than after it.
if (location.pathname === '/' && hasCsrf()) prefetchWorkspaces();

render(<App />, document.getElementById('app')!);
