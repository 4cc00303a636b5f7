"""Reads many RBD images over one cluster connection (the rbd tool opens one per call).

Run by host/rbd-scan.ts with Debian's /usr/bin/python3 and Ceph's own bindings (python3-rados and
python3-rbd, which ceph-common brings):

  rbd-scan.py --conf /dev/null -m MONITORS --id USER --keyfile FILE --pool P [--namespace NS] stamps
      {name: stamp} of every image in the pool's directory
  rbd-scan.py ... read            (stdin: a JSON array of names)
      [facts] of those images, each read after its stamp
  rbd-scan.py ... watch SECONDS
      one JSON line per change: {"entry": [names]} (came, went, replaced), {"content": [names]}
      (header or object map changed); a number on stdin asks for a look at the names now, answered
      by {"looked": number}; ends when stdin closes (its caller is gone)
  rbd-scan.py ... remove-data     (stdin: {"id": ID, "objects": N})
      removes what is left of an image whose header is gone: its data objects 0..N-1 (named by its id)
      and its object map; prints {"removed": count}

An image's stamp is its id and the versions of its header object (size, snapshots, parent, features,
metadata, locks) and of its object map (which objects exist: what `rbd du` counts). An object's
version changes with every write to it and with nothing else: a reader that opens the image does not
change it. A stamp that has not changed means the image has not.

A failure ends the program with `rbd-scan: WHAT: (ERRNO) STRERROR` on stderr, as the rbd tool says it.
"""

import argparse
import errno
import json
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import rados
import rbd

# Requests in flight at once: each is a round trip to an OSD.
THREADS = 8
# Seconds to connect, and per request (librados would wait forever on a cluster that does not answer).
CONNECT_TIMEOUT = 10
OP_TIMEOUT = 30
# Stamps read between two looks at whether a listing asked for the names.
STAMPS_BATCH = 512


# Errors opening an image that say the image itself is missing or damaged: it is unreadable. Any other
# (the cluster refused, did not answer, is busy) fails the call.
THE_IMAGE = {errno.ENOENT, errno.EIO, errno.EINVAL, errno.EBADMSG, errno.ENOEXEC, errno.ERANGE}
# An RBD image id (format 2): lower-case hex.
IMAGE_ID = re.compile(r'[0-9a-f]{1,32}')


def fail(what, e):
    code = getattr(e, 'errno', None) or errno.EIO
    sys.stderr.write(f'rbd-scan: {what}: ({code}) {os.strerror(code)}: {e}\n')
    sys.stderr.flush()
    os._exit(1)


class Place:
    def __init__(self, args):
        conf = {
            'mon_host': args.monitors, 'keyfile': args.keyfile,
            'client_mount_timeout': str(CONNECT_TIMEOUT), 'err_to_stderr': 'true',
            'rados_mon_op_timeout': str(OP_TIMEOUT), 'rados_osd_op_timeout': str(OP_TIMEOUT),
        }
        self.pool, self.namespace = args.pool, args.namespace or ''
        try:
            self.cluster = rados.Rados(conffile=args.conf, rados_id=args.id, conf=conf)
            self.cluster.connect(timeout=CONNECT_TIMEOUT)
        except rados.Error as e:
            fail('the cluster', e)
        self.local = threading.local()

    def here(self, pool, namespace):
        return pool == self.pool and namespace == self.namespace

    def ioctx(self):
        """One per thread: an ioctx's last version is that of its own last request."""
        io = getattr(self.local, 'io', None)
        if io is None:
            io = self.cluster.open_ioctx(self.pool)
            io.set_namespace(self.namespace)
            self.local.io = io
        return io

    def directory(self):
        """{name: id} of the images the pool's directory holds (those whose header is gone too)."""
        return {i['name']: i['id'] for i in rbd.RBD().list2(self.ioctx())}

    def version(self, obj):
        io = self.ioctx()
        try:
            io.stat(obj)
        except rados.ObjectNotFound:
            return '-'
        return str(io.get_last_version())

    def stamp(self, image_id):
        return f'{image_id}:{self.version("rbd_header." + image_id)}:{self.version("rbd_object_map." + image_id)}'

    def stamps(self, images):
        """{name: stamp} of {name: id}, THREADS requests at a time."""
        names = list(images)
        with ThreadPoolExecutor(THREADS) as pool:
            return dict(zip(names, pool.map(lambda n: self.stamp(images[n]), names)))

    def facts(self, name, image_id, ids):
        """What kvmpool lists of an image, its stamp taken first: a change while it is read makes the next stamp differ."""
        stamp = self.stamp(image_id) if image_id else '-'
        try:
            image = rbd.Image(self.ioctx(), name, read_only=True)
        except rbd.ImageNotFound:
            if image_id is None:
                return {'name': name, 'missing': True}
            return {'name': name, 'id': image_id, 'unreadable': True}
        except (rbd.Error, rados.Error) as e:
            if getattr(e, 'errno', None) not in THE_IMAGE:
                raise
            return {'name': name, 'id': image_id, 'unreadable': True}
        try:
            features = image.features()
            # Without a valid object map, what it uses changes with no stamp: it is read again each time.
            trusted = features & rbd.RBD_FEATURE_OBJECT_MAP and not image.flags() & rbd.RBD_FLAG_OBJECT_MAP_INVALID
            return {'name': name, 'id': image.id(), 'stamp': stamp if trusted else f'{stamp}:untrusted', **described(image, features, self.here, ids)}
        finally:
            image.close()

    def read(self, names):
        images = self.directory()
        ids = set(images.values())
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(lambda n: self.facts(n, images.get(n), ids), names))


def described(image, features, here, ids):
    """Size, parent, the user's snapshots, features and used bytes as `rbd du` counts them (since the last snapshot).

    A parent of the same place whose id is not in the directory is in the trash (the bindings do not say).
    """
    snaps = [s for s in image.list_snaps() if s.get('namespace', rbd.RBD_SNAP_NAMESPACE_TYPE_USER) == rbd.RBD_SNAP_NAMESPACE_TYPE_USER]
    try:
        spec = image.get_parent_image_spec()
        parent_id = image.parent_id()
        parent = {'pool': spec['pool_name'], 'pool_namespace': spec['pool_namespace'], 'image': spec['image_name'], 'id': parent_id, 'snapshot': spec['snap_name'],
                  'trash': here(spec['pool_name'], spec['pool_namespace']) and parent_id not in ids}
    except rbd.ImageNotFound:
        parent = None
    used = [0]

    def count(offset, length, exists):
        if exists:
            used[0] += length

    # Quick with fast-diff (the object map says which objects exist); else each object is asked, as rbd du does.
    image.diff_iterate(0, image.size(), snaps[-1]['name'] if snaps else None, count, include_parent=False, whole_object=True)
    return {
        'size': image.size(),
        'used': used[0],
        'snapshots': [s['name'] for s in snaps],
        'parent': parent,
        'features': rbd.RBD().features_to_string(features).split(','),
        'objectSize': image.stat()['obj_size'],
    }


def watch(place, seconds):
    """Prints what changed: names every `seconds` (and whenever asked), stamps as often or, on a pool
    so large that reading them takes longer than a tenth of that, less often.

    A line on stdin (a number) asks for a look at the names now, also in the middle of a stamps pass:
    its changes are printed, then {"looked": number}. An image that came or was replaced is stamped
    before it is reported: a change after the caller read it is not missed.
    """
    asked = [0]
    wake = threading.Event()

    def requests():
        for line in sys.stdin:
            if line.strip().isdigit():
                asked[0] = max(asked[0], int(line))
                wake.set()
        os._exit(0)

    threading.Thread(target=requests, daemon=True).start()
    state = {'images': place.directory(), 'answered': 0}
    baseline = place.stamps(state['images'])

    def look():
        wake.clear()
        answering = asked[0]
        now = place.directory()
        entry = sorted(n for n in set(state['images']) | set(now) if state['images'].get(n) != now.get(n))
        # Stamped before they are reported, so before the caller reads them: a later change shows.
        came = place.stamps({n: now[n] for n in entry if n in now})
        for n in entry:
            baseline.pop(n, None)
        baseline.update(came)
        if entry:
            print(json.dumps({'entry': entry}), flush=True)
        state['images'] = now
        if answering > state['answered']:
            print(json.dumps({'looked': answering}), flush=True)
            state['answered'] = answering

    print(json.dumps({'ready': len(state['images'])}), flush=True)
    next_stamps = 0.0
    while True:
        wake.wait(seconds)
        look()
        if time.monotonic() < next_stamps:
            continue
        began = time.monotonic()
        images = dict(state['images'])
        names = list(images)
        fresh = {}
        for i in range(0, len(names), STAMPS_BATCH):
            fresh.update(place.stamps({n: images[n] for n in names[i:i + STAMPS_BATCH]}))
            if wake.is_set():
                look()
        next_stamps = began + max(seconds, 10 * (time.monotonic() - began))
        content = sorted(n for n, s in fresh.items() if n in baseline and images[n] == state['images'].get(n) and baseline[n] != s)
        if content:
            print(json.dumps({'content': content}), flush=True)
        for n, s in fresh.items():
            # A name replaced during the pass keeps the stamp its new image got when it came.
            if n in baseline and images[n] == state['images'].get(n):
                baseline[n] = s


def remove_data(place, image_id, objects):
    """Removes the objects of an image by their names; one that is not there (never written) is passed.

    Only those of an image that is gone: neither in the directory nor in the trash, its header gone.
    """
    trash = {t['id'] for t in rbd.RBD().trash_list(place.ioctx())}
    if image_id in place.directory().values() or image_id in trash or place.version(f'rbd_header.{image_id}') != '-':
        fail(f'image {image_id}', rados.Error('the image still exists: its objects are its own', errno=errno.EBUSY))

    def remove(name):
        try:
            place.ioctx().remove_object(name)
            return 1
        except rados.ObjectNotFound:
            return 0

    removed = 0
    with ThreadPoolExecutor(THREADS) as pool:
        for start in range(0, objects, 4096):
            removed += sum(pool.map(remove, [f'rbd_data.{image_id}.{i:016x}' for i in range(start, min(objects, start + 4096))]))
        return removed + remove(f'rbd_object_map.{image_id}')


def main():
    parser = argparse.ArgumentParser()
    # The connection as the Ceph tools take it (host/rbd.ts gives every tool the same).
    parser.add_argument('--conf', required=True)
    parser.add_argument('-m', dest='monitors', required=True)
    for flag in ('--id', '--keyfile', '--pool'):
        parser.add_argument(flag, required=True)
    parser.add_argument('--namespace', default='')
    parser.add_argument('mode', choices=['stamps', 'read', 'watch', 'remove-data'])
    parser.add_argument('seconds', nargs='?', type=float, default=2.0)
    args = parser.parse_args()
    place = Place(args)
    try:
        if args.mode == 'stamps':
            print(json.dumps(place.stamps(place.directory())))
        elif args.mode == 'read':
            print(json.dumps(place.read(json.load(sys.stdin))))
        elif args.mode == 'remove-data':
            image = json.load(sys.stdin)
            if not isinstance(image.get('id'), str) or not IMAGE_ID.fullmatch(image['id']) or type(image.get('objects')) is not int:
                fail('remove-data', rados.Error('an image id and a number of objects', errno=errno.EINVAL))
            print(json.dumps({'removed': remove_data(place, image['id'], image['objects'])}))
        else:
            watch(place, args.seconds)
    except BrokenPipeError:
        pass
    except (rados.Error, rbd.Error) as e:
        fail(f'the images of {args.pool}' + (f'/{args.namespace}' if args.namespace else ''), e)
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
