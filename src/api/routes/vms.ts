import { volumeRef } from '../../model/names.js';
import type { VmInfo } from '../../model/vm-types.js';
import type { ApiServices, Handlers } from '../handlers.js';
import { VM_FIELDS } from '../vm-schemas.js';
import { withNulls } from '../nullable.js';

type VmOps = 'volumeAttachInfo' | 'portAttachInfo' | 'listVms' | 'defineVm' | 'getVm' | 'undefineVm' | 'startVm' | 'stopVm' | 'killVm' | 'vmConsole' | 'attachDisk' | 'detachDisk' | 'attachNic' | 'detachNic';

/** Handlers of the VM operations. */
export function vmHandlers(s: ApiServices): Pick<Handlers, VmOps> {
  const vm = (params: { vm: string }) => params.vm;
  const out = async (p: Promise<VmInfo>) => ({ body: withNulls(await p, VM_FIELDS) });
  return {
    listVms: async () => ({ body: (await s.vms.list()).map((v) => withNulls(v, VM_FIELDS)) }),
    defineVm: ({ body }) => out(s.vms.define(body)),
    getVm: ({ params }) => out(s.vms.info(vm(params))),
    undefineVm: async ({ params }) => {
      await s.vms.undefine(vm(params));
      return {};
    },
    startVm: ({ params }) => out(s.vms.start(vm(params))),
    stopVm: ({ params, body }) => out(s.vms.stop(vm(params), body.timeout)),
    killVm: ({ params }) => out(s.vms.kill(vm(params))),
    vmConsole: async ({ params, query }) => ({ body: await s.vms.console(vm(params), query.offset ?? 0) }),
    attachDisk: ({ params, body }) => out(s.vmDevices.attachDisk(vm(params), body)),
    detachDisk: ({ params, body }) => out(s.vmDevices.detachDisk(vm(params), body.pool, body.volume)),
    attachNic: ({ params, body }) => out(s.vmDevices.attachNic(vm(params), body)),
    detachNic: ({ params, body }) => out(s.vmDevices.detachNic(vm(params), body)),
    volumeAttachInfo: async ({ params, query }) => ({
      body: await s.vmDevices.volumeAttachInfo(volumeRef(params.pool, params.volume), query.as ?? 'qemu', {
        ...(query.bus !== undefined ? { bus: query.bus } : {}),
        ...(query.readonly === true ? { readonly: true } : {}),
      }),
    }),
    portAttachInfo: async ({ params, query }) => ({ body: await s.vmDevices.portAttachInfo(params.network, params.port, query.as ?? 'qemu') }),
  };
}
