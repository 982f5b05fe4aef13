/* xoffload session library: the C interface a VMM embeds.
 *
 * One session per VM NIC (one host tap). The VMM moves bytes; the library
 * does everything else: it parses the guest's request frames (the protocol
 * of transport/PROTOCOL.md: CAPS, BTF_LOAD, MAP_*, PROG_*, STATS, RESET),
 * runs the one host load pipeline (pre-verify, translate, host kernel
 * load, attach to the tap) and produces reply and EVENT frames.
 *
 *   struct xo_session_opts o = { .sz = sizeof(o), .name = "vm1", .tap = "tap0" };
 *   struct xo_session *s;
 *   if (xo_session_new(&o, &s) < 0) ...;
 *   on guest bytes:     xo_session_feed(s, buf, n);
 *   then, to the guest: n = xo_session_read_output(s, out, sizeof(out));
 *   periodically:       xo_session_check_tap(s);   (queues "offload lost")
 *   optionally, to keep verification off the VMM's thread:
 *                       fd = xo_session_completion_fd(s);  poll it; when readable:
 *                       xo_session_process(s);  then read the output
 *   guest/device reset: xo_session_reset(s);
 *   VM exit:            xo_session_free(s);        (frees every kernel object)
 *
 * Errors are negative errno values, as in libbpf. Nothing here aborts on
 * guest bytes. The guest only ever sees handles, never host fds. The
 * caller needs CAP_BPF, CAP_NET_ADMIN and a mounted bpffs.
 * Not thread-safe: one thread per session at a time (the worker thread of
 * xo_session_completion_fd never touches the session). */
#ifndef XOFFLOAD_SESSION_H
#define XOFFLOAD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xo_session;

struct xo_session_opts {
  size_t sz;            /* sizeof(struct xo_session_opts): lets the struct grow */
  const char *name;     /* session name [A-Za-z0-9_-]{1,32}: names pins and kernel objects */
  const char *tap;      /* the host tap that feeds the VM's NIC */
  const char *pin_root; /* bpffs directory for pins; NULL: /sys/fs/bpf/xoffload */
  const char *config;   /* NULL, or an xoffloadd config file whose [session NAME]
                           section sets flavors, quotas and denied helpers */
};

struct xo_session_info {
  size_t sz;                 /* sizeof(struct xo_session_info) */
  uint32_t attached_prog_id; /* host kernel id of the program on the tap; 0 = none */
  uint32_t programs;         /* objects the guest holds, by kind */
  uint32_t maps;
  uint32_t btfs;
  uint64_t verifier_cpu_ns;  /* kernel verifier CPU time charged to the session */
};

/* 0 and *out set, or -EINVAL (bad options), -ENODEV (no such tap), -ENOMEM. */
int xo_session_new(const struct xo_session_opts *opts, struct xo_session **out);
/* Detaches and frees every kernel object of the session. NULL is fine. */
void xo_session_free(struct xo_session *s);

/* Guest bytes in (any split: frames may span calls). Every complete request
 * is answered before this returns, unless xo_session_completion_fd() was
 * called: a PROG_LOAD is then verified on a worker thread, and its reply and
 * the requests after it wait for xo_session_process(). 0, or -EPROTO once the framing broke: the
 * error reply is queued; drain the output, then close the guest's channel. */
int xo_session_feed(struct xo_session *s, const void *data, size_t len);
/* Switches the session to verifying programs on a worker thread (a hostile
 * program can keep the kernel verifier busy for seconds) and returns an fd
 * that becomes readable when a verification ends: then call
 * xo_session_process(). -EBUSY while a load is being verified. */
int xo_session_completion_fd(struct xo_session *s);
/* Takes a finished verification's reply and answers the requests that
 * waited behind it. 1: a verification is still running; 0: none. */
int xo_session_process(struct xo_session *s);
/* Bytes waiting for the guest (replies, EVENTs). */
size_t xo_session_output_size(const struct xo_session *s);
/* Copies up to `cap` waiting bytes to `buf`; returns how many. */
size_t xo_session_read_output(struct xo_session *s, void *buf, size_t cap);

/* 1: the tap is still there. 0: it went away; everything was freed and one
 * EVENT "offload lost" per program is queued for the guest. */
int xo_session_check_tap(struct xo_session *s);
/* Guest or device reset: frees everything, as RESET would. */
void xo_session_reset(struct xo_session *s);

/* 0, or -EINVAL when info->sz is 0. */
int xo_session_get_info(const struct xo_session *s, struct xo_session_info *info);

/* "0.3.0" */
const char *xo_version(void);

#ifdef __cplusplus
}
#endif

#endif /* XOFFLOAD_SESSION_H */
