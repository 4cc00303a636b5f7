import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startCeph } from './ceph.js';

/**
 * A throw-away one-node Ceph cluster to try rbd pools with (README): `node dist/test/helpers/try-ceph.js DIR`
 * starts it in DIR (127.0.0.1 only, data in memory), makes the RBD pool `vms` and the user `kvmpool`,
 * prints the monitor and the key file, and runs until interrupted; then it stops and removes DIR/ceph.
 */
const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node dist/test/helpers/try-ceph.js DIR\n');
  process.exit(2);
}
await mkdir(dir, { recursive: true });
const cluster = await startCeph(path.join(path.resolve(dir), 'ceph'));
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cluster.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
try {
  await cluster.makePool('vms');
  const keyFile = await cluster.makeUser('kvmpool', ['vms']);
  process.stdout.write(`monitor ${cluster.monitor}\nkey ${keyFile}\n`);
  process.stdout.write(`kvmpool pool define ceph --type rbd --monitors ${cluster.monitor} --rbd-pool vms --user kvmpool --secret-file ${keyFile}\n`);
  process.stdout.write('ready (Ctrl-C stops the cluster and removes it)\n');
} catch (e) {
  await cluster.stop();
  throw e;
}
setInterval(() => {}, 1 << 30);
