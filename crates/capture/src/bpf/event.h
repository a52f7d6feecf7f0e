/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Building scap events in BPF.
 *
 * An event is built in a per-CPU scratch buffer, then copied into this CPU's ring buffer in one
 * bpf_ringbuf_output() call without a wakeup (userspace drains on a timer). A record holds one
 * event, or an enter event followed by its exit event. Layout, as libs' scap format defines it:
 *
 *   u64 ts | u64 tid | u32 len | u16 type | u32 nparams | u16 len[nparams] | params...
 *
 * Every write goes through SAFE(), which keeps the verifier sure that it lands inside the
 * scratch buffer: the buffer is twice EVENT_CAP and offsets are masked below EVENT_CAP, so a
 * write of up to EVENT_CAP bytes at any masked offset stays inside. Variable-size parameters
 * are bounded (PARAM_CAP), so that a whole event never exceeds EVENT_CAP.
 */
#pragma once

#define EVENT_CAP 32768
#define SAFE(x) ((x) & (EVENT_CAP - 1))
#define HEADER_LEN 26
#define PARAM_CAP 4096
#define PARAM_MASK (PARAM_CAP - 1)
#define TMP_CAP 8192
#define TMP_MASK (TMP_CAP - 1)

struct scratch {
	u8 data[EVENT_CAP * 2];
	/* a second area for paths built back to front */
	u8 tmp[TMP_CAP * 2];
	/* the write position of a walk: kept in map memory, not on the stack, so that the
	 * verifier sees an unknown value and checks the walk's step once */
	u32 walk_pos;
};

/* One scratch area per CPU (a plain array indexed by CPU: per-CPU values are limited to
 * 32 KiB); userspace sizes it to the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* Per-CPU counters, read by userspace: see `Counters` in src/probe.rs. */
struct counters {
	u64 events;
	u64 drops_buffer_full;
	u64 drops_no_buffer;
	u64 drops_too_large;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct counters);
} counters_map SEC(".maps");

struct ringbuf_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
};

/* One ring buffer per CPU, created and inserted by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, u32);
	__array(values, struct ringbuf_map);
} ringbufs SEC(".maps");

/* Set by userspace before load. */
const volatile u64 boot_time_ns = 0;
const volatile u32 own_tgid = 0;

/* An event being built; `evb_then` appends a second event (an enter event's exit) to the same
 * ring record, so that a pair costs one clock read and one ring buffer reservation. */
struct evb {
	struct scratch *s;
	u32 pos;
	/* where the current event starts in the scratch */
	u32 base;
	u32 idx;
	u32 nparams;
	u16 type;
	u64 ts;
	u64 pid_tgid;
	u32 cpu;
	/* events in the record so far */
	u32 nevents;
};

/* Starts an event of `type` with `nparams` parameters. Returns 0 when the event must not be
 * made (lanner's own threads, or no scratch buffer). */
static __always_inline int evb_start(struct evb *e, u16 type, u32 nparams)
{
	e->cpu = bpf_get_smp_processor_id();
	e->pid_tgid = bpf_get_current_pid_tgid();
	if ((u32)(e->pid_tgid >> 32) == own_tgid)
		return 0;
	e->s = bpf_map_lookup_elem(&scratch_map, &e->cpu);
	if (!e->s)
		return 0;
	e->type = type;
	e->nparams = nparams;
	e->idx = 0;
	e->base = 0;
	e->nevents = 1;
	e->pos = HEADER_LEN + nparams * 2;
	e->ts = boot_time_ns + bpf_ktime_get_boot_ns();
	return 1;
}

/* Writes the header of the event being built (its parameters are all pushed). */
static __always_inline void evb_header(struct evb *e)
{
	u32 b = e->base;
	*(u64 *)&e->s->data[SAFE(b)] = e->ts;
	*(u64 *)&e->s->data[SAFE(b + 8)] = (u64)(u32)e->pid_tgid;
	*(u32 *)&e->s->data[SAFE(b + 16)] = e->pos - b;
	*(u16 *)&e->s->data[SAFE(b + 20)] = e->type;
	*(u32 *)&e->s->data[SAFE(b + 22)] = e->nparams;
}

/* Ends the current event and starts the next one of the same record, with the same timestamp
 * (the exit event after its enter event). */
static __always_inline void evb_then(struct evb *e, u16 type, u32 nparams)
{
	evb_header(e);
	e->base = e->pos;
	e->nevents++;
	e->type = type;
	e->nparams = nparams;
	e->idx = 0;
	e->pos = e->base + HEADER_LEN + nparams * 2;
}

static __always_inline void evb_set_len(struct evb *e, u32 len)
{
	u32 at = e->base + HEADER_LEN + e->idx * 2;
	*(u16 *)&e->s->data[SAFE(at)] = (u16)len;
	e->idx++;
}

static __always_inline void push_u8(struct evb *e, u8 v)
{
	e->s->data[SAFE(e->pos)] = v;
	e->pos += 1;
	evb_set_len(e, 1);
}

static __always_inline void push_u16(struct evb *e, u16 v)
{
	*(u16 *)&e->s->data[SAFE(e->pos)] = v;
	e->pos += 2;
	evb_set_len(e, 2);
}

static __always_inline void push_u32(struct evb *e, u32 v)
{
	*(u32 *)&e->s->data[SAFE(e->pos)] = v;
	e->pos += 4;
	evb_set_len(e, 4);
}

static __always_inline void push_u64(struct evb *e, u64 v)
{
	*(u64 *)&e->s->data[SAFE(e->pos)] = v;
	e->pos += 8;
	evb_set_len(e, 8);
}

/* An empty parameter (libs: a NULL pointer or a value that could not be read). */
static __always_inline void push_empty(struct evb *e)
{
	evb_set_len(e, 0);
}

/* A NUL-terminated string from user memory, NUL included; empty when unreadable. */
static __always_inline void push_user_str(struct evb *e, const void *ptr)
{
	long n = 0;
	if (ptr)
		n = bpf_probe_read_user_str(&e->s->data[SAFE(e->pos)], PARAM_CAP, ptr);
	if (n <= 0) {
		push_empty(e);
		return;
	}
	e->pos += n;
	evb_set_len(e, n);
}

/* A NUL-terminated string from kernel memory, NUL included. */
static __always_inline void push_kernel_str(struct evb *e, const void *ptr)
{
	long n = 0;
	if (ptr)
		n = bpf_probe_read_kernel_str(&e->s->data[SAFE(e->pos)], PARAM_CAP, ptr);
	if (n <= 0) {
		push_empty(e);
		return;
	}
	e->pos += n;
	evb_set_len(e, n);
}

/* `len` bytes of user memory (bounded by PARAM_CAP). */
static __always_inline void push_user_bytes(struct evb *e, const void *ptr, u64 len)
{
	if (len > PARAM_CAP - 1)
		len = PARAM_CAP - 1;
	len &= PARAM_MASK;
	if (!ptr || len == 0 || bpf_probe_read_user(&e->s->data[SAFE(e->pos)], len, ptr) != 0) {
		push_empty(e);
		return;
	}
	e->pos += len;
	evb_set_len(e, len);
}

/* Raw bytes already in the scratch's tmp area at [start, start+len). */
static __always_inline void push_tmp(struct evb *e, u32 start, u32 len)
{
	len &= TMP_MASK;
	if (len == 0) {
		push_empty(e);
		return;
	}
	if (len > PARAM_CAP)
		len = PARAM_CAP;
	if (bpf_probe_read_kernel(&e->s->data[SAFE(e->pos)], len & (EVENT_CAP - 1),
				  &e->s->tmp[start & TMP_MASK]) != 0) {
		push_empty(e);
		return;
	}
	e->pos += len;
	evb_set_len(e, len);
}

static __always_inline struct counters *counters(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&counters_map, &zero);
}

/* Writes the header and hands the record (one event, or an enter and its exit event) to this
 * CPU's ring buffer. */
static __always_inline int evb_submit(struct evb *e)
{
	struct counters *c = counters();
	u32 len = e->pos;
	void *rb;

	if (e->idx != e->nparams || len >= EVENT_CAP) {
		if (c)
			c->drops_too_large += e->nevents;
		return 0;
	}
	evb_header(e);
	rb = bpf_map_lookup_elem(&ringbufs, &e->cpu);
	if (!rb) {
		if (c)
			c->drops_no_buffer += e->nevents;
		return 0;
	}
	if (bpf_ringbuf_output(rb, e->s->data, len & (EVENT_CAP - 1), BPF_RB_NO_WAKEUP) != 0) {
		if (c)
			c->drops_buffer_full += e->nevents;
		return 0;
	}
	if (c)
		c->events += e->nevents;
	return 0;
}
