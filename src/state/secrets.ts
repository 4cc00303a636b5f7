import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { validateName } from '../model/names.js';

/**
 * Secrets (CIFS passwords, CHAP secrets, cephx keys) kept apart from the definitions: one file per
 * secret, mode 0600, in a directory of mode 0700 per owner (`pools/NAME/FIELD`). They are written,
 * handed to tools by their path, and removed; kvmpool never reads them back into an answer.
 */
export class SecretStore {
  constructor(private readonly dir: string) {}

  /** The directory of one owner's secrets (`pools/NAME`). */
  private ownerDir(kind: 'pools', owner: string): string {
    return path.join(this.dir, kind, validateName('pool', owner));
  }

  /**
   * Sets the secrets of an owner: exactly `values` (what an earlier owner of the name left is gone);
   * on a failure none is left. Returns each one's file by field name.
   */
  async put(kind: 'pools', owner: string, values: Record<string, string>): Promise<Record<string, string>> {
    const dir = this.ownerDir(kind, owner);
    await this.remove(kind, owner);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
      await chmod(path.dirname(dir), 0o700);
      await chmod(dir, 0o700);
      const files: Record<string, string> = {};
      for (const [field, value] of Object.entries(values)) {
        const file = path.join(dir, field);
        // Created with its mode: the value is never readable by others, not even for a moment.
        await writeFile(file, value, { mode: 0o600, flag: 'wx' });
        files[field] = file;
      }
      return files;
    } catch (e) {
      await this.remove(kind, owner);
      throw e;
    }
  }

  /** The files of an owner's secrets, by field name. */
  files(kind: 'pools', owner: string, fields: readonly string[]): Record<string, string> {
    const dir = this.ownerDir(kind, owner);
    return Object.fromEntries(fields.map((f) => [f, path.join(dir, f)]));
  }

  /** Removes an owner's secrets. */
  async remove(kind: 'pools', owner: string): Promise<void> {
    await rm(this.ownerDir(kind, owner), { recursive: true, force: true });
  }

  /**
   * Secrets for one request (a discovery's password): written as put writes them, in a directory of
   * their own; `remove` deletes them. Files left by a daemon that died meanwhile go with the next start's `sweep`.
   */
  async transient(values: Record<string, string>): Promise<{ files: Record<string, string>; remove: () => Promise<void> }> {
    const dir = path.join(this.dir, 'transient', randomBytes(8).toString('hex'));
    const remove = () => rm(dir, { recursive: true, force: true });
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
      await chmod(path.dirname(dir), 0o700);
      const files: Record<string, string> = {};
      for (const [field, value] of Object.entries(values)) {
        files[field] = path.join(dir, field);
        await writeFile(files[field]!, value, { mode: 0o600, flag: 'wx' });
      }
      return { files, remove };
    } catch (e) {
      await remove();
      throw e;
    }
  }

  /** Removes the transient secrets of earlier runs (at start, before any request). */
  async sweep(): Promise<void> {
    await rm(path.join(this.dir, 'transient'), { recursive: true, force: true });
  }
}
