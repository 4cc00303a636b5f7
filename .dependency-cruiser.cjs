/**
 * The layers of kvmpool and the arrows between them (see README, "Where the code lives"): arrows point
 * down only, and nothing imports in a circle. `npm test` runs this (scripts/lint.sh); a change that
 * breaks a rule fails the run. Tests may reach into any layer.
 */
const layer = (name) => `^src/${name}/`;
const notTest = '\\.test\\.ts$';

/** A layer and the layers it may import (itself always). */
const allowed = {
  model: [],
  host: ['model'],
  transfer: ['model', 'host'],
  state: ['model'],
  drivers: ['model', 'host', 'transfer'],
  services: ['model', 'host', 'transfer', 'drivers', 'state'],
  api: ['model', 'transfer', 'drivers', 'services'],
  daemon: ['model', 'host', 'transfer', 'drivers', 'state', 'services', 'api'],
  client: ['model', 'transfer', 'api'],
  // The CLI knows the daemon's home and version, and `serve` starts one (the rule below keeps it at that).
  cli: ['model', 'transfer', 'client', 'api', 'daemon'],
};
const layers = Object.keys(allowed);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import circles make rooms that cannot be understood (or loaded) one at a time.',
      from: {},
      to: { circular: true },
    },
    ...layers.map((from) => ({
      name: `${from}-imports-down-only`,
      severity: 'error',
      comment: `${from}/ may import only ${allowed[from].join(', ') || 'itself'} (arrows point down).`,
      from: { path: layer(from), pathNot: notTest },
      to: { path: `^src/(${layers.filter((l) => l !== from && !allowed[from].includes(l)).join('|')})/` },
    })),
    {
      name: 'client-sees-api-types-only',
      severity: 'error',
      comment: 'The client loads no API schemas (they are slow to load): only the routes table, and types.',
      from: { path: '^src/(client|cli)/' },
      to: { path: '^src/api/', pathNot: '^src/api/routes-table\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'cli-starts-the-daemon-only-to-serve',
      severity: 'error',
      comment: 'The CLI reaches the daemon through the client; it only knows the home paths, the version, and `serve` starts a daemon.',
      from: { path: '^src/cli/', pathNot: '^src/cli/commands/serve\\.ts$' },
      to: { path: '^src/daemon/', pathNot: '^src/daemon/(home|version)\\.ts$' },
    },
    {
      name: 'services-reach-networks-through-drivers',
      severity: 'error',
      comment: 'Network services reach the host only through the network drivers.',
      from: { path: '^src/services/network/' },
      to: { path: '^src/host/' },
    },
    {
      name: 'only-host-starts-processes',
      severity: 'error',
      comment: 'host/ is the only code that starts processes.',
      from: { path: '^src/', pathNot: ['^src/host/', notTest] },
      to: { path: '^(node:)?child_process$', dependencyTypes: ['core'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Packages that ship ES modules only (typebox) resolve through their `import` exports.
    enhancedResolveOptions: { conditionNames: ['import', 'node', 'default'], exportsFields: ['exports'] },
  },
};
