import type { ApiServices, Handlers } from '../handlers.js';
import type { DefineVmInput } from '../../services/vm/vms.js';
import type { AttachFormat } from '../../services/vm/attach-info.js';
import { VM_FIELDS } from '../vm-schemas.js';
import { withNulls } from '../nullable.js';

type VmOps = 'volumeAttachInfo' | 'portAttachInfo' | 'listVms' | 'defineVm' | 'getVm' | 'undefineVm' | 'startVm' | 'stopVm' | 'killVm' | 'vmConsole' | 'attachDisk' | 'detachDisk' | 'attachNic' | 'detachNic';

/** Handlers of the VM operations. */
export function vmHandlers(s: ApiServices): Pick<Handlers, VmOps> {
  const vm = (params: Record<string, string>) => params['vm']!;
  const out = async <T extends object>(p: Promise<T>) => ({ body: withNulls(await p, VM_FIELDS) });
  return {
    listVms: async () => ({ body: (await s.vms.list()).map((v) => withNulls(v, VM_FIELDS)) }),
    defineVm: ({ body }) => out(s.vms.define(body as unknown as DefineVmInput)),
    getVm: ({ params }) => out(s.vms.info(vm(params))),
    undefineVm: async ({ params }) => {
      await s.vms.undefine(vm(params));
      return {};
    },
    startVm: ({ params }) => out(s.vms.start(vm(params))),
    stopVm: ({ params, body }) => out(s.vms.stop(vm(params), body['timeout'] as number | undefined)),
    killVm: ({ params }) => out(s.vms.kill(vm(params))),
    vmConsole: async ({ params, query }) => ({ body: await s.vms.console(vm(params), (query['offset'] as number | undefined) ?? 0) }),
    attachDisk: ({ params, body }) => out(s.vmDevices.attachDisk(vm(params), body as never)),
    detachDisk: ({ params, body }) => out(s.vmDevices.detachDisk(vm(params), String(body['pool']), String(body['volume']))),
    attachNic: ({ params, body }) => out(s.vmDevices.attachNic(vm(params), body as never)),
    detachNic: ({ params, body }) => out(s.vmDevices.detachNic(vm(params), body as never)),
    volumeAttachInfo: async ({ params, query }) => ({
      body: await s.vmDevices.volumeAttachInfo(params['pool']!, params['volume']!, (query['as'] as AttachFormat | undefined) ?? 'qemu', {
        ...(query['bus'] !== undefined ? { bus: String(query['bus']) } : {}),
        ...(query['readonly'] === true ? { readonly: true } : {}),
      }),
    }),
    portAttachInfo: async ({ params, query }) => ({ body: await s.vmDevices.portAttachInfo(params['network']!, params['port']!, (query['as'] as AttachFormat | undefined) ?? 'qemu') }),
  };
}
