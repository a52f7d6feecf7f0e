/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * lanner's kernel probe: scap exit events for the system calls rules and state need.
 *
 * Every syscall has one filler, `fill_<name>(regs, ret)`, which reads the arguments from the
 * saved user registers and the results from the task, and writes the libs exit event (and, when
 * the exit event of this libs table lacks arguments the enter event has, the enter event just
 * before it). Each filler is instantiated three times:
 *
 *   fexit programs `f_<name>`              on the syscall's own function (__x64_sys_<name>):
 *                                          the cheapest, where the kernel lets trampolines load;
 *   tp_btf/sys_exit programs `x_<name>`   tail-called by `dispatch_exit`, attached once to the
 *                                          raw sys_exit tracepoint; the program array doubles
 *                                          as the interest table (no entry: nothing happens).
 *   tracepoint programs `t_<name>`         attached to syscalls:sys_exit_<name> directly; then
 *                                          syscalls nobody needs never enter BPF at all.
 *
 * Userspace loads only the programs of the chosen mode and the syscalls needed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "event.h"
#include "task.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_SYSCALLS 512

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u32);
} exit_tail SEC(".maps");

/* x86_64 argument registers of a syscall. `r` is a BTF pointer in both program kinds (the
 * tp_btf argument, bpf_task_pt_regs()), so these are plain loads the verifier guards, not
 * helper calls. */
#define ARG0(r) ((r)->di)
#define ARG1(r) ((r)->si)
#define ARG2(r) ((r)->dx)
#define ARG3(r) ((r)->r10)
#define ARG4(r) ((r)->r8)
#define ARG5(r) ((r)->r9)

/* libs event type codes (ppm_event_code), checked against the libs table by a Rust test */
enum {
	E_OPEN_X = 3,
	E_CLOSE_E = 4,
	E_CLOSE_X = 5,
	E_SOCKET_X = 19,
	E_BIND_X = 21,
	E_CONNECT_X = 23,
	E_LISTEN_X = 25,
	E_CREAT_X = 59,
	E_PIPE_X = 61,
	E_CHDIR_X = 95,
	E_FCHDIR_E = 96,
	E_FCHDIR_X = 97,
	E_KILL_E = 128,
	E_KILL_X = 129,
	E_FCNTL_X = 151,
	E_PTRACE_E = 168,
	E_PTRACE_X = 169,
	E_RENAME_X = 175,
	E_RENAMEAT_X = 177,
	E_SYMLINK_X = 179,
	E_SYMLINKAT_X = 181,
	E_PROCEXIT_E = 186,
	E_SETRESUID_E = 192,
	E_SETRESUID_X = 193,
	E_SETRESGID_E = 194,
	E_SETRESGID_X = 195,
	E_SETUID_E = 198,
	E_SETUID_X = 199,
	E_SETGID_E = 200,
	E_SETGID_X = 201,
	E_CLONE_X = 223,
	E_FORK_X = 225,
	E_VFORK_X = 227,
	E_SETNS_E = 240,
	E_SETNS_X = 241,
	E_ACCEPT_X = 247,
	E_MOUNT_E = 256,
	E_MOUNT_X = 257,
	E_CHROOT_X = 267,
	E_MKDIR_X = 277,
	E_RMDIR_X = 279,
	E_UNSHARE_E = 284,
	E_UNSHARE_X = 285,
	E_EXECVE_X = 293,
	E_UNLINK_X = 301,
	E_UNLINKAT_X = 303,
	E_MKDIRAT_X = 305,
	E_OPENAT_X = 307,
	E_LINK_X = 309,
	E_LINKAT_X = 311,
	E_FCHMODAT_X = 313,
	E_CHMOD_X = 315,
	E_FCHMOD_X = 317,
	E_RENAMEAT2_X = 319,
	E_OPENAT2_X = 327,
	E_EXECVEAT_X = 331,
	E_CLONE3_X = 335,
	E_CAPSET_X = 353,
	E_DUP2_X = 363,
	E_DUP3_X = 365,
	E_DUP_X = 367,
	E_BPF_X = 369,
	E_ACCEPT4_X = 389,
	E_UMOUNT2_E = 390,
	E_UMOUNT2_X = 391,
	E_PIPE2_X = 393,
	E_PRCTL_X = 401,
	E_MEMFD_CREATE_X = 405,
	E_INIT_MODULE_X = 411,
	E_FINIT_MODULE_X = 413,
	E_SETREUID_X = 427,
	E_SETREGID_X = 429,
};

/* fill_<name> for a syscall whose filler is a shared one given its event type */
#define FILLER_OF(name, shared, type)                                                              \
	static __always_inline int fill_##name(struct pt_regs *regs, long ret)                     \
	{                                                                                          \
		return shared(type, regs, ret);                                                    \
	}

/* ---------------------------------------------------------------------------------------- */
/* simple events                                                                             */

/* Starts a record with an enter event of up to three integer arguments (the exit event of this
 * libs table lacks them): the setuid family etc. Returns 0 when no event is to be made. */
static __always_inline int start_enter_ints(struct evb *e, u16 type, u32 n, u64 a, u64 b, u64 c,
					    u32 sa, u32 sb, u32 sc)
{
	if (!evb_start(e, type, n))
		return 0;
	/* sizes of each argument: 1, 2, 4 or 8 bytes */
#define PUSH_SIZED(v, sz)                                                                          \
	if (sz == 1)                                                                               \
		push_u8(e, v);                                                                     \
	else if (sz == 2)                                                                          \
		push_u16(e, v);                                                                    \
	else if (sz == 4)                                                                          \
		push_u32(e, v);                                                                    \
	else                                                                                       \
		push_u64(e, v);
	if (n > 0) {
		PUSH_SIZED(a, sa)
	}
	if (n > 1) {
		PUSH_SIZED(b, sb)
	}
	if (n > 2) {
		PUSH_SIZED(c, sc)
	}
#undef PUSH_SIZED
	return 1;
}

/* The exit event with res only, after the enter event `e` holds; submits both. */
static __always_inline int then_res(struct evb *e, u16 type, long ret)
{
	evb_then(e, type, 1);
	push_u64(e, ret);
	return evb_submit(e);
}

/* An enter event with integer arguments, then its exit event with res only. */
#define ENTER_INTS_THEN_RES(enter, exit, ret, n, a, b, c, sa, sb, sc)                              \
	{                                                                                          \
		struct evb e;                                                                      \
		if (!start_enter_ints(&e, enter, n, a, b, c, sa, sb, sc))                          \
			return 0;                                                                  \
		return then_res(&e, exit, ret);                                                    \
	}

static __always_inline int fill_close(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_CLOSE_E, E_CLOSE_X, ret, 1, ARG0(regs), 0, 0, 8, 0, 0)

static __always_inline int fill_fchdir(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_FCHDIR_E, E_FCHDIR_X, ret, 1, ARG0(regs), 0, 0, 8, 0, 0)

static __always_inline int fill_kill(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_KILL_E, E_KILL_X, ret, 2, ARG0(regs), ARG1(regs), 0, 8, 1, 0)

static __always_inline int fill_setuid(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_SETUID_E, E_SETUID_X, ret, 1, ARG0(regs), 0, 0, 4, 0, 0)

static __always_inline int fill_setgid(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_SETGID_E, E_SETGID_X, ret, 1, ARG0(regs), 0, 0, 4, 0, 0)

static __always_inline int fill_setresuid(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_SETRESUID_E, E_SETRESUID_X, ret, 3, ARG0(regs), ARG1(regs), ARG2(regs), 4,
		    4, 4)

static __always_inline int fill_setresgid(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_SETRESGID_E, E_SETRESGID_X, ret, 3, ARG0(regs), ARG1(regs), ARG2(regs), 4,
		    4, 4)

static __always_inline int fill_setre(u16 type, struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, type, 3))
		return 0;
	push_u64(&e, ret);
	push_u32(&e, ARG0(regs));
	push_u32(&e, ARG1(regs));
	return evb_submit(&e);
}

FILLER_OF(setreuid, fill_setre, E_SETREUID_X)
FILLER_OF(setregid, fill_setre, E_SETREGID_X)
static __always_inline int fill_setns(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_SETNS_E, E_SETNS_X, ret, 2, ARG0(regs), clone_flags_to_scap(ARG1(regs)), 0,
		    8, 4, 0)

static __always_inline int fill_unshare(struct pt_regs *regs, long ret)
ENTER_INTS_THEN_RES(E_UNSHARE_E, E_UNSHARE_X, ret, 1, clone_flags_to_scap(ARG0(regs)), 0, 0, 4, 0,
		    0)

static __always_inline u16 ptrace_request_to_scap(u64 req)
{
	switch (req) {
	case 0: return 1;       /* TRACEME */
	case 1: return 2;       /* PEEKTEXT */
	case 2: return 3;       /* PEEKDATA */
	case 3: return 4;       /* PEEKUSR */
	case 4: return 5;       /* POKETEXT */
	case 5: return 6;       /* POKEDATA */
	case 6: return 7;       /* POKEUSR */
	case 7: return 8;       /* CONT */
	case 8: return 9;       /* KILL */
	case 9: return 10;      /* SINGLESTEP */
	case 12: return 26;     /* GETREGS */
	case 13: return 27;     /* SETREGS */
	case 14: return 28;     /* GETFPREGS */
	case 15: return 29;     /* SETFPREGS */
	case 16: return 11;     /* ATTACH */
	case 17: return 12;     /* DETACH */
	case 24: return 13;     /* SYSCALL */
	case 0x4200: return 14; /* SETOPTIONS */
	case 0x4201: return 15; /* GETEVENTMSG */
	case 0x4202: return 16; /* GETSIGINFO */
	case 0x4203: return 17; /* SETSIGINFO */
	case 0x4204: return 18; /* GETREGSET */
	case 0x4205: return 19; /* SETREGSET */
	case 0x4206: return 20; /* SEIZE */
	case 0x4207: return 21; /* INTERRUPT */
	case 0x4208: return 22; /* LISTEN */
	}
	return 0;
}

static __always_inline int fill_ptrace(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!start_enter_ints(&e, E_PTRACE_E, 2, ptrace_request_to_scap(ARG0(regs)), ARG1(regs), 0,
			      2, 8, 0))
		return 0;
	evb_then(&e, E_PTRACE_X, 3);
	push_u64(&e, ret);
	/* dynamic parameters: an index byte (PPM_PTRACE_IDX_UINT64), then the value */
	e.s->data[SAFE(e.pos)] = 0;
	*(u64 *)&e.s->data[SAFE(e.pos + 1)] = ARG2(regs);
	e.pos += 9;
	evb_set_len(&e, 9);
	e.s->data[SAFE(e.pos)] = 0;
	*(u64 *)&e.s->data[SAFE(e.pos + 1)] = ARG3(regs);
	e.pos += 9;
	evb_set_len(&e, 9);
	return evb_submit(&e);
}

static __always_inline int fill_capset(struct pt_regs *regs, long ret)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	if (!evb_start(&e, E_CAPSET_X, 4))
		return 0;
	push_u64(&e, ret);
	push_caps(&e, task);
	return evb_submit(&e);
}

/* ---------------------------------------------------------------------------------------- */
/* files                                                                                     */

static __always_inline int fill_open_common(u16 type, struct pt_regs *regs, long ret, int at,
					    int two)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	u32 dev;
	u64 ino;
	u64 flags = 0, mode = 0, resolve = 0;
	const char *name;
	u32 n = type == E_OPEN_X ? 6 : (two ? 8 : 7);

	if (!evb_start(&e, type, n))
		return 0;
	if (at) {
		name = (const char *)ARG1(regs);
		if (two) {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)ARG2(regs));
			flags = how.flags;
			mode = how.mode;
			resolve = how.resolve;
		} else {
			flags = ARG2(regs);
			mode = ARG3(regs);
		}
	} else {
		name = (const char *)ARG0(regs);
		flags = ARG1(regs);
		mode = ARG2(regs);
	}
	fd_dev_ino(task, ret, &dev, &ino);
	push_u64(&e, ret);
	if (at)
		push_u64(&e, (s64)(s32)ARG0(regs));
	push_user_str(&e, name);
	push_u32(&e, open_flags_to_scap(flags));
	push_u32(&e, (u32)mode);
	if (two)
		push_u32(&e, (u32)resolve);
	push_u32(&e, dev);
	push_u64(&e, ino);
	return evb_submit(&e);
}

static __always_inline int fill_open(struct pt_regs *regs, long ret)
{
	return fill_open_common(E_OPEN_X, regs, ret, 0, 0);
}

static __always_inline int fill_openat(struct pt_regs *regs, long ret)
{
	return fill_open_common(E_OPENAT_X, regs, ret, 1, 0);
}

static __always_inline int fill_openat2(struct pt_regs *regs, long ret)
{
	return fill_open_common(E_OPENAT2_X, regs, ret, 1, 1);
}

static __always_inline int fill_creat(struct pt_regs *regs, long ret)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	u32 dev;
	u64 ino;
	if (!evb_start(&e, E_CREAT_X, 6))
		return 0;
	fd_dev_ino(task, ret, &dev, &ino);
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	push_u32(&e, (u32)ARG1(regs));
	push_u32(&e, dev);
	push_u64(&e, ino);
	push_u16(&e, 0);
	return evb_submit(&e);
}

/* res, then one user path: mkdir, rmdir, unlink, chdir, chroot */
static __always_inline int fill_res_path(u16 type, struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, type, 2))
		return 0;
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	return evb_submit(&e);
}

FILLER_OF(mkdir, fill_res_path, E_MKDIR_X)
FILLER_OF(rmdir, fill_res_path, E_RMDIR_X)
FILLER_OF(unlink, fill_res_path, E_UNLINK_X)
FILLER_OF(chdir, fill_res_path, E_CHDIR_X)
FILLER_OF(chroot, fill_res_path, E_CHROOT_X)
static __always_inline int fill_umount2(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!start_enter_ints(&e, E_UMOUNT2_E, 1, ARG1(regs), 0, 0, 4, 0, 0))
		return 0;
	evb_then(&e, E_UMOUNT2_X, 2);
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	return evb_submit(&e);
}

/* res, dirfd, a path relative to it, one 32-bit argument as the syscall has it (unlinkat's
 * AT_REMOVEDIR, mkdirat's and fchmodat's mode have the same values in libs) */
static __always_inline int fill_dirfd_path_u32(u16 type, struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, type, 4))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_user_str(&e, (const char *)ARG1(regs));
	push_u32(&e, (u32)ARG2(regs));
	return evb_submit(&e);
}

FILLER_OF(unlinkat, fill_dirfd_path_u32, E_UNLINKAT_X)
FILLER_OF(mkdirat, fill_dirfd_path_u32, E_MKDIRAT_X)
FILLER_OF(fchmodat, fill_dirfd_path_u32, E_FCHMODAT_X)

/* res, oldpath, newpath: rename, link, symlink (target, linkpath) */
static __always_inline int fill_two_paths(u16 type, struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, type, 3))
		return 0;
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	push_user_str(&e, (const char *)ARG1(regs));
	return evb_submit(&e);
}

FILLER_OF(rename, fill_two_paths, E_RENAME_X)
FILLER_OF(link, fill_two_paths, E_LINK_X)
FILLER_OF(symlink, fill_two_paths, E_SYMLINK_X)
static __always_inline int fill_symlinkat(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_SYMLINKAT_X, 4))
		return 0;
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	push_u64(&e, (s64)(s32)ARG1(regs));
	push_user_str(&e, (const char *)ARG2(regs));
	return evb_submit(&e);
}

/* res, olddirfd, oldpath, newdirfd, newpath [, flags] */
static __always_inline int fill_at_pair(u16 type, struct pt_regs *regs, long ret, int with_flags,
					u32 flags)
{
	struct evb e;
	if (!evb_start(&e, type, with_flags ? 6 : 5))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_user_str(&e, (const char *)ARG1(regs));
	push_u64(&e, (s64)(s32)ARG2(regs));
	push_user_str(&e, (const char *)ARG3(regs));
	if (with_flags)
		push_u32(&e, flags);
	return evb_submit(&e);
}

static __always_inline int fill_renameat(struct pt_regs *regs, long ret)
{
	return fill_at_pair(E_RENAMEAT_X, regs, ret, 0, 0);
}
static __always_inline int fill_renameat2(struct pt_regs *regs, long ret)
{
	return fill_at_pair(E_RENAMEAT2_X, regs, ret, 1, (u32)ARG4(regs) & 7);
}
static __always_inline int fill_linkat(struct pt_regs *regs, long ret)
{
	return fill_at_pair(E_LINKAT_X, regs, ret, 1, (u32)ARG4(regs));
}

static __always_inline int fill_chmod(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_CHMOD_X, 3))
		return 0;
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	push_u32(&e, (u32)ARG1(regs));
	return evb_submit(&e);
}

static __always_inline int fill_fchmod(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_FCHMOD_X, 3))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_u32(&e, (u32)ARG1(regs));
	return evb_submit(&e);
}

static __always_inline int fill_dup(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_DUP_X, 2))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	return evb_submit(&e);
}

static __always_inline int fill_dup2(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_DUP2_X, 3))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_u64(&e, (s64)(s32)ARG1(regs));
	return evb_submit(&e);
}

static __always_inline int fill_dup3(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_DUP3_X, 4))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_u64(&e, (s64)(s32)ARG1(regs));
	push_u32(&e, open_flags_to_scap(ARG2(regs)) & 4096);
	return evb_submit(&e);
}

static __always_inline u8 fcntl_cmd_to_scap(u64 cmd)
{
	switch (cmd) {
	case 0: return 1;    /* F_DUPFD */
	case 1: return 2;    /* F_GETFD */
	case 2: return 3;    /* F_SETFD */
	case 3: return 4;    /* F_GETFL */
	case 4: return 5;    /* F_SETFL */
	case 5: return 6;    /* F_GETLK */
	case 6: return 8;    /* F_SETLK */
	case 7: return 9;    /* F_SETLKW */
	case 8: return 10;   /* F_SETOWN */
	case 9: return 12;   /* F_GETOWN */
	case 1030: return 26; /* F_DUPFD_CLOEXEC */
	}
	return 0;
}

static __always_inline int fill_fcntl(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_FCNTL_X, 3))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_u8(&e, fcntl_cmd_to_scap(ARG1(regs)));
	return evb_submit(&e);
}

static __always_inline int fill_pipe_common(u16 type, struct pt_regs *regs, long ret, int two)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	int fds[2] = {-1, -1};
	u32 dev;
	u64 ino = 0;
	if (!evb_start(&e, type, two ? 5 : 4))
		return 0;
	if (ret == 0)
		bpf_probe_read_user(fds, sizeof(fds), (void *)ARG0(regs));
	fd_dev_ino(task, fds[0], &dev, &ino);
	push_u64(&e, ret);
	push_u64(&e, (s64)fds[0]);
	push_u64(&e, (s64)fds[1]);
	push_u64(&e, ino);
	if (two)
		push_u32(&e, open_flags_to_scap(ARG1(regs)));
	return evb_submit(&e);
}

static __always_inline int fill_pipe(struct pt_regs *regs, long ret)
{
	return fill_pipe_common(E_PIPE_X, regs, ret, 0);
}
static __always_inline int fill_pipe2(struct pt_regs *regs, long ret)
{
	return fill_pipe_common(E_PIPE2_X, regs, ret, 1);
}

static __always_inline int fill_memfd_create(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_MEMFD_CREATE_X, 3))
		return 0;
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	push_u32(&e, (u32)ARG1(regs) & 7);
	return evb_submit(&e);
}

static __always_inline int fill_mount(struct pt_regs *regs, long ret)
{
	struct evb e;
	u64 flags = ARG3(regs);
	/* the magic value old callers put in the top half is not a flag */
	if ((flags & 0xffff0000) == 0xc0ed0000)
		flags &= 0xffff;
	if (!start_enter_ints(&e, E_MOUNT_E, 1, flags, 0, 0, 4, 0, 0))
		return 0;
	evb_then(&e, E_MOUNT_X, 4);
	push_u64(&e, ret);
	push_user_str(&e, (const char *)ARG0(regs));
	push_user_str(&e, (const char *)ARG1(regs));
	push_user_str(&e, (const char *)ARG2(regs));
	return evb_submit(&e);
}

static __always_inline int fill_bpf(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_BPF_X, 2))
		return 0;
	push_u64(&e, ret);
	push_u32(&e, (u32)ARG0(regs));
	return evb_submit(&e);
}

static __always_inline int fill_init_module(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_INIT_MODULE_X, 4))
		return 0;
	push_u64(&e, ret);
	/* the image itself is not kept, only its length: a module is megabytes */
	push_empty(&e);
	push_u64(&e, ARG1(regs));
	push_user_str(&e, (const char *)ARG2(regs));
	return evb_submit(&e);
}

static __always_inline int fill_finit_module(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_FINIT_MODULE_X, 4))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_user_str(&e, (const char *)ARG1(regs));
	push_u32(&e, (u32)ARG2(regs));
	return evb_submit(&e);
}

static __always_inline int fill_prctl(struct pt_regs *regs, long ret)
{
	struct evb e;
	u64 option = ARG0(regs);
	if (!evb_start(&e, E_PRCTL_X, 4))
		return 0;
	push_u64(&e, ret);
	push_u32(&e, (u32)option);
	if (option == 15 /* PR_SET_NAME */) {
		push_user_str(&e, (const char *)ARG1(regs));
		push_u64(&e, 0);
	} else {
		push_empty(&e);
		push_u64(&e, ARG1(regs));
	}
	return evb_submit(&e);
}

/* ---------------------------------------------------------------------------------------- */
/* sockets                                                                                   */

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

static __always_inline struct sock *fd_sock(struct task_struct *task, s64 fd)
{
	struct file *f = task_fd_file(task, fd);
	struct socket *sock;
	if (!f)
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return 0;
	return BPF_CORE_READ(sock, sk);
}

/* The socket's tuple: local→remote for outbound, remote→local for inbound (accept). */
static __always_inline void push_tuple(struct evb *e, struct sock *sk, int inbound)
{
	u16 family;
	u32 at = e->pos;
	if (!sk) {
		push_empty(e);
		return;
	}
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET) {
		u32 laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		u32 raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		e->s->data[SAFE(at)] = AF_INET;
		*(u32 *)&e->s->data[SAFE(at + 1)] = inbound ? raddr : laddr;
		*(u16 *)&e->s->data[SAFE(at + 5)] = inbound ? rport : lport;
		*(u32 *)&e->s->data[SAFE(at + 7)] = inbound ? laddr : raddr;
		*(u16 *)&e->s->data[SAFE(at + 11)] = inbound ? lport : rport;
		e->pos += 13;
		evb_set_len(e, 13);
	} else if (family == AF_INET6) {
		struct in6_addr l = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr r = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		e->s->data[SAFE(at)] = AF_INET6;
		__builtin_memcpy(&e->s->data[SAFE(at + 1)], inbound ? &r : &l, 16);
		*(u16 *)&e->s->data[SAFE(at + 17)] = inbound ? rport : lport;
		__builtin_memcpy(&e->s->data[SAFE(at + 19)], inbound ? &l : &r, 16);
		*(u16 *)&e->s->data[SAFE(at + 35)] = inbound ? lport : rport;
		e->pos += 37;
		evb_set_len(e, 37);
	} else if (family == AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		struct sock *peer = BPF_CORE_READ(us, peer);
		struct unix_address *addr = BPF_CORE_READ(us, addr);
		u32 len = 17;
		e->s->data[SAFE(at)] = AF_UNIX;
		*(u64 *)&e->s->data[SAFE(at + 1)] = (u64)sk;
		*(u64 *)&e->s->data[SAFE(at + 9)] = (u64)peer;
		if (!addr && peer)
			addr = BPF_CORE_READ((struct unix_sock *)peer, addr);
		if (addr) {
			long n = bpf_probe_read_kernel_str(&e->s->data[SAFE(at + 17)], 108,
							   &addr->name[0].sun_path);
			/* abstract names start with NUL: keep them as an empty path */
			len += n > 0 ? n : 1;
			if (n <= 0)
				e->s->data[SAFE(at + 17)] = 0;
		} else {
			e->s->data[SAFE(at + 17)] = 0;
			len += 1;
		}
		e->pos += len;
		evb_set_len(e, len);
	} else {
		push_empty(e);
	}
}

/* A sockaddr from user memory, as libs stores it: family, address, port (host order). */
static __always_inline void push_user_sockaddr(struct evb *e, const void *uaddr, u64 ulen)
{
	u16 family = 0;
	u32 at = e->pos;
	if (!uaddr || ulen < 2 || bpf_probe_read_user(&family, 2, uaddr) != 0) {
		push_empty(e);
		return;
	}
	if (family == AF_INET && ulen >= 8) {
		struct sockaddr_in in = {};
		bpf_probe_read_user(&in, sizeof(in), uaddr);
		e->s->data[SAFE(at)] = AF_INET;
		*(u32 *)&e->s->data[SAFE(at + 1)] = in.sin_addr.s_addr;
		*(u16 *)&e->s->data[SAFE(at + 5)] = bpf_ntohs(in.sin_port);
		e->pos += 7;
		evb_set_len(e, 7);
	} else if (family == AF_INET6 && ulen >= 24) {
		struct sockaddr_in6 in6 = {};
		bpf_probe_read_user(&in6, sizeof(in6), uaddr);
		e->s->data[SAFE(at)] = AF_INET6;
		__builtin_memcpy(&e->s->data[SAFE(at + 1)], &in6.sin6_addr, 16);
		*(u16 *)&e->s->data[SAFE(at + 17)] = bpf_ntohs(in6.sin6_port);
		e->pos += 19;
		evb_set_len(e, 19);
	} else if (family == AF_UNIX) {
		e->s->data[SAFE(at)] = AF_UNIX;
		long n = bpf_probe_read_user_str(&e->s->data[SAFE(at + 1)], 108, uaddr + 2);
		if (n <= 0) {
			e->s->data[SAFE(at + 1)] = 0;
			n = 1;
		}
		e->pos += 1 + n;
		evb_set_len(e, 1 + n);
	} else {
		e->s->data[SAFE(at)] = (u8)family;
		e->pos += 1;
		evb_set_len(e, 1);
	}
}

static __always_inline int fill_socket(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_SOCKET_X, 4))
		return 0;
	push_u64(&e, ret);
	push_u32(&e, (u32)ARG0(regs));
	push_u32(&e, (u32)ARG1(regs));
	push_u32(&e, (u32)ARG2(regs));
	return evb_submit(&e);
}

static __always_inline int fill_connect(struct pt_regs *regs, long ret)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	s64 fd = (s32)ARG0(regs);
	if (!evb_start(&e, E_CONNECT_X, 3))
		return 0;
	push_u64(&e, ret);
	/* a failed (or in-progress non-blocking) connect still says where it went */
	if (ret == 0 || ret == -115 /* EINPROGRESS */)
		push_tuple(&e, fd_sock(task, fd), 0);
	else
		push_user_sockaddr(&e, (void *)ARG1(regs), ARG2(regs));
	push_u64(&e, fd);
	return evb_submit(&e);
}

static __always_inline int fill_bind(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_BIND_X, 3))
		return 0;
	push_u64(&e, ret);
	push_user_sockaddr(&e, (void *)ARG1(regs), ARG2(regs));
	push_u64(&e, (s64)(s32)ARG0(regs));
	return evb_submit(&e);
}

static __always_inline int fill_listen(struct pt_regs *regs, long ret)
{
	struct evb e;
	if (!evb_start(&e, E_LISTEN_X, 3))
		return 0;
	push_u64(&e, ret);
	push_u64(&e, (s64)(s32)ARG0(regs));
	push_u32(&e, (u32)ARG1(regs));
	return evb_submit(&e);
}

static __always_inline int fill_accept_common(u16 type, struct pt_regs *regs, long ret)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sock *sk = ret >= 0 ? fd_sock(task, ret) : 0;
	struct sock *lsk = fd_sock(task, (s32)ARG0(regs));
	u32 qlen = 0, qmax = 0;
	u8 pct = 0;
	if (!evb_start(&e, type, 5))
		return 0;
	if (lsk) {
		qlen = BPF_CORE_READ(lsk, sk_ack_backlog);
		qmax = BPF_CORE_READ(lsk, sk_max_ack_backlog);
		if (qmax)
			pct = (u8)((u64)qlen * 100 / qmax);
	}
	push_u64(&e, ret);
	if (sk)
		push_tuple(&e, sk, 1);
	else
		push_empty(&e);
	push_u8(&e, pct);
	push_u32(&e, qlen);
	push_u32(&e, qmax);
	return evb_submit(&e);
}

FILLER_OF(accept, fill_accept_common, E_ACCEPT_X)
FILLER_OF(accept4, fill_accept_common, E_ACCEPT4_X)
/* ---------------------------------------------------------------------------------------- */
/* processes                                                                                 */

/* The parameters execve and clone share, from `res` to `comm` and the cgroups. */
static __always_inline void push_proc_common(struct evb *e, struct task_struct *task, long ret,
					     int clone)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	push_u64(e, ret);
	push_exe_args(e, task);
	push_u64(e, BPF_CORE_READ(task, pid));
	push_u64(e, BPF_CORE_READ(task, tgid));
	push_u64(e, BPF_CORE_READ(task, real_parent, tgid));
	push_cwd(e, task);
	push_u64(e, BPF_CORE_READ(task, signal, rlim[RLIMIT_NOFILE].rlim_cur));
	push_u64(e, BPF_CORE_READ(task, maj_flt));
	push_u64(e, BPF_CORE_READ(task, min_flt));
	push_u32(e, task_mm_kb(mm, 0));
	push_u32(e, task_mm_kb(mm, 1));
	push_u32(e, task_mm_kb(mm, 2));
	push_kernel_str(e, &task->comm);
	push_cgroups(e, task);
}

static __always_inline int fill_clone_common(u16 type, struct pt_regs *regs, long ret, u64 cflags)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	if (!evb_start(&e, type, 21))
		return 0;
	push_proc_common(&e, task, ret, 1);
	push_u32(&e, clone_flags_to_scap(cflags) | task_flags_bits(task));
	push_u32(&e, BPF_CORE_READ(task, cred, euid.val));
	push_u32(&e, BPF_CORE_READ(task, cred, egid.val));
	push_u64(&e, (s64)pid_vnr(BPF_CORE_READ(task, thread_pid)));
	push_u64(&e, (s64)pid_vnr(BPF_CORE_READ(task, group_leader, thread_pid)));
	push_u64(&e, BPF_CORE_READ(task, nsproxy, pid_ns_for_children, child_reaper, start_time));
	return evb_submit(&e);
}

static __always_inline int fill_clone(struct pt_regs *regs, long ret)
{
	return fill_clone_common(E_CLONE_X, regs, ret, ARG0(regs));
}
static __always_inline int fill_fork(struct pt_regs *regs, long ret)
{
	return fill_clone_common(E_FORK_X, regs, ret, 0);
}
static __always_inline int fill_vfork(struct pt_regs *regs, long ret)
{
	return fill_clone_common(E_VFORK_X, regs, ret, 0x00004000 | 0x00000100);
}
static __always_inline int fill_clone3(struct pt_regs *regs, long ret)
{
	u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (void *)ARG0(regs));
	return fill_clone_common(E_CLONE3_X, regs, ret, flags);
}

static __always_inline int fill_execve_common(u16 type, struct pt_regs *regs, long ret)
{
	struct evb e;
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct inode *inode = BPF_CORE_READ(exe, f_inode);

	if (!evb_start(&e, type, 30))
		return 0;
	push_proc_common(&e, task, ret, 0);
	push_env(&e, task);
	push_u32(&e, task_tty(task));
	push_u64(&e, (s64)pid_vnr(BPF_CORE_READ(task, signal, pids[PIDTYPE_PGID])));
	push_u32(&e, BPF_CORE_READ(task, loginuid.val));
	/* writable, overlay layer, memfd: see exe_flags() in task.h */
	push_u32(&e, exe_flags(task, exe));
	push_caps(&e, task);
	push_u64(&e, inode ? BPF_CORE_READ(inode, i_ino) : 0);
	push_u64(&e, inode ? inode_time_ns(inode, 0) : 0);
	push_u64(&e, inode ? inode_time_ns(inode, 1) : 0);
	push_u32(&e, BPF_CORE_READ(task, cred, euid.val));
	if (exe) {
		struct path p = BPF_CORE_READ(exe, f_path);
		push_path(&e, p.mnt, p.dentry);
	} else {
		push_empty(&e);
	}
	push_u64(&e, (s64)pid_nr(BPF_CORE_READ(task, signal, pids[PIDTYPE_PGID])));
	push_u32(&e, BPF_CORE_READ(task, cred, egid.val));
	return evb_submit(&e);
}

static __always_inline int fill_execve(struct pt_regs *regs, long ret)
{
	return fill_execve_common(E_EXECVE_X, regs, ret);
}
static __always_inline int fill_execveat(struct pt_regs *regs, long ret)
{
	return fill_execve_common(E_EXECVEAT_X, regs, ret);
}

/* ---------------------------------------------------------------------------------------- */
/* entry points                                                                              */

#define SYSCALL_EXIT(name) SYSCALL_EXIT_TP(name, name)
#define SYSCALL_EXIT_TP(name, tp)                                                                  \
	SEC("tp_btf/sys_exit")                                                                     \
	int BPF_PROG(x_##name, struct pt_regs *regs, long ret)                                     \
	{                                                                                          \
		return fill_##name(regs, ret);                                                     \
	}                                                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #tp)                                                   \
	int t_##name(struct trace_event_raw_sys_exit *ctx)                                         \
	{                                                                                          \
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(                         \
			bpf_get_current_task_btf());                                               \
		return fill_##name(regs, ctx->ret);                                                \
	}                                                                                          \
	SEC("fexit/__x64_sys_" #tp)                                                                \
	int BPF_PROG(f_##name, struct pt_regs *regs, long ret)                                     \
	{                                                                                          \
		return fill_##name(regs, ret);                                                     \
	}

SYSCALL_EXIT(open)
SYSCALL_EXIT(openat)
SYSCALL_EXIT(openat2)
SYSCALL_EXIT(creat)
SYSCALL_EXIT(close)
SYSCALL_EXIT(socket)
SYSCALL_EXIT(connect)
SYSCALL_EXIT(bind)
SYSCALL_EXIT(listen)
SYSCALL_EXIT(accept)
SYSCALL_EXIT(accept4)
SYSCALL_EXIT(pipe)
SYSCALL_EXIT(pipe2)
SYSCALL_EXIT(dup)
SYSCALL_EXIT(dup2)
SYSCALL_EXIT(dup3)
SYSCALL_EXIT(fcntl)
SYSCALL_EXIT(chdir)
SYSCALL_EXIT(fchdir)
SYSCALL_EXIT(chroot)
SYSCALL_EXIT(mkdir)
SYSCALL_EXIT(mkdirat)
SYSCALL_EXIT(rmdir)
SYSCALL_EXIT(unlink)
SYSCALL_EXIT(unlinkat)
SYSCALL_EXIT(rename)
SYSCALL_EXIT(renameat)
SYSCALL_EXIT(renameat2)
SYSCALL_EXIT(link)
SYSCALL_EXIT(linkat)
SYSCALL_EXIT(symlink)
SYSCALL_EXIT(symlinkat)
SYSCALL_EXIT(chmod)
SYSCALL_EXIT(fchmod)
SYSCALL_EXIT(fchmodat)
SYSCALL_EXIT(mount)
SYSCALL_EXIT_TP(umount2, umount)
SYSCALL_EXIT(setuid)
SYSCALL_EXIT(setgid)
SYSCALL_EXIT(setresuid)
SYSCALL_EXIT(setresgid)
SYSCALL_EXIT(setreuid)
SYSCALL_EXIT(setregid)
SYSCALL_EXIT(capset)
SYSCALL_EXIT(setns)
SYSCALL_EXIT(unshare)
SYSCALL_EXIT(ptrace)
SYSCALL_EXIT(kill)
SYSCALL_EXIT(bpf)
SYSCALL_EXIT(memfd_create)
SYSCALL_EXIT(init_module)
SYSCALL_EXIT(finit_module)
SYSCALL_EXIT(prctl)
SYSCALL_EXIT(clone)
SYSCALL_EXIT(clone3)
SYSCALL_EXIT(fork)
SYSCALL_EXIT(vfork)
SYSCALL_EXIT(execve)
SYSCALL_EXIT(execveat)

/* The one program attached in tp_btf mode: jumps to the syscall's filler, if any. */
SEC("tp_btf/sys_exit")
int BPF_PROG(dispatch_exit, struct pt_regs *regs, long ret)
{
	u32 nr = (u32)regs->orig_ax;
	if (nr >= MAX_SYSCALLS)
		return 0;
	bpf_tail_call(ctx, &exit_tail, nr);
	return 0;
}

/* procexit: the task is going away (every thread, both modes). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_exit, struct task_struct *p)
{
	struct evb e;
	int code = BPF_CORE_READ(p, exit_code);
	if (!evb_start(&e, E_PROCEXIT_E, 5))
		return 0;
	push_u64(&e, code);
	push_u64(&e, (code >> 8) & 0xff);
	push_u8(&e, code & 0x7f);
	push_u8(&e, (code & 0x80) ? 1 : 0);
	push_u64(&e, 0);
	return evb_submit(&e);
}

/* The counting probes of the benchmark: the bare cost of each attachment mode. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} bench_count SEC(".maps");

static __always_inline int count_one(void)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&bench_count, &zero);
	if (n)
		*n += 1;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(count_tp_btf, struct pt_regs *regs, long ret)
{
	return count_one();
}

SEC("tracepoint/syscalls/sys_exit_getpid")
int count_tp_getpid(void *ctx)
{
	return count_one();
}

/* Whether this kernel lets BPF trampolines load: userspace loads this one alone first. */
SEC("fexit/__x64_sys_close")
int BPF_PROG(count_fexit, struct pt_regs *regs, long ret)
{
	return count_one();
}

/* The syscall mix of the machine, sampled for a moment at start-up to choose between
 * per-syscall tracepoints and tp_btf/sys_exit: one counter per syscall number, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u64);
} syscall_mix SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(count_mix, struct pt_regs *regs, long ret)
{
	u32 nr = (u32)regs->orig_ax;
	u64 *n = bpf_map_lookup_elem(&syscall_mix, &nr);
	if (n)
		*n += 1;
	return 0;
}
