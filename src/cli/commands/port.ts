import type { Command } from 'commander';
import type { PortBody } from '../../api/network-schemas.js';
import { formatVlanList } from '../../model/ifnames.js';
import { parsePortRef, validateName } from '../../model/names.js';
import { connect, type GlobalOptions } from '../connect.js';
import { printFields, printJson, printTable } from '../output.js';
import { integer } from './net.js';

type Globals = () => GlobalOptions;

/** `kvmpool port ...` */
export function portCommands(program: Command, globals: Globals): void {
  const port = program.command('port').description('ports of networks: taps for VMs, veth pairs for containers');

  port
    .command('create <ref>')
    .description('create a port NET/PORT on a running network')
    .option('--type <type>', 'tap (for a VM) or veth (a pair: move its peer into a namespace)', 'tap')
    .option('--vlan <id>', 'vlan-aware networks: an access port of this VLAN (untagged)')
    .option('--trunk <list>', 'vlan-aware networks: a trunk of these VLANs, tagged (10,20-30)')
    .option('--native <id>', 'with --trunk: the VLAN carried untagged')
    .option('--mac <mac>', "the guest's (or the veth peer's) MAC; default: generated, locally administered")
    .option('--mtu <n>', "the port's MTU (default: the network's)")
    .option('--ifname <iface>', 'the interface name on the bridge (default: generated, kvXXXXXXXX)')
    .option('--peer <iface>', "veth: the peer's name (default: the generated name + p)")
    .action(async (ref: string, o: { type: string; vlan?: string; trunk?: string; native?: string; mac?: string; mtu?: string; ifname?: string; peer?: string }) => {
      const { network, port: name } = parsePortRef(ref);
      const body = {
        name,
        type: o.type,
        ...(o.vlan !== undefined ? { vlan: integer(o.vlan) } : {}),
        ...(o.trunk !== undefined ? { trunk: o.trunk } : {}),
        ...(o.native !== undefined ? { native: integer(o.native) } : {}),
        ...(o.mac ? { mac: o.mac } : {}),
        ...(o.mtu !== undefined ? { mtu: integer(o.mtu) } : {}),
        ...(o.ifname ? { ifname: o.ifname } : {}),
        ...(o.peer ? { peer: o.peer } : {}),
      };
      show(globals(), await connect(globals()).api.createPort({ params: { network }, body }));
    });

  port
    .command('list <network>')
    .description("list a network's ports")
    .action(async (network: string) => {
      const ports = await connect(globals()).api.listPorts({ params: { network: validateName('network', network) } });
      if (globals().json) return printJson(ports);
      printTable(
        ['NAME', 'TYPE', 'IFNAME', 'PEER', 'MAC', 'VLANS', 'STATE', 'USED BY'],
        ports.map((p) => [p.name, p.type, p.ifname, p.peer ?? '', p.mac, vlans(p), p.state, p.usedBy ?? (p.attached ? '(attached)' : '')]),
      );
    });

  port
    .command('info <ref>')
    .description('show a port NET/PORT')
    .action(async (ref: string) => {
      const { network, port: name } = parsePortRef(ref);
      show(globals(), await connect(globals()).api.getPort({ params: { network, port: name } }));
    });

  port
    .command('delete <ref>')
    .description('delete a port NET/PORT and its interfaces (refused while in use unless --force)')
    .option('--force', 'also while in use')
    .action(async (ref: string, o: { force?: boolean }) => {
      const { network, port: name } = parsePortRef(ref);
      await connect(globals()).api.deletePort({ params: { network, port: name }, query: o.force ? { force: true } : {} });
      if (globals().json) printJson({ network, name, deleted: true });
      else process.stdout.write(`port ${network}/${name} deleted\n`);
    });
}

function vlans(p: PortBody): string {
  if (p.vlan !== null) return `access ${p.vlan}`;
  if (p.trunk) return `trunk ${formatVlanList(p.trunk)}${p.native !== undefined ? ` native ${p.native}` : ''}`;
  return '';
}

function show(g: GlobalOptions, p: PortBody): void {
  if (g.json) return printJson(p);
  printFields([
    ['name', `${p.network}/${p.name}`],
    ['type', p.type],
    ['ifname', p.ifname],
    ['peer', p.peer],
    ['mac', p.mac],
    ['mtu', p.mtu],
    ['vlans', vlans(p)],
    ['state', p.state],
    ['attached', p.attached ? 'yes' : 'no'],
    ['used by', p.usedBy],
  ]);
}
