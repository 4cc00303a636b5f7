import { run } from '../../src/host/exec.js';

/**
 * Network namespaces and veth pairs for network tests: namespaces stand in for VMs and for the world
 * beyond an uplink. Every name starts with `kt<pid><letter>` and every interface a lab makes carries the
 * alias `kvmpool-test`, so `cleanup` (and scripts/sweep-tests.sh, after a killed run) removes exactly
 * what tests made: the lab's namespaces (with the interfaces inside), its interfaces, and interfaces
 * kvmpool made for networks named with the lab's prefix.
 */
export class NetLab {
  private static count = 0;
  readonly prefix: string;
  private readonly namespaces: string[] = [];

  constructor() {
    this.prefix = `kt${process.pid}${String.fromCharCode(97 + (NetLab.count++ % 26))}`;
  }

  /** A name for a network, namespace or interface of this lab (at most 15 bytes). */
  name(role: string): string {
    const name = `${this.prefix}${role}`;
    if (name.length > 15) throw new Error(`test interface name ${name} is longer than 15 bytes`);
    return name;
  }

  /** Makes a namespace with its loopback up; returns its name. */
  async netns(role: string): Promise<string> {
    const ns = this.name(role);
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await this.in(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Makes a veth pair `a`-`b`; `b` goes into namespace `ns` (with `address` and up) when given. */
  async veth(a: string, b: string, options: { ns?: string; address?: string } = {}): Promise<void> {
    // `name` keywords throughout: iproute2 reads a bare name like `br` as an abbreviated keyword.
    await run('ip', ['link', 'add', 'name', a, 'type', 'veth', 'peer', 'name', b]);
    await run('ip', ['link', 'set', 'dev', a, 'alias', 'kvmpool-test']);
    await run('ip', ['link', 'set', 'dev', b, 'alias', 'kvmpool-test']);
    if (options.ns) await this.moveInto(b, options.ns, options.address);
  }

  /** A stand-in NIC: a veth `role` (up, with `address` if given) whose peer `role`x stays unplugged. */
  async uplink(role: string, address?: string): Promise<string> {
    const name = this.name(role);
    await this.veth(name, this.name(`${role}x`));
    if (address) await run('ip', ['addr', 'add', address, 'dev', name]);
    await run('ip', ['link', 'set', 'dev', name, 'up']);
    return name;
  }

  /** Moves interface `dev` into `ns`, gives it `address` and sets it up. */
  async moveInto(dev: string, ns: string, address?: string): Promise<void> {
    await run('ip', ['link', 'set', 'dev', dev, 'netns', ns]);
    if (address) await this.in(ns, ['ip', 'addr', 'add', address, 'dev', dev]);
    await this.in(ns, ['ip', 'link', 'set', 'dev', dev, 'up']);
  }

  /** Runs a command inside `ns`. */
  in(ns: string, argv: string[]): Promise<{ stdout: string }> {
    return run('ip', ['netns', 'exec', ns, ...argv], { timeoutMs: 30_000 });
  }

  /** Whether `ns` (or the host, when null) gets an answer from `address` (a few tries: a new port may still be settling). */
  async pings(ns: string | null, address: string, tries = 3): Promise<boolean> {
    const argv = ['ping', '-n', '-q', '-c', '1', '-W', '1', address];
    for (let i = 0; i < tries; i++) {
      const ok = await (ns ? this.in(ns, argv) : run(argv[0]!, argv.slice(1))).then(() => true, () => false);
      if (ok) return true;
    }
    return false;
  }

  /**
   * Names of the host's interfaces, sorted (to compare before and after), without those of other test
   * processes running at the same time (named or aliased `kt<their pid>`).
   */
  static async hostInterfaces(): Promise<string[]> {
    const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string; ifalias?: string }[];
    const others = (text: string | undefined, pattern: RegExp) => {
      const pid = text && pattern.exec(text)?.[1];
      return pid !== undefined && pid !== '' && Number(pid) !== process.pid;
    };
    return links.filter((l) => !others(l.ifname, /^kt(\d+)[a-z]/) && !others(l.ifalias, /^kvmpool:kt(\d+)[a-z]/)).map((l) => l.ifname).sort();
  }

  /** Interfaces kvmpool made for this lab's networks that still exist (none once they are all stopped). */
  async kvmpoolLeftovers(): Promise<string[]> {
    const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string; ifalias?: string }[];
    return links.filter((l) => l.ifalias?.startsWith(`kvmpool:${this.prefix}`)).map((l) => l.ifname);
  }

  /** Removes the lab's namespaces and every interface it or kvmpool made for it. */
  async cleanup(): Promise<void> {
    for (const ns of this.namespaces.splice(0)) await run('ip', ['netns', 'del', ns]).catch(() => {});
    const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string; ifalias?: string }[];
    const ours = links.filter((l) => (l.ifalias === 'kvmpool-test' && l.ifname.startsWith(this.prefix)) || l.ifalias?.startsWith(`kvmpool:${this.prefix}`));
    for (const l of ours) await run('ip', ['link', 'del', 'dev', l.ifname]).catch(() => {});
  }
}
