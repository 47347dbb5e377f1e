/**
 * Chromium for the browser tests, with no manual step: `/usr/bin/chromium` when it exists,
 * otherwise Debian's `chromium` package installed with apt-get (as root). Anything else
 * fails with a message saying how to provide a browser; nothing is skipped.
 *
 * Run directly (`tsx scripts/browser.ts`) it provisions Chromium and prints its path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless Chromium in a container: no sandbox, GPU, sync or update traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const NO_CHROMIUM_MESSAGE =
  `The browser tests need Chromium at ${CHROMIUM_PATH} and it could not be installed. ` +
  'Install it (Debian/Ubuntu: `apt-get install chromium`), or run the tests as root on ' +
  'Debian so that they can install it themselves.';

function aptGet(args: string[], log: (msg: string) => void): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const result = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim();
    throw new Error(`apt-get ${args.join(' ')} failed: ${why}\n${NO_CHROMIUM_MESSAGE}`);
  }
  log(`apt-get ${args[0]} done.`);
}

function canInstallWithApt(): boolean {
  return (
    existsSync('/etc/debian_version') &&
    existsSync('/usr/bin/apt-get') &&
    typeof process.getuid === 'function' &&
    process.getuid() === 0
  );
}

/**
 * The path of a usable Chromium, installing Debian's package first when needed (this can
 * take minutes the first time).
 * @throws Error with NO_CHROMIUM_MESSAGE when there is none and none can be installed.
 */
export function ensureChromium(
  log: (msg: string) => void = (msg) => process.stderr.write(`[browser] ${msg}\n`),
): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (!canInstallWithApt()) throw new Error(NO_CHROMIUM_MESSAGE);
  log(`${CHROMIUM_PATH} not found: installing Debian package chromium (apt-get)...`);
  aptGet(['update', '-qq'], log);
  aptGet(['install', '-y', '-qq', '--no-install-recommends', 'chromium'], log);
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `apt-get installed chromium but ${CHROMIUM_PATH} is missing.\n${NO_CHROMIUM_MESSAGE}`,
    );
  }
  return CHROMIUM_PATH;
}

/** Provisions Chromium and launches it headless through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = ensureChromium();
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    console.log(ensureChromium());
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
