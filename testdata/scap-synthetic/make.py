#!/usr/bin/env python3
"""Builds the synthetic captures of this directory: one per block layout or oddity that the
fixture captures do not hold (process lists V1 to V9 and their old block codes, version-1 and
flagged and large event blocks, unknown and pcapng blocks, concatenated sections, damaged
framing ...). crates/lanner/tests/synthetic.rs reads them; scripts/make-inspect-goldens records
what Debian's sysdig prints for those it opens.

Run from anywhere: python3 testdata/scap-synthetic/make.py"""
import struct, gzip, os

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
                cgroups=b'', env=b'', root=b'/'):
    e = struct.pack('<QQQQQ', tid, pid, 1, pid, pid)
    e += s16(comm) + s16(exe) + s16(exe) + s16(args) + s16(cwd)
    e += struct.pack('<QIII', 1024, 0, uid, gid)
    e += struct.pack('<IIIQQ', 100, 50, 0, 0, 0)
    e += s16(env) + struct.pack('<qq', tid, pid) + s16(cgroups) + s16(root)
    if tail == '2022':      # what libs 2022-03 writes after root
        e += struct.pack('<IB', loginuid, 0)
    elif tail == 'modern':  # libs >= 0.10: pidns_init_start_ts, tty, loginuid, exe_writable, caps, upper, ino x3
        e += struct.pack('<QiIB', 0x1111111122222222, 0, loginuid, 0) + struct.pack('<QQQ', 0, 0, 0)
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
