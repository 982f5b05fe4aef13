/* vm_boot_xdp IFNAME pass|drop SECONDS: guest-side probe for e2e_vm_boot.
 * Loads a 2-insn XDP program returning the verdict, attaches it natively to
 * IFNAME with a BPF link, holds it for SECONDS, then exits (which detaches).
 * Raw bpf(2) on purpose: statically linked with no libbpf, so it only needs
 * the guest kernel. Prints XDP-ATTACH-OK once attached. */
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char verifier_log[65536];

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFNAME pass|drop SECONDS\n", argv[0]);
    return 2;
  }
  unsigned ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) {
    fprintf(stderr, "vm_boot_xdp: no interface %s\n", argv[1]);
    return 1;
  }
  int verdict = strcmp(argv[2], "drop") == 0 ? XDP_DROP : XDP_PASS;
  struct bpf_insn prog[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = verdict},
      {.code = BPF_JMP | BPF_EXIT},
  };
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_XDP;
  attr.insns = (unsigned long)prog;
  attr.insn_cnt = 2;
  attr.license = (unsigned long)"GPL";
  attr.log_buf = (unsigned long)verifier_log;
  attr.log_size = sizeof verifier_log;
  attr.log_level = 1;
  int prog_fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog_fd < 0) {
    fprintf(stderr, "vm_boot_xdp: BPF_PROG_LOAD: %s\n%s\n", strerror(errno), verifier_log);
    return 1;
  }
  memset(&attr, 0, sizeof attr);
  attr.link_create.prog_fd = prog_fd;
  attr.link_create.target_ifindex = ifindex;
  attr.link_create.attach_type = BPF_XDP;
  int link_fd = syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof attr);
  if (link_fd < 0) {
    fprintf(stderr, "vm_boot_xdp: BPF_LINK_CREATE on %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  printf("XDP-ATTACH-OK %s %s\n", argv[1], argv[2]);
  fflush(stdout);
  sleep((unsigned)atoi(argv[3]));
  return 0;
}
