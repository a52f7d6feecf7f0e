/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Reading a task's state for the process events (execve, clone ...): exe and arguments, cwd,
 * credentials, namespaces, cgroups, tty, memory. CO-RE reads, so one object fits every kernel
 * whose BTF has these fields.
 */
#pragma once

#define MAX_PATH_COMPONENTS 32
#define MAX_CGROUP_DEPTH 16
#define NAME_MASK 255
#define RLIMIT_NOFILE 7
#define PIDTYPE_PGID 2

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* container_of for kernel pointers read through CO-RE */
#define mount_of(vfsmnt) ((struct mount *)((void *)(vfsmnt) - bpf_core_field_offset(struct mount, mnt)))

/* A walk builds a path back to front in tmp[], ending at WALK_END (its NUL); the write position
 * is kept in map memory (s->walk_pos), not on the stack, so that the verifier sees an unknown
 * value and checks a walk's step once. */
#define WALK_END (TMP_CAP - 1)

static __always_inline void walk_start(struct scratch *s)
{
	s->tmp[WALK_END & TMP_MASK] = 0;
	s->walk_pos = WALK_END;
}

/* Puts "/name" in front of what the walk has built; 1 (stop the walk) when it does not fit. */
static __always_inline long walk_prepend(struct scratch *s, const void *name, u32 nlen)
{
	u32 pos = s->walk_pos;
	if (pos < nlen + 2 || pos > TMP_CAP)
		return 1;
	pos -= nlen;
	bpf_probe_read_kernel(&s->tmp[pos & TMP_MASK], nlen, name);
	pos -= 1;
	s->tmp[pos & TMP_MASK] = '/';
	s->walk_pos = pos;
	return 0;
}

/* Where the built path starts ("/" for a walk that added nothing); *len counts its NUL. */
static __always_inline u32 walk_finish(struct scratch *s, u32 *len)
{
	u32 pos = s->walk_pos;
	if (pos >= WALK_END) {
		pos = WALK_END - 1;
		s->tmp[pos & TMP_MASK] = '/';
	}
	*len = WALK_END + 1 - pos;
	return pos;
}

struct path_walk {
	struct scratch *s;
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
};

/* One step of the walk up from a dentry (a bpf_loop callback: the verifier checks it once,
 * not once per component). */
static long path_step(u32 i, void *ctx)
{
	struct path_walk *w = ctx;
	struct dentry *dentry = w->dentry;
	struct dentry *parent;
	struct scratch *s = w->s;
	if (!s || !dentry)
		return 1;
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == w->mnt_root) {
		struct mount *mnt = w->mnt;
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->mnt_root = BPF_CORE_READ(mnt_parent, mnt.mnt_root);
		return 0;
	}
	if (dentry == parent)
		return 1;
	u32 nlen = BPF_CORE_READ(dentry, d_name.len) & NAME_MASK;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	if (walk_prepend(s, name, nlen))
		return 1;
	w->dentry = parent;
	return 0;
}

/* Builds the path of (vfsmnt, dentry) back to front in tmp[]; returns the start offset and sets
 * *len to its length with the terminating NUL. */
static __always_inline u32 build_path(struct scratch *s, struct vfsmount *vfsmnt,
				      struct dentry *dentry, u32 *len)
{
	struct path_walk w = {
		.s = s,
		.dentry = dentry,
		.mnt = mount_of(vfsmnt),
		.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root),
	};
	walk_start(s);
	bpf_loop(MAX_PATH_COMPONENTS, path_step, &w, 0);
	return walk_finish(s, len);
}

static __always_inline void push_path(struct evb *e, struct vfsmount *mnt, struct dentry *dentry)
{
	u32 len = 0;
	u32 start;
	if (!mnt || !dentry) {
		push_empty(e);
		return;
	}
	start = build_path(e->s, mnt, dentry, &len);
	push_tmp(e, start, len);
}

static __always_inline void push_cwd(struct evb *e, struct task_struct *task)
{
	struct path pwd = BPF_CORE_READ(task, fs, pwd);
	push_path(e, pwd.mnt, pwd.dentry);
}

struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___pre615, parent))
		return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
	return BPF_CORE_READ(kn, __parent);
}

struct cgroup_walk {
	struct scratch *s;
	struct kernfs_node *kn;
};

static long cgroup_step(u32 i, void *ctx)
{
	struct cgroup_walk *w = ctx;
	struct scratch *s = w->s;
	struct kernfs_node *kn = w->kn;
	struct kernfs_node *parent;
	const char *name;
	u32 nlen;
	if (!s || !kn)
		return 1;
	parent = kn_parent(kn);
	if (!parent)
		return 1; /* the root's own name is empty */
	name = BPF_CORE_READ(kn, name);
	long n = bpf_probe_read_kernel_str(&s->tmp[TMP_CAP], 256, name);
	if (n <= 1)
		return 1;
	nlen = (u32)(n - 1) & NAME_MASK;
	if (walk_prepend(s, name, nlen))
		return 1;
	w->kn = parent;
	return 0;
}

/* The unified cgroup path, as "cpuset=P\0cpu=P\0memory=P\0pids=P\0" — the form libs gives a
 * cgroup v2 process, which container detection reads. */
static __always_inline void push_cgroups(struct evb *e, struct task_struct *task)
{
	struct scratch *s = e->s;
	struct cgroup_walk w = {
		.s = s,
		.kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn),
	};
	u32 plen; /* with NUL */
	walk_start(s);
	bpf_loop(MAX_CGROUP_DEPTH, cgroup_step, &w, 0);
	u32 pos = walk_finish(s, &plen);
	if (plen > 1024)
		plen = 1024;
	plen &= 2047;

	/* four entries: prefix, then the path */
	u32 start = e->pos;
#define CGROUP_ENTRY(prefix)                                                                  \
	__builtin_memcpy(&s->data[SAFE(e->pos)], prefix, sizeof(prefix) - 1);                   \
	e->pos += sizeof(prefix) - 1;                                                            \
	bpf_probe_read_kernel(&s->data[SAFE(e->pos)], plen, &s->tmp[pos & TMP_MASK]);          \
	e->pos += plen;
	CGROUP_ENTRY("cpuset=")
	CGROUP_ENTRY("cpu=")
	CGROUP_ENTRY("memory=")
	CGROUP_ENTRY("pids=")
#undef CGROUP_ENTRY
	evb_set_len(e, e->pos - start);
}

/* exe (argv[0]) and the arguments after it, from the task's memory. */
static __always_inline void push_exe_args(struct evb *e, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start, end;
	long n;

	if (!mm) {
		push_empty(e);
		push_empty(e);
		return;
	}
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	n = bpf_probe_read_user_str(&e->s->data[SAFE(e->pos)], PARAM_CAP, (void *)start);
	if (n <= 0) {
		push_empty(e);
		push_empty(e);
		return;
	}
	e->pos += n;
	evb_set_len(e, n);
	if (start + n >= end) {
		push_empty(e);
		return;
	}
	push_user_bytes(e, (void *)(start + n), end - start - n);
}

static __always_inline void push_env(struct evb *e, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start, end;
	if (!mm) {
		push_empty(e);
		return;
	}
	start = BPF_CORE_READ(mm, env_start);
	end = BPF_CORE_READ(mm, env_end);
	push_user_bytes(e, (void *)start, end - start);
}

static __always_inline u32 task_mm_kb(struct mm_struct *mm, int which)
{
	/* which: 0 vm_size, 1 rss, 2 swap; pages to KiB (4 KiB pages) */
	if (!mm)
		return 0;
	if (which == 0)
		return (u32)(BPF_CORE_READ(mm, total_vm) << 2);
	if (which == 1) {
		s64 file = BPF_CORE_READ(mm, rss_stat[0].count);
		s64 anon = BPF_CORE_READ(mm, rss_stat[1].count);
		s64 shm = BPF_CORE_READ(mm, rss_stat[3].count);
		s64 sum = file + anon + shm;
		return sum > 0 ? (u32)(sum << 2) : 0;
	}
	s64 swap = BPF_CORE_READ(mm, rss_stat[2].count);
	return swap > 0 ? (u32)(swap << 2) : 0;
}

static __always_inline s32 pid_vnr(struct pid *pid)
{
	unsigned int level;
	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	return BPF_CORE_READ(pid, numbers[level & 31].nr);
}

static __always_inline s32 pid_nr(struct pid *pid)
{
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

/*
 * A capability set as one u64. kernel_cap_t is `struct { u64 val; }` since Linux 6.3 and
 * `struct { u32 cap[2]; }` before; on x86_64 (little endian) both are the same 8 bytes, low
 * word first. The field is read whole: naming `.val` would leave a CO-RE relocation that
 * older kernels cannot resolve, and the program would not load there.
 */
_Static_assert(sizeof(kernel_cap_t) == sizeof(u64), "kernel_cap_t is 8 bytes on every kernel");
#define CRED_CAPS(cred, field)                                                \
	({                                                                        \
		u64 __caps = 0;                                                       \
		bpf_core_read(&__caps, sizeof(__caps), &(cred)->field);               \
		__caps;                                                               \
	})

/* inheritable, permitted, effective: the three capability sets execve and capset report */
static __always_inline void push_caps(struct evb *e, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	push_u64(e, CRED_CAPS(cred, cap_inheritable));
	push_u64(e, CRED_CAPS(cred, cap_permitted));
	push_u64(e, CRED_CAPS(cred, cap_effective));
}

static __always_inline u32 task_tty(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor = BPF_CORE_READ(tty, driver, minor_start);
	minor += index;
	/* new_encode_dev */
	return (u32)((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12));
}

static __always_inline u64 inode_time_ns(struct inode *ino, int mtime)
{
	if (bpf_core_field_exists(struct inode, i_ctime_sec)) {
		if (mtime)
			return BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ULL +
			       BPF_CORE_READ(ino, i_mtime_nsec);
		return BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ULL +
		       BPF_CORE_READ(ino, i_ctime_nsec);
	}
	return 0;
}

/* The clone/unshare/setns flag bits, as PPM_CL_* */
static __always_inline u32 clone_flags_to_scap(u64 f)
{
	u32 r = 0;
	if (f & 0x00000400) r |= 1;         /* CLONE_FILES */
	if (f & 0x00000200) r |= 2;         /* CLONE_FS */
	if (f & 0x80000000) r |= 4;         /* CLONE_IO */
	if (f & 0x08000000) r |= 8;         /* CLONE_NEWIPC */
	if (f & 0x40000000) r |= 16;        /* CLONE_NEWNET */
	if (f & 0x00020000) r |= 32;        /* CLONE_NEWNS */
	if (f & 0x20000000) r |= 64;        /* CLONE_NEWPID */
	if (f & 0x04000000) r |= 128;       /* CLONE_NEWUTS */
	if (f & 0x00008000) r |= 256;       /* CLONE_PARENT */
	if (f & 0x00100000) r |= 512;       /* CLONE_PARENT_SETTID */
	if (f & 0x00002000) r |= 1024;      /* CLONE_PTRACE */
	if (f & 0x00000800) r |= 2048;      /* CLONE_SIGHAND */
	if (f & 0x00040000) r |= 4096;      /* CLONE_SYSVSEM */
	if (f & 0x00010000) r |= 8192;      /* CLONE_THREAD */
	if (f & 0x00800000) r |= 16384;     /* CLONE_UNTRACED */
	if (f & 0x00000100) r |= 32768;     /* CLONE_VM */
	if (f & 0x10000000) r |= 1048576;   /* CLONE_NEWUSER */
	if (f & 0x00200000) r |= 8388608;   /* CLONE_CHILD_CLEARTID */
	if (f & 0x01000000) r |= 16777216;  /* CLONE_CHILD_SETTID */
	if (f & 0x00080000) r |= 33554432;  /* CLONE_SETTLS */
	if (f & 0x00004000) r |= 134217728; /* CLONE_VFORK */
	if (f & 0x02000000) r |= 268435456; /* CLONE_NEWCGROUP */
	return r;
}

static __always_inline u32 open_flags_to_scap(u64 f)
{
	u32 r = 0;
	switch (f & 3) {
	case 0: r |= 1; break; /* O_RDONLY */
	case 1: r |= 2; break; /* O_WRONLY */
	case 2: r |= 3; break; /* O_RDWR */
	}
	if (f & 0100) r |= 4;          /* O_CREAT */
	if (f & 02000) r |= 8;         /* O_APPEND */
	if (f & 010000) r |= 16;       /* O_DSYNC */
	if (f & 0200) r |= 32;         /* O_EXCL */
	if (f & 04000) r |= 64;        /* O_NONBLOCK */
	if (f & 04000000) r |= 128;    /* O_SYNC (__O_SYNC) */
	if (f & 01000) r |= 256;       /* O_TRUNC */
	if (f & 040000) r |= 512;      /* O_DIRECT */
	if (f & 0200000) r |= 1024;    /* O_DIRECTORY */
	if (f & 0100000) r |= 2048;    /* O_LARGEFILE */
	if (f & 02000000) r |= 4096;   /* O_CLOEXEC */
	if (f & 020000000) r |= 8192;  /* O_TMPFILE (__O_TMPFILE) */
	return r;
}

static __always_inline u32 task_flags_bits(struct task_struct *task)
{
	u32 r = 0;
	/* PPM_CL_IS_MAIN_THREAD when tid == tgid */
	if (BPF_CORE_READ(task, pid) == BPF_CORE_READ(task, tgid))
		r |= 1073741824;
	/* PPM_CL_CHILD_IN_PIDNS when the task is not in the initial pid namespace */
	if (BPF_CORE_READ(task, thread_pid, level) != 0)
		r |= 536870912;
	return r;
}

static __always_inline struct file *task_fd_file(struct task_struct *task, s64 fd)
{
	struct fdtable *fdt;
	struct file *f = 0;
	if (fd < 0)
		return 0;
	/* `task` is the current task's BTF pointer: plain loads, no helper calls */
	fdt = task->files->fdt;
	if ((u64)fd >= fdt->max_fds)
		return 0;
	/* an index the verifier cannot bound: one read through the helper */
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd & 0xffff]);
	return f;
}

/* The device and inode of the file behind `fd`. */
static __always_inline void fd_dev_ino(struct task_struct *task, s64 fd, u32 *dev, u64 *ino)
{
	struct file *f = task_fd_file(task, fd);
	*dev = 0;
	*ino = 0;
	if (!f)
		return;
	/* a pointer read from memory is a plain number to the verifier; cast back to BTF */
	f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
	struct inode *inode = f->f_inode;
	*ino = inode->i_ino;
	u32 kdev = inode->i_sb->s_dev;
	/* kernel dev_t (major << 20 | minor) to new_encode_dev */
	u32 major = kdev >> 20, minor = kdev & 0xfffff;
	*dev = (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

/* ---------------------------------------------------------------------------------------- */
/* the exe flags of execve/execveat (PPM_EXE_*), computed as libs' modern probe does them    */

#define PPM_EXE_WRITABLE 1
#define PPM_EXE_UPPER_LAYER 2
#define PPM_EXE_FROM_MEMFD 4
#define PPM_EXE_LOWER_LAYER 8

#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define SB_RDONLY 1
#define S_IMMUTABLE 8 /* inode i_flags */
#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFLNK 0120000
#define MAY_WRITE 2
#define CAP_DAC_OVERRIDE 1
#define CAP_FOWNER 3
#define UID_GID_MAP_MAX_BASE_EXTENTS 5
/* ngroups is at most NGROUPS_MAX (65536): a binary search ends within 17 probes */
#define MAX_GROUP_PROBES 17

struct group_search {
	struct group_info *gi;
	u32 gid;
	u32 lo, hi;
	int found;
};

/* One probe of the binary search in the sorted supplementary groups (a bpf_loop callback). */
static long group_step(u32 i, void *ctx)
{
	struct group_search *g = ctx;
	/* a local: inside BPF_CORE_READ, `g->gi` would be relocated as a kernel field */
	struct group_info *gi = g->gi;
	u32 mid, v;
	if (g->lo >= g->hi)
		return 1;
	mid = (g->lo + g->hi) / 2;
	v = BPF_CORE_READ(gi, gid[mid & 0xffff].val);
	if (g->gid > v) {
		g->lo = mid + 1;
	} else if (g->gid < v) {
		g->hi = mid;
	} else {
		g->found = 1;
		return 1;
	}
	return 0;
}

/* in_group_p() minus the fsgid test: `gid` is one of the credentials' supplementary groups. */
static __always_inline int cred_in_groups(const struct cred *cred, u32 gid)
{
	struct group_info *gi = BPF_CORE_READ(cred, group_info);
	struct group_search g = { .gi = gi, .gid = gid };
	if (!gi)
		return 0;
	g.hi = (u32)BPF_CORE_READ(gi, ngroups);
	bpf_loop(MAX_GROUP_PROBES, group_step, &g, 0);
	return g.found;
}

/* Whether a kernel id has a mapping in a user namespace's map (map_id_up() != -1). Only the
 * base extents are read, as libs does; a map of more than five extents keeps them in sorted
 * arrays the probe does not walk, and the id then counts as unmapped: the capability test
 * below says no rather than guess. */
static __always_inline int id_mapped(struct uid_gid_map *map, u32 id)
{
	u32 n = BPF_CORE_READ(map, nr_extents);
	if (n > UID_GID_MAP_MAX_BASE_EXTENTS)
		return 0;
	for (int j = 0; j < UID_GID_MAP_MAX_BASE_EXTENTS; j++) {
		if (j >= n)
			break;
		u32 lower = BPF_CORE_READ(map, extent[j].lower_first);
		u32 count = BPF_CORE_READ(map, extent[j].count);
		/* lower <= id <= lower + count - 1, without overflow */
		if (id - lower < count)
			return 1;
	}
	return 0;
}

/*
 * PPM_EXE_WRITABLE: the task could write (or make itself able to write) its own executable.
 * libs' test, in its order:
 *   - never on a read-only super block (for files, directories, symlinks), never when the
 *     inode is immutable, never when its owner or group has no mapping (-1);
 *   - the owner: the fsuid is the inode's uid (the owner may chmod it, so the mode bits do
 *     not matter: inode_owner_or_capable());
 *   - the mode bits, as acl_permission_check(): the group bits when the fsgid or a
 *     supplementary group is the inode's gid, else the "other" bits, must grant write
 *     (POSIX ACLs are not consulted);
 *   - the capabilities in the effective set: CAP_DAC_OVERRIDE with both the inode's uid and
 *     gid mapped in the task's user namespace, or CAP_FOWNER with its uid mapped.
 * The ids compared are kernel ids (kuid/kgid), as the kernel compares them. So root in the
 * initial namespace finds every exe on a writable file system writable.
 */
static __always_inline int exe_writable(struct task_struct *task, struct inode *inode)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	u32 mode = BPF_CORE_READ(inode, i_mode);
	u32 fmt = mode & S_IFMT;
	u32 uid, gid;
	u64 caps;

	if ((BPF_CORE_READ(inode, i_sb, s_flags) & SB_RDONLY) &&
	    (fmt == S_IFREG || fmt == S_IFDIR || fmt == S_IFLNK))
		return 0;
	if (BPF_CORE_READ(inode, i_flags) & S_IMMUTABLE)
		return 0;
	uid = BPF_CORE_READ(inode, i_uid.val);
	gid = BPF_CORE_READ(inode, i_gid.val);
	if (uid == (u32)-1 || gid == (u32)-1)
		return 0;
	if (BPF_CORE_READ(cred, fsuid.val) == uid)
		return 1;
	if (BPF_CORE_READ(cred, fsgid.val) == gid || cred_in_groups(cred, gid))
		mode >>= 3;
	if (mode & MAY_WRITE)
		return 1;
	caps = CRED_CAPS(cred, cap_effective);
	if (!(caps & ((1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER))))
		return 0;
	struct user_namespace *ns = BPF_CORE_READ(cred, user_ns);
	if (!ns)
		return 0;
	if (!id_mapped(&ns->uid_map, uid))
		return 0;
	if (caps & (1ULL << CAP_FOWNER))
		return 1;
	return id_mapped(&ns->gid_map, gid);
}

/*
 * PPM_EXE_UPPER_LAYER / PPM_EXE_LOWER_LAYER: the exe is on an overlayfs (a container's root
 * file system, as Docker and containerd mount it) and was written there after the mount
 * (upper: created or copied up, not in the image) or comes from the image (lower). 0 when
 * the exe is not on an overlayfs.
 *
 * The overlay inode is the `vfs_inode` inside a `struct ovl_inode`, whose `__upperdentry` is
 * set once the file has an upper copy; as libs does, upper also needs that dentry to have an
 * inode. The offset between the two fields comes from BTF (`ovl_inode` is in vmlinux's BTF
 * when overlayfs is built in, in the module's otherwise); without it, libs' layout is
 * assumed: `__upperdentry` right after `vfs_inode`.
 */
static __always_inline u32 exe_overlay_layer(struct file *exe)
{
	struct dentry *dentry = BPF_CORE_READ(exe, f_path.dentry);
	struct dentry *upper = 0;
	long off;

	if (BPF_CORE_READ(dentry, d_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	if (bpf_core_field_exists(struct ovl_inode, __upperdentry))
		off = (long)bpf_core_field_offset(struct ovl_inode, __upperdentry) -
		      (long)bpf_core_field_offset(struct ovl_inode, vfs_inode);
	else
		off = bpf_core_type_size(struct inode);
	bpf_probe_read_kernel(&upper, sizeof(upper), (void *)BPF_CORE_READ(dentry, d_inode) + off);
	if (upper && BPF_CORE_READ(upper, d_inode, i_ino))
		return PPM_EXE_UPPER_LAYER;
	return PPM_EXE_LOWER_LAYER;
}

/*
 * PPM_EXE_FROM_MEMFD: the exe is an anonymous memfd_create() file (its dentry is named
 * "memfd:<name>"), run through its fd: there is no file on disk.
 */
static __always_inline u32 exe_from_memfd(struct file *exe)
{
	char prefix[6] = {};
	const unsigned char *name = BPF_CORE_READ(exe, f_path.dentry, d_name.name);
	bpf_probe_read_kernel(prefix, sizeof(prefix), name);
	if (prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' &&
	    prefix[4] == 'd' && prefix[5] == ':')
		return PPM_EXE_FROM_MEMFD;
	return 0;
}

/* The `flags` parameter of the execve/execveat exit events; 0 without an exe file. */
static __always_inline u32 exe_flags(struct task_struct *task, struct file *exe)
{
	struct inode *inode;
	u32 flags;
	if (!exe)
		return 0;
	inode = BPF_CORE_READ(exe, f_inode);
	flags = exe_overlay_layer(exe) | exe_from_memfd(exe);
	if (inode && exe_writable(task, inode))
		flags |= PPM_EXE_WRITABLE;
	return flags;
}
