import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, constants, lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import type ts from 'typescript';
import { RUNTIME, exportedConstants, readProgramList, scanCheckout, shellPrograms, typescriptPrograms } from './programs.js';

test('the shell scan finds the programs a script starts, and nothing else', () => {
  const cases: [string, string[]][] = [
    ['a=1 exec sleep 5; echo x && grep -q y file | sort 2>/dev/null', ['sleep', 'grep', 'sort']],
    ["cat > f <<'E'\nnot-a-command\nE\nmv a b", ['cat', 'mv']],
    ['x=$(basename "$d" | sed -n \'s/a/b/p\')', ['basename', 'sed']],
    ['if [ "$(id -u)" != 0 ]; then echo "run (as root)" >&2; exit 1; fi', ['id']],
    ['load() { for m in "$@"; do modprobe "$m" || echo "x"; done; }\nload dm-mod', ['modprobe']],
    ['findmnt -rn -o TARGET | xargs -r -n1 umount -l', ['findmnt', 'xargs', 'umount']],
    ['command -v qemu-img >/dev/null || exit 1', ['qemu-img']],
    ['ip netns exec ns ping -c1 10.0.0.1', ['ip', 'ping']],
    ['case "$a" in x*) rm -f y ;; optional:*) continue ;; esac', ['rm']],
    ['p=(qemu-utils make)\np+=(g++)\nseen[$x]=1', []],
    ["python3 -c '\nimport json\nfor l in x:\n  print(l)\n' | while read -r a b; do ip link del \"$b\"; done", ['python3', 'ip']],
    ['# mount it\n/usr/bin/env LC_ALL=C /sbin/halt -f # halt', ['env', 'halt']],
    ['node_modules/.bin/tsc -p tsconfig.json && "$@" > out 2>&1', []],
  ];
  for (const [script, programs] of cases) assert.deepEqual(shellPrograms(script).sort(), programs.sort(), script);
});

test('the TypeScript scan resolves programs, constants, sh -c scripts and wrappers, and reports what it cannot', () => {
  const source = [
    "const QEMU = 'qemu-system-x86_64';",
    "const loop = 'while :; do dd if=/dev/zero of=x; done';",
    "await run('qemu-img', ['info', file]);",
    'spawn(QEMU, args);',
    "run('sh', ['-c', loop]);",
    "run('sh', ['-c', `head -c ${n} \"$0\" | sha256sum`, file]);",
    "run('env', ['-C', dir, 'apt-get', 'download', pkg]);",
    "lab.in(ns, ['ping', '-c1', address]);",
    "runInTestHost({ command: ['/usr/bin/env', `X=${y}`, process.execPath, 'x.js'] });",
    'writeFile(f, `#!/bin/sh\\nexec ${real} "$@"\\ntruncate -s 0 x\\n`);',
    'run(tool, []);',
    "run('sh', ['-c', script]);",
  ].join('\n');
  const unresolved: string[] = [];
  const uses = typescriptPrograms('x.ts', source, exportedConstants('x.ts', source), unresolved);
  assert.deepEqual([...new Set(uses.map((u) => u.program))].sort(), ['apt-get', 'dd', 'env', 'head', 'node', 'ping', 'qemu-img', 'qemu-system-x86_64', 'sh', 'sha256sum', 'truncate'].sort());
  assert.deepEqual(unresolved, ['x.ts:11: run(tool)', 'x.ts:12: run -c(script)']);
  const imports = "import { exec } from 'node:child_process';";
  const seen: string[] = [];
  typescriptPrograms('y.ts', imports, new Map<string, ts.Expression>(), seen);
  assert.deepEqual(seen, ['y.ts:1: imports exec from child_process']);
});

test('every program the code, tests, bench and scripts start is on scripts/programs.tsv', async () => {
  const { uses, unresolved } = await scanCheckout();
  const listed = new Set((await readProgramList()).map((l) => l.program));
  const unlisted = new Map<string, string[]>();
  for (const { program, where } of uses) {
    if (listed.has(program) || RUNTIME.has(program)) continue;
    unlisted.set(program, [...(unlisted.get(program) ?? []), where]);
  }
  assert.deepEqual(
    { unlisted: Object.fromEntries(unlisted), unresolved },
    { unlisted: {}, unresolved: [] },
    'unlisted: programs started but not on scripts/programs.tsv (with where); unresolved: call sites whose program the scan cannot tell (add them to DYNAMIC in test/setup/programs.ts)',
  );
  // The scan is no empty net: it finds programs of each kind of source.
  const found = new Set(uses.map((u) => u.program));
  for (const p of ['qemu-img', 'qemu-system-x86_64', 'linux.uml', 'mkfs.btrfs', 'ping', 'modprobe', 'pkill', 'virt-xml-validate']) assert.ok(found.has(p), p);
});

/** Where Debian packages put programs (this PATH may put other copies first, such as a pyenv shim). */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The program's path in the system directories, every symlink it goes through, each also in its merged-/usr form. */
async function pathsOf(program: string): Promise<string[] | undefined> {
  let file: string | undefined;
  for (const dir of SYSTEM_DIRS) {
    if (await access(path.join(dir, program), constants.X_OK).then(() => true, () => false)) {
      file = path.join(dir, program);
      break;
    }
  }
  if (!file) return undefined;
  const hops = [file];
  for (let i = 0; i < 10; i++) {
    const st = await lstat(file);
    if (!st.isSymbolicLink()) break;
    file = path.resolve(path.dirname(file), await readlink(file));
    hops.push(file);
  }
  // dpkg records /bin/sh or /usr/bin/env as the package shipped it; /bin is /usr/bin here.
  return hops.flatMap((p) => [p, p.replace(/^\/usr\/(s?bin)\//, '/$1/'), p.replace(/^\/(s?bin)\//, '/usr/$1/')]).filter((p, i, all) => all.indexOf(p) === i);
}

/** The packages dpkg says own each path (paths no package owns are left out). */
function owners(paths: string[]): Promise<Map<string, Set<string>>> {
  return new Promise((resolve, reject) => {
    // dpkg -S exits 1 when one of the paths belongs to no package: its answer for the others still counts.
    execFile('dpkg', ['-S', ...paths], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err && typeof err.code !== 'number') return reject(err);
      const out = new Map<string, Set<string>>();
      for (const line of stdout.split('\n')) {
        // "pkg[:arch][, pkg...]: /path"; "diversion by ..." lines say who diverted it.
        const at = line.indexOf(': /');
        if (at < 0 || line.startsWith('diversion by')) continue;
        out.set(line.slice(at + 2), new Set(line.slice(0, at).split(', ').map((p) => p.replace(/:[a-z0-9]+$/, ''))));
      }
      resolve(out);
    });
  });
}

test('every program on scripts/programs.tsv is installed here and comes from its package', async (t) => {
  const list = await readProgramList();
  const problems: string[] = [];
  const located = new Map<string, string[]>();
  for (const entry of list) {
    const paths = await pathsOf(entry.program);
    if (paths) located.set(entry.program, paths);
    else if (entry.optional) t.diagnostic(`${entry.program} (optional) is not installed: its package is not checked`);
    else problems.push(`${entry.program} is not installed (package ${entry.package}: run scripts/setup.sh)`);
  }
  const owned = await owners([...located.values()].flat());
  for (const entry of list) {
    const paths = located.get(entry.program);
    if (!paths) continue;
    const packages = new Set(paths.flatMap((p) => [...(owned.get(p) ?? [])]));
    if (!packages.has(entry.package)) problems.push(`${entry.program} (${paths[0]}) belongs to ${[...packages].join(', ') || 'no package'}, not ${entry.package}`);
  }
  assert.deepEqual(problems, []);
});
