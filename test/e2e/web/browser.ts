/**
 * The real browser for the web UI's end-to-end test: Debian's chromium (installed by the test
 * command, see scripts/lib/host.sh), driven by playwright-core. Never a downloaded browser.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian puts chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launches headless chromium, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`The web UI test needs Debian's chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (the test command installs it).`);
  // Root has no user namespace sandbox here; the pages are berth's own, on loopback.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
