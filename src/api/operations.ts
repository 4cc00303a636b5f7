import { Type, type TSchema } from 'typebox';
import type { AnyStorageType } from '../drivers/storage/driver.js';
import * as S from './schemas.js';
import * as N from './network-schemas.js';
import * as P from './pool-schemas.js';
import * as V from './vm-schemas.js';
import * as C from './cluster-schemas.js';
import { routes, type OperationId } from './routes-table.js';

export type { OperationId };

/**
 * Every API operation, declared once: the server registers a route from it, the client calls it by id,
 * and the OpenAPI document describes it. Paths use `:param` placeholders.
 */
export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  /** Response schemas by status code. */
  responses: Record<number, TSchema>;
  /**
   * Answers long arrays (listings of 100,000 volumes): serialized natively, so the handler must give
   * exactly the response schema's shape, no field more (the API tests check it).
   */
  bulk?: true;
}

/** An operation: its route from the routes table, and what it takes and answers. */
const op = <K extends OperationId, T extends Omit<Operation, 'method' | 'path'>>(id: K, o: T) => ({ ...routes[id], ...o });

/**
 * Every operation for a daemon that knows `types` (the pool settings and volume options of each type
 * shape the bodies of definePool and createVolume).
 */
export function buildOperations(types: readonly AnyStorageType[]) {
  return {
    version: op('version', { summary: 'Daemon name, version and supported pool types', tag: 'daemon', responses: { 200: S.Version } }),
    listStorageTypes: op('listStorageTypes', { summary: 'Every pool type: its settings and volume options (JSON schemas), capability table and verbs', tag: 'pools', responses: { 200: Type.Array(P.StorageTypeInfo) } }),

    listPools: op('listPools', { summary: 'List pools', tag: 'pools', responses: { 200: Type.Array(P.Pool) } }),
    definePool: op('definePool', { summary: "Define a pool (the settings are its type's; secrets are write-only)", tag: 'pools', body: P.definePoolSchema(types), responses: { 201: P.Pool } }),
    findPoolSources: op('findPoolSources', { summary: "What storage of a type there is to define a pool on (NFS exports, CIFS shares), asked within a time limit; secrets are write-only", tag: 'pools', body: P.findSourcesSchema(types), responses: { 200: Type.Array(P.FoundPoolSource) } }),
    getPool: op('getPool', { summary: 'Pool info', tag: 'pools', params: S.PoolParams, responses: { 200: P.Pool } }),
    patchPool: op('patchPool', { summary: 'Set autostart', tag: 'pools', params: S.PoolParams, body: S.PatchPool, responses: { 200: P.Pool } }),
    undefinePool: op('undefinePool', { summary: 'Undefine a stopped pool (its storage stays)', tag: 'pools', params: S.PoolParams, responses: { 204: S.Empty } }),
    buildPool: op('buildPool', { summary: "Build a pool's storage (overwrite: also on a device that carries data)", tag: 'pools', params: S.PoolParams, body: S.BuildPool, responses: { 200: P.Pool } }),
    startPool: op('startPool', { summary: 'Start a pool', tag: 'pools', params: S.PoolParams, responses: { 200: P.Pool } }),
    stopPool: op('stopPool', { summary: 'Stop a pool', tag: 'pools', params: S.PoolParams, body: S.Force, responses: { 200: P.Pool } }),
    refreshPool: op('refreshPool', { summary: 'Re-read a pool from the host', tag: 'pools', params: S.PoolParams, responses: { 200: P.Pool } }),
    extendPool: op('extendPool', { summary: 'Add a device to a pool (logical)', tag: 'pools', params: S.PoolParams, body: S.PoolDeviceBody, responses: { 200: P.Pool } }),
    shrinkPool: op('shrinkPool', { summary: 'Move the data off a device online and remove it (logical; a job)', tag: 'pools', params: S.PoolParams, body: S.PoolDeviceBody, responses: { 202: S.Accepted } }),
    deletePool: op('deletePool', { summary: 'Remove what build made (the definition stays)', tag: 'pools', params: S.PoolParams, body: S.Force, responses: { 200: P.Pool } }),

    listVolumes: op('listVolumes', { summary: 'List volumes in name order (a page with limit, after the name given)', tag: 'volumes', params: S.PoolParams, query: S.ListVolumesQuery, responses: { 200: Type.Array(S.Volume) }, bulk: true }),
    createVolume: op('createVolume', { summary: 'Create a volume (202 with a job when preallocated)', tag: 'volumes', params: S.PoolParams, body: S.createVolumeSchema(P.volumeOptionProperties(types)), responses: { 201: S.Volume, 202: S.Accepted } }),
    getVolume: op('getVolume', { summary: 'Volume info', tag: 'volumes', params: S.VolumeParams, responses: { 200: S.Volume } }),
    deleteVolume: op('deleteVolume', { summary: 'Delete a volume (with defer, a parent its clones still read through)', tag: 'volumes', params: S.VolumeParams, query: S.DeleteVolumeQuery, responses: { 204: S.Empty } }),
    resizeVolume: op('resizeVolume', { summary: 'Resize a volume', tag: 'volumes', params: S.VolumeParams, body: S.ResizeVolume, responses: { 200: S.Volume } }),
    renameVolume: op('renameVolume', { summary: 'Rename a volume', tag: 'volumes', params: S.VolumeParams, body: S.RenameVolume, responses: { 200: S.Volume } }),

    cloneVolume: op('cloneVolume', { summary: 'Clone or copy a volume (a job; its result names the method used)', tag: 'volumes', params: S.VolumeParams, body: S.CloneVolume, responses: { 202: S.Accepted } }),
    flattenVolume: op('flattenVolume', { summary: 'Give a layered clone its own copy of its parent\'s data (a job)', tag: 'volumes', params: S.VolumeParams, responses: { 202: S.Accepted } }),
    wipeVolume: op('wipeVolume', { summary: 'Wipe a volume (a job)', tag: 'volumes', params: S.VolumeParams, body: S.WipeVolume, responses: { 202: S.Accepted } }),
    uploadVolumeFile: op('uploadVolumeFile', { summary: "Replace a volume's bytes with a file of the daemon's host (a job; unix socket only)", tag: 'volumes', params: S.VolumeParams, body: S.UploadFile, responses: { 202: S.Accepted } }),
    downloadVolumeFile: op('downloadVolumeFile', { summary: "Write a volume's bytes into a file of the daemon's host (a job; unix socket only)", tag: 'volumes', params: S.VolumeParams, body: S.DownloadFile, responses: { 202: S.Accepted } }),

    listSnapshots: op('listSnapshots', { summary: "List a volume's snapshots", tag: 'snapshots', params: S.VolumeParams, responses: { 200: Type.Array(S.Snapshot) } }),
    createSnapshot: op('createSnapshot', { summary: 'Take a snapshot', tag: 'snapshots', params: S.VolumeParams, body: S.CreateSnapshot, responses: { 201: S.Snapshot } }),
    revertSnapshot: op('revertSnapshot', { summary: 'Revert a volume to a snapshot (a job)', tag: 'snapshots', params: S.SnapshotParams, responses: { 202: S.Accepted } }),
    deleteSnapshot: op('deleteSnapshot', { summary: 'Delete a snapshot', tag: 'snapshots', params: S.SnapshotParams, responses: { 204: S.Empty } }),

    listNetworks: op('listNetworks', { summary: 'List networks', tag: 'networks', responses: { 200: Type.Array(N.Network) } }),
    defineNetwork: op('defineNetwork', { summary: 'Define a network', tag: 'networks', body: N.DefineNetwork, responses: { 201: N.Network } }),
    getNetwork: op('getNetwork', { summary: 'Network info', tag: 'networks', params: N.NetworkParams, responses: { 200: N.Network } }),
    patchNetwork: op('patchNetwork', { summary: 'Set autostart', tag: 'networks', params: N.NetworkParams, body: N.PatchNetwork, responses: { 200: N.Network } }),
    undefineNetwork: op('undefineNetwork', { summary: 'Undefine a stopped network and its ports', tag: 'networks', params: N.NetworkParams, responses: { 204: S.Empty } }),
    startNetwork: op('startNetwork', { summary: "Create the network's bridge, uplink and port interfaces (force: also on the uplink the API listens on)", tag: 'networks', params: N.NetworkParams, body: S.Force, responses: { 200: N.Network } }),
    stopNetwork: op('stopNetwork', { summary: "Remove the network's interfaces (force: also with ports in use)", tag: 'networks', params: N.NetworkParams, body: S.Force, responses: { 200: N.Network } }),

    listPorts: op('listPorts', { summary: "List a network's ports", tag: 'ports', params: N.NetworkParams, responses: { 200: Type.Array(N.Port) } }),
    createPort: op('createPort', { summary: 'Create a port (a tap or a veth pair) on a running network', tag: 'ports', params: N.NetworkParams, body: N.CreatePort, responses: { 201: N.Port } }),
    getPort: op('getPort', { summary: 'Port info', tag: 'ports', params: N.PortParams, responses: { 200: N.Port } }),
    deletePort: op('deletePort', { summary: 'Delete a port (force: also while in use)', tag: 'ports', params: N.PortParams, query: S.ForceQuery, responses: { 204: S.Empty } }),

    listVms: op('listVms', { summary: 'List VMs', tag: 'vms', responses: { 200: Type.Array(V.Vm) } }),
    defineVm: op('defineVm', { summary: 'Define a VM', tag: 'vms', body: V.DefineVm, responses: { 201: V.Vm } }),
    getVm: op('getVm', { summary: 'VM info', tag: 'vms', params: V.VmParams, responses: { 200: V.Vm } }),
    undefineVm: op('undefineVm', { summary: 'Undefine a stopped VM (its volumes stay)', tag: 'vms', params: V.VmParams, responses: { 204: S.Empty } }),
    startVm: op('startVm', { summary: 'Start a VM', tag: 'vms', params: V.VmParams, responses: { 200: V.Vm } }),
    stopVm: op('stopVm', { summary: 'Ask the guest to power down (ACPI); kill it after the timeout (seconds)', tag: 'vms', params: V.VmParams, body: V.StopVm, responses: { 200: V.Vm } }),
    killVm: op('killVm', { summary: 'End a VM at once', tag: 'vms', params: V.VmParams, responses: { 200: V.Vm } }),
    vmConsole: op('vmConsole', { summary: "The guest's serial console output from an offset", tag: 'vms', params: V.VmParams, query: V.ConsoleQuery, responses: { 200: V.ConsoleBody } }),
    attachDisk: op('attachDisk', { summary: 'Attach a volume as a disk (hot-plugged when running)', tag: 'vms', params: V.VmParams, body: V.AttachDisk, responses: { 200: V.Vm } }),
    detachDisk: op('detachDisk', { summary: 'Detach a disk (hot-unplugged when running)', tag: 'vms', params: V.VmParams, body: V.DetachDisk, responses: { 200: V.Vm } }),
    attachNic: op('attachNic', { summary: 'Attach a port as a NIC (hot-plugged when running)', tag: 'vms', params: V.VmParams, body: V.AttachNic, responses: { 200: V.Vm } }),
    detachNic: op('detachNic', { summary: 'Detach a NIC (hot-unplugged when running)', tag: 'vms', params: V.VmParams, body: V.AttachNic, responses: { 200: V.Vm } }),

    volumeAttachInfo: op('volumeAttachInfo', { summary: 'qemu arguments or libvirt <disk> XML for the volume', tag: 'vms', params: S.VolumeParams, query: V.AttachInfoQuery, responses: { 200: V.AttachInfo } }),
    portAttachInfo: op('portAttachInfo', { summary: 'qemu arguments or libvirt <interface> XML for the port', tag: 'vms', params: N.PortParams, query: V.PortAttachInfoQuery, responses: { 200: V.AttachInfo } }),

    listJobs: op('listJobs', { summary: 'List jobs', tag: 'jobs', responses: { 200: Type.Array(S.Job) } }),
    getJob: op('getJob', { summary: 'Job info', tag: 'jobs', params: S.JobParams, responses: { 200: S.Job } }),
    cancelJob: op('cancelJob', { summary: 'Cancel a running job', tag: 'jobs', params: S.JobParams, responses: { 200: S.Job } }),

    clusterStatus: op('clusterStatus', { summary: "The cluster's members and their state (etcd's word, now)", tag: 'cluster', responses: { 200: C.ClusterStatus } }),
    initCluster: op('initCluster', { summary: 'Make a cluster on an etcd, with this host its first member', tag: 'cluster', body: C.JoinCluster, responses: { 200: C.ClusterStatus } }),
    joinCluster: op('joinCluster', { summary: 'Add this host to the cluster an etcd holds', tag: 'cluster', body: C.JoinCluster, responses: { 200: C.ClusterStatus } }),
  } as const satisfies Record<OperationId, Operation>;
}

/** The operations table's type: what the client and handlers are typed from. */
export type Operations = ReturnType<typeof buildOperations>;

