import type { ApiServices, Handlers } from '../handlers.js';
import type { DefineVmInput } from '../../services/vm/vms.js';
import type { AttachFormat } from '../../services/vm/attach-info.js';

type VmOps = 'volumeAttachInfo' | 'portAttachInfo' | 'listVms' | 'defineVm' | 'getVm' | 'undefineVm' | 'startVm' | 'stopVm' | 'killVm' | 'vmConsole' | 'attachDisk' | 'detachDisk' | 'attachNic' | 'detachNic';

/** Handlers of the VM operations. */
export function vmHandlers(s: ApiServices): Pick<Handlers, VmOps> {
  const vm = (params: Record<string, string>) => params['vm']!;
  return {
    listVms: async () => ({ body: await s.vms.list() }),
    defineVm: async ({ body }) => ({ body: await s.vms.define(body as unknown as DefineVmInput) }),
    getVm: async ({ params }) => ({ body: await s.vms.info(vm(params)) }),
    undefineVm: async ({ params }) => {
      await s.vms.undefine(vm(params));
      return {};
    },
    startVm: async ({ params }) => ({ body: await s.vms.start(vm(params)) }),
    stopVm: async ({ params, body }) => ({ body: await s.vms.stop(vm(params), body['timeout'] as number | undefined) }),
    killVm: async ({ params }) => ({ body: await s.vms.kill(vm(params)) }),
    vmConsole: async ({ params, query }) => ({ body: await s.vms.console(vm(params), (query['offset'] as number | undefined) ?? 0) }),
    attachDisk: async ({ params, body }) => ({ body: await s.vmDevices.attachDisk(vm(params), body as never) }),
    detachDisk: async ({ params, body }) => ({ body: await s.vmDevices.detachDisk(vm(params), String(body['pool']), String(body['volume'])) }),
    attachNic: async ({ params, body }) => ({ body: await s.vmDevices.attachNic(vm(params), body as never) }),
    detachNic: async ({ params, body }) => ({ body: await s.vmDevices.detachNic(vm(params), body as never) }),
    volumeAttachInfo: async ({ params, query }) => ({
      body: await s.vmDevices.volumeAttachInfo(params['pool']!, params['volume']!, (query['as'] as AttachFormat | undefined) ?? 'qemu', {
        ...(query['bus'] !== undefined ? { bus: String(query['bus']) } : {}),
        ...(query['readonly'] === true ? { readonly: true } : {}),
      }),
    }),
    portAttachInfo: async ({ params, query }) => ({ body: await s.vmDevices.portAttachInfo(params['network']!, params['port']!, (query['as'] as AttachFormat | undefined) ?? 'qemu') }),
  };
}
