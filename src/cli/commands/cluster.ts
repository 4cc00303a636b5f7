import type { Command } from 'commander';
import type { Static } from 'typebox';
import type { ClusterStatus } from '../../api/cluster-schemas.js';
import { connect, type GlobalOptions } from '../connect.js';
import { printFields, printJson, printTable } from '../output.js';

/** `kvmpool cluster ...` */
export function clusterCommands(program: Command, globals: () => GlobalOptions): void {
  const cluster = program.command('cluster').description('hosts that share storage, joined through etcd: init, join, status');
  const endpoints = (list: string) => list.split(',').filter((u) => u !== '');

  cluster
    .command('init')
    .description('make a cluster on an etcd (one or three members), with this host its first member')
    .requiredOption('--etcd <urls>', "etcd's client URLs, comma-separated (http://10.0.0.1:2379,...)")
    .requiredOption('--name <name>', "this host's name in the cluster")
    .action(async (o: { etcd: string; name: string }) => show(globals(), await connect(globals()).api.initCluster({ body: { etcd: endpoints(o.etcd), name: o.name } })));

  cluster
    .command('join')
    .description('add this host to the cluster an etcd holds')
    .requiredOption('--etcd <urls>', "etcd's client URLs, comma-separated")
    .requiredOption('--name <name>', "this host's name in the cluster")
    .action(async (o: { etcd: string; name: string }) => show(globals(), await connect(globals()).api.joinCluster({ body: { etcd: endpoints(o.etcd), name: o.name } })));

  cluster
    .command('status')
    .description('the members and their state: up, or unreachable (its lease lapsed)')
    .action(async () => show(globals(), await connect(globals()).api.clusterStatus()));
}

function show(g: GlobalOptions, s: Static<typeof ClusterStatus>): void {
  if (g.json) return printJson(s);
  if (!s.cluster) {
    process.stdout.write('this host is in no cluster (kvmpool cluster init, or join)\n');
    return;
  }
  printFields([
    ['cluster', s.cluster],
    ['this host', s.name],
    ['etcd', `${s.etcd.join(',')}${s.reachable ? '' : ' (not answering: this host keeps what it runs, and refuses cluster-wide changes)'}`],
    ['error', s.error],
  ]);
  if (s.members.length > 0) {
    process.stdout.write('\n');
    printTable(['MEMBER', 'STATE', 'HOST', 'JOINED'], s.members.map((m) => [`${m.name}${m.self ? ' (this host)' : ''}`, m.state, m.hostname, m.joined]));
  }
}
