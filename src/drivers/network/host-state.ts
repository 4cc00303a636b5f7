import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { tapsInUse } from '../../host/open-files.js';

export type { IpLink };

/** What network services read of the host's interfaces, through the network drivers. */
export const networkHost = {
  /** Every interface of the host (`ip -j -d link`). */
  links: (): Promise<IpLink[]> => iproute.links(),
  /** Names of the taps some process holds open (qemu holds its NICs' taps). */
  tapsInUse: (): Promise<Set<string>> => tapsInUse(),
};
