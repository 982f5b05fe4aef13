/* A minimal "VMM" in C that embeds the session library through
 * xoffload_session.h only (plus libc and the kernel's UAPI headers).
 *
 *   vmm_embed SESSION TAP SOCKET PIN_ROOT GUEST_TOOL GUEST_OBJECT
 *
 * Like QEMU's `-chardev socket,server=on`, it listens on SOCKET; it starts
 * the real guest tool (xoffload-guest offload OBJECT --hold) against it and
 * moves bytes between that connection and the session. It then checks that
 * the program is attached on the tap (the kernel knows its id), frees the
 * session, and checks the program is gone. Exit 0 on success; every
 * failure prints one line naming the check. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xoffload_session.h"

static int fail(const char *what) {
  fprintf(stderr, "vmm_embed: FAIL: %s\n", what);
  return 1;
}

/* Whether the kernel still has a program with this id (raw bpf(2), no libbpf). */
static int prog_exists(uint32_t id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_id = id;
  int fd = (int)syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof attr);
  if (fd < 0) return 0;
  close(fd);
  return 1;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Moves bytes between the guest's connection and the session until the
 * guest's program is attached (until_attached) or the guest hangs up; at
 * most 60 s. Fills *info at the end. 0, or -1 on an error. */
static int shuttle(struct xo_session *s, int cfd, int until_attached, struct xo_session_info *info) {
  unsigned char buf[64 * 1024];
  time_t deadline = time(NULL) + 60;
  for (;;) {
    memset(info, 0, sizeof *info);
    info->sz = sizeof *info;
    if (xo_session_get_info(s, info) != 0) return -1;
    if ((until_attached && info->attached_prog_id != 0) || time(NULL) > deadline) return 0;
    struct pollfd p = {cfd, POLLIN, 0};
    if (poll(&p, 1, 200) < 0 && errno != EINTR) return -1;
    if (!(p.revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(cfd, buf, sizeof buf);
    if (n <= 0) {
      memset(info, 0, sizeof *info);
      info->sz = sizeof *info;
      return xo_session_get_info(s, info);
    }
    if (xo_session_feed(s, buf, (size_t)n) != 0) return -1;
    size_t out;
    while ((out = xo_session_read_output(s, buf, sizeof buf)) > 0)
      if (write_all(cfd, buf, out)) return -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: vmm_embed SESSION TAP SOCKET PIN_ROOT GUEST_TOOL GUEST_OBJECT\n");
    return 2;
  }
  printf("xoffload session library %s\n", xo_version());

  struct xo_session_opts o;
  memset(&o, 0, sizeof o);
  o.sz = sizeof o;
  o.name = argv[1];
  o.tap = argv[2];
  o.pin_root = argv[4];
  struct xo_session *s = NULL;
  int rc = xo_session_new(&o, &s);
  if (rc < 0) {
    fprintf(stderr, "xo_session_new: %s\n", strerror(-rc));
    return fail("xo_session_new");
  }
  struct xo_session_opts bad = o;
  bad.tap = "no-such-tap0";
  struct xo_session *none = NULL;
  if (xo_session_new(&bad, &none) != -ENODEV || none) return fail("a missing tap is -ENODEV");

  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[3]);
  unlink(argv[3]);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 1)) return fail("listen");

  pid_t guest = fork();
  if (guest == 0) {
    execl(argv[5], argv[5], "--port", argv[3], "offload", argv[6], "--hold", "30", (char *)NULL);
    _exit(127);
  }
  int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (cfd < 0) return fail("accept");

  struct xo_session_info info;
  if (shuttle(s, cfd, 1, &info)) return fail("moving bytes between the guest and the session");
  if (info.attached_prog_id == 0) return fail("the guest's program is attached to the tap");
  if (info.programs != 1 || info.maps < 1) return fail("the session holds the guest's program and maps");
  if (!prog_exists(info.attached_prog_id)) return fail("the attached program exists in the kernel");
  printf("attached: prog id %u, %u maps, %u BTF\n", info.attached_prog_id, info.maps, info.btfs);
  if (xo_session_check_tap(s) != 1) return fail("the tap is alive");

  /* A broken frame gets an error reply and -EPROTO; the session survives. */
  struct xo_session *junk = NULL;
  struct xo_session_opts jo = o;
  jo.name = "xo_cjunk";
  if (xo_session_new(&jo, &junk) != 0) return fail("second session");
  static const unsigned char garbage[64] = "this is not an xoffload frame header, not at all";
  if (xo_session_feed(junk, garbage, sizeof garbage) != -EPROTO) return fail("garbage is -EPROTO");
  if (xo_session_output_size(junk) == 0) return fail("garbage is answered before the close");
  xo_session_free(junk);

  /* The guest tool unloads on SIGTERM: serve it until it hangs up. */
  kill(guest, SIGTERM);
  if (shuttle(s, cfd, 0, &info)) return fail("serving the guest's unload");
  waitpid(guest, NULL, 0);
  if (info.programs != 0 || info.attached_prog_id != 0) return fail("the guest's unload freed its program");
  close(cfd);
  close(lfd);
  unlink(argv[3]);
  uint32_t id = info.attached_prog_id;
  xo_session_free(s);
  /* The kernel frees programs asynchronously (RCU); give it a moment. */
  for (int i = 0; i < 50 && prog_exists(id); ++i) usleep(20000);
  if (prog_exists(id)) return fail("xo_session_free leaves no program behind");
  printf("OK\n");
  return 0;
}
