import type { Command } from 'commander';
import type { NetworkBody } from '../../api/network-schemas.js';
import { connect, type GlobalOptions } from '../connect.js';
import { printFields, printJson, printTable } from '../output.js';

type Globals = () => GlobalOptions;

/** `kvmpool net ...` */
export function networkCommands(program: Command, globals: Globals): void {
  const net = program.command('net').description('host networks: bridges, VLANs; define, start, stop, undefine');

  net
    .command('define <name>')
    .description('define a network (its bridge is named after it unless --bridge)')
    .requiredOption('--kind <kind>', 'bridge, vlan (UPLINK.ID in a bridge of its own) or vlan-aware (one VLAN-filtering bridge)')
    .option('--uplink <iface>', 'the host NIC that joins the network to the outside (a trunk for VLAN networks)')
    .option('--vlan <id>', 'vlan networks: the VLAN id (1..4094)')
    .option('--bridge <iface>', "the bridge's interface name")
    .option('--mtu <n>', 'MTU of the bridge and its ports (default: the uplink\'s)')
    .option('--autostart', 'start the network when the daemon starts')
    .action(async (name: string, o: { kind: string; uplink?: string; vlan?: string; bridge?: string; mtu?: string; autostart?: boolean }) => {
      const body = {
        name,
        kind: o.kind,
        ...(o.uplink ? { uplink: o.uplink } : {}),
        ...(o.vlan !== undefined ? { vlan: integer(o.vlan) } : {}),
        ...(o.bridge ? { bridge: o.bridge } : {}),
        ...(o.mtu !== undefined ? { mtu: integer(o.mtu) } : {}),
        ...(o.autostart ? { autostart: true } : {}),
      };
      show(globals(), await connect(globals()).api.defineNetwork({ body }));
    });

  net
    .command('list')
    .description('list networks')
    .action(async () => {
      const nets = await connect(globals()).api.listNetworks();
      if (globals().json) return printJson(nets);
      printTable(
        ['NAME', 'KIND', 'STATE', 'BRIDGE', 'UPLINK', 'VLAN', 'PORTS', 'AUTOSTART'],
        nets.map((n) => [n.name, n.kind, n.state, n.bridge, n.uplink ?? '', n.vlan ?? '', n.ports, n.autostart ? 'yes' : 'no']),
      );
    });

  net
    .command('info <name>')
    .description('show a network')
    .action(async (name: string) => show(globals(), await connect(globals()).api.getNetwork({ params: { network: name } })));

  net
    .command('start <name>')
    .description("create the network's interfaces; an uplink hands its addresses and routes to the bridge")
    .option('--force', 'also when the uplink carries the address the API listens on')
    .action(async (name: string, o: { force?: boolean }) => show(globals(), await connect(globals()).api.startNetwork({ params: { network: name }, body: { force: o.force === true } })));

  net
    .command('stop <name>')
    .description("remove the network's interfaces and give the uplink its addresses back (refused with ports in use unless --force)")
    .option('--force', 'also with ports in use')
    .action(async (name: string, o: { force?: boolean }) => show(globals(), await connect(globals()).api.stopNetwork({ params: { network: name }, body: { force: o.force === true } })));

  net
    .command('undefine <name>')
    .description('forget a stopped network and its ports')
    .action(async (name: string) => {
      await connect(globals()).api.undefineNetwork({ params: { network: name } });
      if (globals().json) printJson({ name, undefined: true });
      else process.stdout.write(`network ${name} undefined\n`);
    });

  net
    .command('autostart <name>')
    .description('start the network when the daemon starts (--off to stop doing so)')
    .option('--off', 'do not autostart')
    .action(async (name: string, o: { off?: boolean }) => show(globals(), await connect(globals()).api.patchNetwork({ params: { network: name }, body: { autostart: !o.off } })));
}

/** A whole number from the command line (the API checks the range). */
export function integer(text: string): number {
  return /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
}

function show(g: GlobalOptions, n: NetworkBody): void {
  if (g.json) return printJson(n);
  printFields([
    ['name', n.name],
    ['kind', n.kind],
    ['state', n.state],
    ['bridge', n.bridge],
    ['uplink', n.uplink],
    ['vlan', n.vlan],
    ['vlan device', n.vlanDevice],
    ['mtu', n.mtu],
    ['ports', n.ports],
    ['autostart', n.autostart ? 'yes' : 'no'],
    ...(n.drift ?? []).map((d): [string, string] => ['drift', d]),
  ]);
}
