#!/usr/bin/env python3
"""tcx_egress_count.py DEV: prints how many BPF programs run on DEV's tcx
egress hook (BPF_PROG_QUERY, attach type BPF_TCX_EGRESS = 47; see
core/uapi.hpp). bookworm's bpftool and tc predate tcx, so shell tests ask
the kernel through this."""
import ctypes
import socket
import sys

BPF_PROG_QUERY = 16
BPF_TCX_EGRESS = 47
NR_BPF = 321  # x86_64


class QueryAttr(ctypes.Structure):
    _fields_ = [("target_ifindex", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("count", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("prog_attach_flags", ctypes.c_uint64), ("link_ids", ctypes.c_uint64),
                ("link_attach_flags", ctypes.c_uint64), ("revision", ctypes.c_uint64)]


def main():
    ifindex = socket.if_nametoindex(sys.argv[1])
    attr = QueryAttr(target_ifindex=ifindex, attach_type=BPF_TCX_EGRESS)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(NR_BPF, BPF_PROG_QUERY, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        sys.exit("BPF_PROG_QUERY on %s: errno %d" % (sys.argv[1], ctypes.get_errno()))
    print(attr.count)


main()
