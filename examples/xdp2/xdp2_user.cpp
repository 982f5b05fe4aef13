// xdp2 loader: the xdp1 loader with xdp2_kern.o, as in the Linux samples
// (samples/bpf builds xdp2 from xdp1_user.c). See examples/xdp1/xdp1_user.cpp.
#define XO_SAMPLE_NAME "xdp2"
#include "examples/xdp1/xdp1_user.cpp"
