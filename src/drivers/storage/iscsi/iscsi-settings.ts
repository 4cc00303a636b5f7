import { Type, type Static } from 'typebox';
import { errors } from '../../../model/errors.js';
import { checkIscsiName, parsePortal, portalText } from '../../../host/iscsi.js';

/** Where an iSCSI pool's volumes appear: udev's stable names of the LUNs. */
export const ISCSI_TARGET = '/dev/disk/by-path';

/** An iscsi pool's settings: the target, its portals, and how to log in. */
export const IscsiSettings = Type.Object(
  {
    portals: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { minItems: 1, maxItems: 8, description: 'the portals of the target, HOST[:PORT] (comma-separated: one session each)' }),
    iqn: Type.String({ minLength: 1, maxLength: 223, description: 'the target name (iqn.YYYY-MM.domain:name)' }),
    initiator: Type.Optional(Type.String({ minLength: 1, maxLength: 223, description: "log in as this initiator name (default: the host's own)" })),
    chapUser: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'the CHAP user this host logs in as' })),
    chapSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'the CHAP secret this host logs in with' })),
    mutualUser: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'mutual CHAP: the user the target answers as' })),
    mutualSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'mutual CHAP: the secret the target answers with' })),
    noMultipath: Type.Optional(Type.Boolean({ description: 'with several portals, use each LUN through one of them rather than a multipath map over all' })),
    direct: Type.Optional(Type.Boolean({ description: 'no session on the host: qemu reaches the LUNs itself (libiscsi); they are VM disks and copy sources only (one portal, one-way CHAP)' })),
  },
  { additionalProperties: false },
);
export type IscsiSource = Static<typeof IscsiSettings>;

/** Volumes of an iscsi pool are the target's LUNs: none are made, so there are no options. */
export const IscsiVolumeOptions = Type.Object({}, { additionalProperties: false });

const CHAP_USER = /^[A-Za-z0-9._@:-]+$/;

/** The settings checked beyond their schema (names, portals, CHAP in pairs), portals in one form. */
export function checkIscsiSource(s: IscsiSource, secrets: Record<string, string>): IscsiSource {
  const portals = [...new Set(s.portals.map((p) => portalText(parsePortal(p))))];
  checkIscsiName(s.iqn, 'iqn');
  if (s.initiator !== undefined) checkIscsiName(s.initiator, 'initiator');
  for (const f of ['chapUser', 'mutualUser'] as const) {
    const v = s[f];
    if (v !== undefined && !CHAP_USER.test(v)) throw errors.invalid(`${f} '${v}' has characters a CHAP user cannot have (letters, digits, . _ @ : -)`, { field: f });
  }
  if ((s.chapUser === undefined) !== (secrets['chapSecret'] === undefined)) throw errors.invalid('CHAP needs both the user (--chap-user) and the secret (--secret-file)');
  if ((s.mutualUser === undefined) !== (secrets['mutualSecret'] === undefined)) throw errors.invalid('mutual CHAP needs both the user (--mutual-user) and the secret (--mutual-secret-file)');
  if (s.mutualUser !== undefined && s.chapUser === undefined) throw errors.invalid('mutual CHAP needs one-way CHAP too (--chap-user, --secret-file)');
  return { ...s, portals };
}

/** Whether the pool's LUNs are used through multipath maps: with several portals, unless turned off. */
export const usesMultipath = (def: { source: IscsiSource }): boolean => def.source.portals.length > 1 && def.source.noMultipath !== true;
