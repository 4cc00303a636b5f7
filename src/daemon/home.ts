import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (or installed package) root: the default home is `var/` inside it. */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${from}`);
  }
}

/** Where a daemon keeps its state, socket and token. */
export interface HomePaths {
  home: string;
  database: string;
  socket: string;
  token: string;
  pools: string;
  /** One directory per VM (by uuid): its QMP socket, console log and qemu's own log. */
  vms: string;
  /** Secrets of pools (mode 0700; each secret a file of mode 0600). */
  secrets: string;
}

/** The home directory: `--home`, else KVMPOOL_HOME, else `var/` in the checkout. */
export function resolveHome(explicit?: string): HomePaths {
  const home = path.resolve(explicit ?? process.env['KVMPOOL_HOME'] ?? path.join(PACKAGE_ROOT, 'var'));
  return {
    home,
    database: path.join(home, 'kvmpool.db'),
    socket: path.join(home, 'kvmpool.sock'),
    token: path.join(home, 'token'),
    pools: path.join(home, 'pools'),
    vms: path.join(home, 'vms'),
    secrets: path.join(home, 'secrets'),
  };
}

/** Creates the home (mode 0700) if needed. */
export async function ensureHome(paths: HomePaths): Promise<void> {
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  await chmod(paths.home, 0o700);
}

/** Reads the API token, generating it (mode 0600) on first start. */
export async function loadOrCreateToken(file: string): Promise<string> {
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 32) {
      await chmod(file, 0o600);
      return token;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}
