import path from 'node:path';
import type { Command } from 'commander';
import type { VmBody } from '../../api/vm-schemas.js';
import { errors } from '../../model/errors.js';
import { parsePortRef, parseVolumeRef, validateName } from '../../model/names.js';
import type { KvmpoolClient } from '../../client/client.js';
import { connect, type GlobalOptions } from '../connect.js';
import { formatSize, printFields, printJson, printTable } from '../output.js';
import { integer } from './net.js';

type Globals = () => GlobalOptions;
const collect = (value: string, all: string[]) => [...all, value];

/** `POOL/VOL[,bus=virtio|scsi][,readonly]` */
export function parseDiskSpec(spec: string): { pool: string; volume: string; bus?: string; readonly?: boolean } {
  const [ref, ...opts] = spec.split(',');
  const disk: { pool: string; volume: string; bus?: string; readonly?: boolean } = parseVolumeRef(ref!);
  for (const o of opts) {
    if (o === 'readonly') disk.readonly = true;
    else if (o.startsWith('bus=')) disk.bus = o.slice(4);
    else throw errors.invalid(`unknown disk option '${o}' in '${spec}': expected bus=virtio|scsi or readonly`, { disk: spec });
  }
  return disk;
}

/** `kvmpool vm ...` */
export function vmCommands(program: Command, globals: Globals): void {
  const vm = program.command('vm').description('virtual machines: qemu with volumes as disks and ports as NICs');
  const client = () => connect(globals());

  vm
    .command('define <name>')
    .description('define a VM')
    .requiredOption('--cpus <n>', 'virtual CPUs')
    .requiredOption('--memory <size>', 'memory (2G, 512M)')
    .option('--disk <spec>', 'a volume as a disk: POOL/VOL[,bus=virtio|scsi][,readonly] (repeat for more)', collect, [])
    .option('--nic <port>', 'a port (a tap) as a NIC: NET/PORT (repeat for more)', collect, [])
    .option('--kernel <file>', 'boot this kernel directly')
    .option('--initrd <file>', 'with --kernel: its initramfs')
    .option('--append <cmdline>', 'with --kernel: its command line')
    .option('--boot <device>', 'disk (the first disk) or cdrom (the first read-only disk, as a CD-ROM)')
    .option('--autostart', 'start the VM when the daemon starts')
    .action(async (name: string, o: { cpus: string; memory: string; disk: string[]; nic: string[]; kernel?: string; initrd?: string; append?: string; boot?: string; autostart?: boolean }) => {
      const body = {
        name,
        cpus: integer(o.cpus),
        memory: o.memory,
        disks: o.disk.map(parseDiskSpec),
        nics: o.nic.map((n) => {
          const { network, port } = parsePortRef(n);
          return { network, port };
        }),
        // Files are named relative to the user's directory, not the daemon's.
        ...(o.kernel ? { kernel: path.resolve(o.kernel) } : {}),
        ...(o.initrd ? { initrd: path.resolve(o.initrd) } : {}),
        ...(o.append !== undefined ? { append: o.append } : {}),
        ...(o.boot ? { boot: o.boot } : {}),
        ...(o.autostart ? { autostart: true } : {}),
      };
      show(globals(), await client().api.defineVm({ body }));
    });

  vm
    .command('list')
    .description('list VMs')
    .action(async () => {
      const vms = await client().api.listVms();
      if (globals().json) return printJson(vms);
      printTable(
        ['NAME', 'STATE', 'CPUS', 'MEMORY', 'DISKS', 'NICS', 'ACCEL', 'PID'],
        vms.map((v) => [v.name, v.state, v.cpus, formatSize(v.memory), v.disks.length, v.nics.length, v.accelerator ?? '', v.pid ?? '']),
      );
    });

  vm.command('info <name>').description('show a VM').action(async (name: string) => show(globals(), await client().api.getVm({ params: { vm: name } })));
  vm.command('start <name>').description('start a VM').action(async (name: string) => show(globals(), await client().api.startVm({ params: { vm: name } })));
  vm.command('kill <name>').description('end a VM at once').action(async (name: string) => show(globals(), await client().api.killVm({ params: { vm: name } })));

  vm
    .command('stop <name>')
    .description('ask the guest to power down (ACPI); kill it after --timeout seconds')
    .option('--timeout <s>', 'seconds to wait for the guest', '60')
    .action(async (name: string, o: { timeout: string }) => show(globals(), await client().api.stopVm({ params: { vm: name }, body: { timeout: integer(o.timeout) } })));

  vm
    .command('undefine <name>')
    .description('forget a stopped VM (its volumes stay; its ports are free again)')
    .action(async (name: string) => {
      await client().api.undefineVm({ params: { vm: name } });
      if (globals().json) printJson({ name, undefined: true });
      else process.stdout.write(`vm ${name} undefined\n`);
    });

  vm
    .command('console <name>')
    .description("print the guest's serial console output so far (--follow: and what comes)")
    .option('--follow', 'keep printing until interrupted or the VM stops')
    .action(async (name: string, o: { follow?: boolean }) => followConsole(client(), validateName('vm', name), o.follow === true));

  const device = (verb: string, description: string, call: (vm: string, ref: string) => Promise<VmBody>) =>
    vm.command(`${verb} <name> <ref>`).description(description).action(async (name: string, ref: string) => show(globals(), await call(name, ref)));
  device('attach-disk', 'attach POOL/VOL[,bus=..][,readonly] as a disk (hot-plugged when running)', (name, ref) => client().api.attachDisk({ params: { vm: name }, body: parseDiskSpec(ref) }));
  device('detach-disk', 'detach the disk POOL/VOL (hot-unplugged when running)', (name, ref) => {
    const { pool, volume } = parseVolumeRef(ref);
    return client().api.detachDisk({ params: { vm: name }, body: { pool, volume } });
  });
  device('attach-nic', 'attach the port NET/PORT as a NIC (hot-plugged when running)', (name, ref) => client().api.attachNic({ params: { vm: name }, body: parsePortRef(ref) }));
  device('detach-nic', 'detach the NIC NET/PORT (hot-unplugged when running)', (name, ref) => client().api.detachNic({ params: { vm: name }, body: parsePortRef(ref) }));
}

async function followConsole(c: KvmpoolClient, name: string, follow: boolean): Promise<void> {
  let offset = 0;
  for (;;) {
    const out = await c.api.vmConsole({ params: { vm: name }, query: { offset } });
    if (out.data) process.stdout.write(out.data);
    offset = out.offset;
    if (!follow) return;
    if (out.data === '') {
      const info = await c.api.getVm({ params: { vm: name } });
      if (info.state !== 'running' && info.state !== 'paused') return;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function show(g: GlobalOptions, v: VmBody): void {
  if (g.json) return printJson(v);
  printFields([
    ['name', v.name],
    ['state', v.state],
    ['reason', v.reason],
    ['accelerator', v.accelerator],
    ['pid', v.pid],
    ['cpus', v.cpus],
    ['memory', formatSize(v.memory)],
    ...v.disks.map((d): [string, string] => ['disk', `${d.pool}/${d.volume} (${d.bus}${d.readonly ? ', read-only' : ''})`]),
    ...v.nics.map((n): [string, string] => ['nic', `${n.network}/${n.port}`]),
    ['kernel', v.kernel],
    ['autostart', v.autostart ? 'yes' : 'no'],
  ]);
}
