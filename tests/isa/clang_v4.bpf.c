// Compiled with clang -target bpf -mcpu=v4 by tests/isa/CMakeLists.txt; the
// decoder must accept every instruction clang emits for it. Exercises the v4
// forms: sdiv/smod, movsx, ldsx, bswap, atomics with and without fetch, xchg,
// cmpxchg, bpf-to-bpf calls and callbacks (func pointers), and may_goto
// (can_loop, as in the kernel's bpf_experimental.h).
typedef unsigned long long u64; typedef long long s64; typedef unsigned int u32; typedef int s32;
typedef signed char s8; typedef short s16; typedef unsigned short u16;
#define SEC(x) __attribute__((section(x), used))
static long (*bpf_loop)(u32 nr, void *cb, void *ctx, u64 flags) = (void *)181;
u64 counter;
s32 scounter;
static __attribute__((noinline)) s64 helper_div(s64 a, s64 b) { return a / b + a % b; }
#define can_loop                                                               \
  ({ __label__ l_break, l_continue; _Bool ret = 1;                              \
     asm volatile goto("may_goto %l[l_break]" :::: l_break); goto l_continue;  \
   l_break: ret = 0; l_continue:; ret; })
static int cb(u32 i, void *ctx) { __sync_fetch_and_add((u64 *)ctx, i); return 0; }
SEC("xdp") int prog(void *ctx_) {
  volatile s8 b = -3; volatile s16 h = -300; volatile s32 w = -70000;
  volatile s64 x = b; x += h; x += w;
  s32 y = (s32)x / (s32)(w | 1); y %= (s32)(h | 1);
  volatile u64 v = __builtin_bswap64(x) ^ __builtin_bswap32((u32)y) ^ __builtin_bswap16((u16)y);
  u64 old = __sync_fetch_and_add(&counter, 1);
  old += __sync_fetch_and_or(&counter, 2);
  old += __sync_fetch_and_and(&counter, 3);
  old += __sync_fetch_and_xor(&counter, 4);
  __sync_fetch_and_add(&scounter, 1);
  __sync_fetch_and_xor(&scounter, 5);
  old += __sync_lock_test_and_set(&counter, 9);
  old += __sync_val_compare_and_swap(&counter, 9, 10);
  old += __sync_fetch_and_add(&scounter, 7);
  u64 acc = 0; bpf_loop(4, cb, &acc, 0);
  for (volatile u32 n = 0; can_loop && n < 8; n++) acc += n;
  return (int)(v + old + helper_div(x, y | 1) + acc) & 3;
}
char LICENSE[] SEC("license") = "GPL";
