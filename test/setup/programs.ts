import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Which programs the project starts, found by reading its sources, and the list setup installs them
 * from (scripts/programs.tsv).
 *
 * Seen:
 * - TypeScript: `run`, `spawn`, `spawnSync`, `execFile`, `execFileSync` with the program as a string,
 *   an upper-case constant (QEMU, KERNEL) or a local `const`; argv arrays handed to a test host
 *   (`command: [...]`) or a namespace (`lab.in(ns, [...])`); wrappers inside them (`env`, `sh -c`,
 *   `ip netns exec`); scripts written to files (strings starting with `#!/bin/sh`).
 * - Shell: scripts/*.sh, .ci/run, test/testhost/init.sh, package.json's scripts and the `sh -c` scripts
 *   above: the first word of each simple command, after `exec`, `command -v`, `xargs`, `env` and
 *   `ip netns exec`.
 * Not seen: a program named only at run time (a variable, a function's parameter: each such call site
 * must be listed in DYNAMIC below or the scan fails); commands inside `eval`, inside strings run by
 * other programs (awk, python3 -c, qemu-io -c), `sh -c` scripts built other than as a string, a
 * template or a `[...].join()` of strings, and a `const` whose name the file declares twice (the last
 * one is read); busybox applets inside the VM tests' guest (they come with busybox-static); programs
 * that other programs start (virt-xml-validate runs xmllint, node-gyp runs make and g++): those are
 * listed by hand.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** One program found in the sources, and where. */
export interface Use {
  program: string;
  where: string;
}

/** A call site whose program is only known at run time: what it runs (empty: nothing of its own). */
export const DYNAMIC: Record<string, { programs: string[]; why: string }> = {
  'src/host/exec.ts: spawn(command)': { programs: [], why: 'the runner itself; its callers are scanned' },
  'src/host/mkfs.ts: run(tool)': { programs: ['mkfs.ext4', 'mkfs.xfs', 'mkfs.btrfs'], why: 'the table of file systems above the call' },
  'src/host/accel-probe.ts: run(qemu)': { programs: ['qemu-system-x86_64'], why: 'detectAccelerator is given QEMU' },
  'test/helpers/netlab.ts: run(argv[0]!)': { programs: ['ping'], why: 'pings() from the host' },
  'test/helpers/netlab.ts: run(...argv)': { programs: [], why: "NetLab.in: its callers' argv are scanned" },
  'test/testhost/inside/logical-pool.inside.ts: run(last[0]!)': { programs: ['dd'], why: 'the last round of keepWriting' },
  'bench/run.ts: run(cli)': { programs: [], why: "bin/kvmpool.js, the project's own CLI" },
  'bench/netfs-inside.ts: run(cli)': { programs: [], why: "bin/kvmpool.js, the project's own CLI" },
  'bench/scale.ts: spawn(cmd)': { programs: ['virsh'], why: "quiet() runs virsh and bin/kvmpool.js, the project's own CLI" },
  'bench/scale.ts: spawn(cli)': { programs: [], why: "bin/kvmpool.js, the project's own CLI (the daemon)" },
  'test/helpers/ceph.ts: spawn(command)': { programs: ['ceph-mon', 'ceph-mgr', 'ceph-osd'], why: "startDaemon() is given the cluster's daemons" },
  'test/helpers/ceph.ts: run(tool)': { programs: ['ceph', 'rbd', 'rados'], why: "the cluster's admin() runs its tools" },
  'src/host/qemu-access.test.ts: run(command)': { programs: ['qemu-img', 'qemu-system-x86_64'], why: 'failure() is given qemu-img and QEMU' },
};

/** What the scan reports without a package: Node itself, which runs setup. */
export const RUNTIME = new Set(['node', 'npm']);

/** Deliberately missing programs (a test that a missing tool is reported). */
const NOT_PROGRAMS = new Set(['kvmpool-no-such-tool']);

const SHELL_BUILTINS = new Set([
  '[', 'test', 'echo', 'printf', 'read', 'set', 'shift', 'export', 'cd', 'exit', 'return', 'local', 'true', 'false',
  ':', '.', 'source', 'eval', 'trap', 'wait', 'unset', 'alias', 'break', 'continue', 'type', 'hash', 'ulimit',
  'umask', 'getopts', 'let', 'declare', 'mapfile', 'readarray', 'readonly', 'kill',
]);
const SHELL_KEYWORDS = new Set(['[[', ']]', 'if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'esac', 'time', '!', '{', '}']);

/** Programs a shell script starts: the first word of each simple command (see the file comment). */
export function shellPrograms(script: string): string[] {
  const functions = new Set([...script.matchAll(/^\s*([\w-]+)\s*\(\)/gm)].map((m) => m[1]!));
  const programs = new Set<string>();
  let cases = 0;
  for (const { text, end } of shellCommands(dropHeredocs(script))) {
    const words = text.trim().split(/\s+/).filter(Boolean);
    if (words[0] === 'case') cases++;
    if (words[0] === 'esac') cases--;
    // In a case, what a `)` ends is a pattern.
    if (cases > 0 && end === ')') continue;
    for (const p of firstProgram(words, functions)) programs.add(p);
  }
  return [...programs];
}

/** The text of the script without the bodies of here-documents. */
function dropHeredocs(script: string): string {
  const out: string[] = [];
  let end: string | undefined;
  for (const line of script.split('\n')) {
    if (end !== undefined) {
      if (line.trim() === end) end = undefined;
      continue;
    }
    out.push(line);
    end = /<<-?\s*['"]?(\w+)['"]?/.exec(line)?.[1];
  }
  return out.join('\n');
}

/** Stands for a quoted string or an expansion in a command's words. */
const QUOTED = '\u0001';

/**
 * The simple commands of a script, with the character that ended each: quoted strings and expansions
 * become QUOTED (a `$(...)` inside double quotes is a command of its own), comments and array values
 * go, and the text is cut at ; & | ( ) { } newlines and `.
 */
function shellCommands(script: string): { text: string; end: string }[] {
  const commands: { text: string; end: string }[] = [];
  let cur = '';
  const cut = (end: string) => {
    commands.push({ text: cur, end });
    cur = '';
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (c === '\\') {
      cur += script[i + 1] === '\n' ? ' ' : script[i + 1] ?? '';
      i++;
    } else if (c === "'") {
      const end = script.indexOf("'", i + 1);
      i = end < 0 ? script.length : end;
      cur += QUOTED;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        if (script[j] === '\\') j++;
        else if (script.startsWith('$(', j)) {
          const close = matchingParen(script, j + 1);
          commands.push(...shellCommands(script.slice(j + 2, close)));
          j = close;
        }
      }
      i = j;
      cur += QUOTED;
    } else if (c === '$' && script[i + 1] === '{') {
      i = script.indexOf('}', i);
      if (i < 0) i = script.length;
      cur += QUOTED;
    } else if (c === '(' && cur.endsWith('=')) {
      // An array's value: a=(x y), a+=(z).
      i = matchingParen(script, i);
      cur += QUOTED;
    } else if (c === '#' && (cur === '' || /\s$/.test(cur))) {
      const nl = script.indexOf('\n', i);
      i = nl < 0 ? script.length : nl - 1;
    } else if (c === '$' && script[i + 1] === '(') {
      cut('$(');
      i++;
    } else if (c === '>' || c === '<') {
      // A redirection and its target are no command word.
      const m = /^[<>]+&?\s*[^\s;&|()]*/.exec(script.slice(i))!;
      i += m[0].length - 1;
      cur = cur.replace(/\d+$/, '');
    } else if (';&|(){}`\n'.includes(c)) {
      cut(c);
    } else {
      cur += c;
    }
  }
  cut('');
  return commands;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return s.length;
}

/** The programs one simple command starts (a wrapper and what it runs), from its words. */
function firstProgram(words: string[], functions: Set<string>): string[] {
  let i = 0;
  while (i < words.length && (SHELL_KEYWORDS.has(words[i]!) || /^\w+(\[[^\]]*\])?\+?=/.test(words[i]!))) i++;
  const word = words[i];
  if (word === undefined || ['for', 'case', 'select', 'function', 'in'].includes(word)) return [];
  if (word === 'exec') return firstProgram(words.slice(i + 1), functions);
  if (word === 'command') {
    const rest = words.slice(i + 1).filter((w) => !w.startsWith('-'));
    return rest[0] === undefined ? [] : firstProgram(rest, functions);
  }
  if (word.startsWith('$') || word.includes(QUOTED) || /^[\d-]/.test(word) || SHELL_BUILTINS.has(word) || functions.has(word)) return [];
  if (word.includes('/') && !word.startsWith('/')) return []; // the project's own (node_modules/.bin/tsc)
  const name = path.basename(word);
  const rest = words.slice(i + 1);
  if (name === 'xargs' || name === 'env') {
    const skip = name === 'env' ? /^(-|\w+=)/ : /^-/;
    let j = 0;
    while (j < rest.length && skip.test(rest[j]!)) j += name === 'env' && ['-C', '-u'].includes(rest[j]!) ? 2 : 1;
    return [name, ...firstProgram(rest.slice(j), functions)];
  }
  if (name === 'ip' && rest[0] === 'netns' && rest[1] === 'exec') return [name, ...firstProgram(rest.slice(3), functions)];
  return [name];
}

/** A statically known string (in a template, each `${}` becomes QUOTED), or undefined. */
function staticText(node: ts.Node, consts: Map<string, ts.Expression>, depth = 0): string | undefined {
  if (depth > 5) return undefined;
  if (ts.isParenthesizedExpression(node) || ts.isNonNullExpression(node) || ts.isAsExpression(node)) return staticText(node.expression, consts, depth + 1);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => QUOTED + s.literal.text).join('');
  if (ts.isIdentifier(node)) {
    const init = consts.get(node.text);
    return init ? staticText(init, consts, depth + 1) : undefined;
  }
  // [...].join(sep): the parts joined by newlines (each a command of the script or part of one).
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'join' && ts.isArrayLiteralExpression(node.expression.expression)) {
    const parts = node.expression.expression.elements.map((e) => staticText(e, consts, depth + 1));
    return parts.every((p) => p !== undefined) ? parts.join('\n') : undefined;
  }
  return undefined;
}

/** Programs an argv starts: its first element, and what wrappers in it (env, sh -c, ip netns exec) run. */
function argvPrograms(args: readonly ts.Expression[], ctx: ScanContext, site: string): void {
  const [first, ...rest] = args;
  if (!first || ts.isSpreadElement(first)) return ctx.dynamic(site, first);
  if (ts.isPropertyAccessExpression(first) && first.getText() === 'process.execPath') return ctx.use('node', site);
  const text = staticText(first, ctx.consts);
  if (text === undefined || text.includes(QUOTED)) return ctx.dynamic(site, first);
  const name = path.basename(text);
  if (NOT_PROGRAMS.has(name)) return;
  ctx.use(name, site);
  const words = rest.map((e) => staticText(e, ctx.consts));
  if (['sh', 'bash', 'dash'].includes(name) && words[0] === '-c') {
    const script = words[1];
    if (script === undefined) return ctx.dynamic(`${site} -c`, rest[1]);
    for (const p of shellPrograms(script)) ctx.use(p, `${site} -c`);
  } else if (name === 'env') {
    let j = 0;
    while (j < words.length && words[j] !== undefined && /^(-|\w+=)/.test(words[j]!)) j += ['-C', '-u'].includes(words[j]!) ? 2 : 1;
    argvPrograms(rest.slice(j), ctx, site);
  } else if (name === 'ip' && words[0] === 'netns' && words[1] === 'exec') {
    argvPrograms(rest.slice(3), ctx, site);
  }
}

interface ScanContext {
  consts: Map<string, ts.Expression>;
  use(program: string, where: string): void;
  dynamic(site: string, node: ts.Node | undefined): void;
}

const RUNNERS = new Set(['run', 'spawn', 'spawnSync', 'execFile', 'execFileSync']);

/** Programs a TypeScript file starts; call sites it cannot resolve go to `unresolved`. */
export function typescriptPrograms(file: string, text: string, globals: Map<string, ts.Expression>, unresolved: string[]): Use[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const consts = new Map(globals);
  const uses: Use[] = [];
  const visitConsts = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && (node.parent.flags & ts.NodeFlags.Const) !== 0) consts.set(node.name.text, node.initializer);
    ts.forEachChild(node, visitConsts);
  };
  visitConsts(source);
  const line = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const ctx = (node: ts.Node): ScanContext => ({
    consts,
    use: (program, site) => void uses.push({ program, where: `${line(node)} (${site.slice(site.indexOf(': ') + 2)})` }),
    dynamic: (site, arg) => {
      const key = `${site}(${arg?.getText() ?? ''})`;
      const known = DYNAMIC[key];
      if (known) for (const p of known.programs) uses.push({ program: p, where: line(node) });
      else unresolved.push(`${line(node)}: ${key.slice(key.indexOf(': ') + 2)}`);
    },
  });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && /child_process$/.test(node.moduleSpecifier.text)) {
      // exec() and execSync() take a shell command line, which this scan does not read.
      const names = node.importClause?.namedBindings;
      if (names && ts.isNamedImports(names)) for (const n of names.elements) if (!n.isTypeOnly && !RUNNERS.has(n.name.text)) unresolved.push(`${line(node)}: imports ${n.name.text} from child_process`);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (ts.isIdentifier(callee) && RUNNERS.has(callee.text)) {
        const [program, args] = node.arguments;
        const argv = args && ts.isArrayLiteralExpression(args) ? args.elements : [];
        if (program) argvPrograms([program, ...argv], ctx(node), `${file}: ${callee.text}`);
      } else if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'in' && node.arguments.length === 2) {
        // NetLab.in(ns, argv): `ip netns exec ns argv...`
        const argv = node.arguments[1]!;
        if (ts.isArrayLiteralExpression(argv)) argvPrograms(argv.elements, ctx(node), `${file}: in`);
      }
    }
    // The command a test host runs.
    if (ts.isPropertyAssignment(node) && node.name.getText() === 'command' && ts.isArrayLiteralExpression(node.initializer)) {
      argvPrograms(node.initializer.elements, ctx(node), `${file}: command`);
    }
    // A script written to a file and run.
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) {
      const script = staticText(node, consts);
      if (script && /^#!\/(usr\/)?bin\/(sh|bash)\b/.test(script)) for (const p of shellPrograms(script)) uses.push({ program: p, where: line(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return uses;
}

/** Upper-case `const`s of a file (QEMU, KERNEL): other files import them. */
export function exportedConstants(file: string, text: string): Map<string, ts.Expression> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out = new Map<string, ts.Expression>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement) || (statement.declarationList.flags & ts.NodeFlags.Const) === 0) continue;
    for (const d of statement.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && /^[A-Z][A-Z0-9_]*$/.test(d.name.text) && d.initializer && staticText(d.initializer, new Map()) !== undefined) out.set(d.name.text, d.initializer);
    }
  }
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(ROOT, dir), { withFileTypes: true }).catch(() => [])) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** Every program the checkout's sources start, and the call sites the scan could not resolve. */
export async function scanCheckout(): Promise<{ uses: Use[]; unresolved: string[] }> {
  const files = (await Promise.all(['src', 'test', 'bench', 'scripts'].map(filesUnder))).flat();
  const read = (f: string) => readFile(path.join(ROOT, f), 'utf8');
  const tsFiles = files.filter((f) => f.endsWith('.ts'));
  const globals = new Map<string, ts.Expression>();
  for (const f of tsFiles) for (const [k, v] of exportedConstants(f, await read(f))) globals.set(k, v);
  const uses: Use[] = [];
  const unresolved: string[] = [];
  for (const f of tsFiles) uses.push(...typescriptPrograms(f, await read(f), globals, unresolved));
  const shellFiles = [...files.filter((f) => f.endsWith('.sh')), '.ci/run'];
  for (const f of shellFiles) for (const p of shellPrograms(await read(f))) uses.push({ program: p, where: f });
  // npm scripts also find the npm packages' programs (node_modules/.bin: tsc).
  const npmBin = new Set(await readdir(path.join(ROOT, 'node_modules', '.bin')).catch(() => []));
  const pkg = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
  for (const [name, script] of Object.entries(pkg.scripts)) {
    for (const p of shellPrograms(script)) if (!npmBin.has(p)) uses.push({ program: p, where: `package.json scripts.${name}` });
  }
  return { uses, unresolved };
}

/** One line of scripts/programs.tsv. */
export interface Listed {
  program: string;
  package: string;
  usedBy: string;
  /** Not installed by setup (a peer the bench measures when it is there). */
  optional: boolean;
}

export async function readProgramList(): Promise<Listed[]> {
  const text = await readFile(path.join(ROOT, 'scripts', 'programs.tsv'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [program = '', pkg = '', usedBy = ''] = l.split('\t');
      return { program, package: pkg, usedBy, optional: usedBy.startsWith('optional:') };
    });
}
