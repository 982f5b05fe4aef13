#!/usr/bin/env python3
"""Test (c) of issue 12: a hostile guest driver against the patched QEMU.

QEMU runs with the qtest accelerator: this script is the guest. It drives the
virtio-net device's modern PCI interface by hand (PCI config cycles, the
common config, a split control virtqueue in guest RAM) and so can send what
no well-behaved driver would: malformed frames, short buffers, lying
lengths, out-of-RAM descriptors, commands without the feature. A fake
xoffloadd (a unix socket server in this process) records what QEMU forwards
and answers as told, including out-of-sync and silent daemons.

Every malformed command must get VIRTIO_NET_ERR without reaching the daemon,
good commands must round-trip byte for byte, and QEMU must stay alive (its
qtest and QMP sockets answer) to the end. Exit 0 only when every check held.

    virtio_xo_qtest.py QEMU_BINARY
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MAGIC = 0x4C464F58
HDR = struct.Struct("<IHHIII")
CTRL_CLASS = 0x40          # VIRTIO_NET_CTRL_XDP_OFFLOAD (/work/scratch/virtio-xo.md)
FEATURE_BIT = 58           # VIRTIO_NET_F_XDP_OFFLOAD
CMD_FRAME = 0
OK, ERR = 0, 1
T_CAPS, T_MAP_CREATE, T_RESET, T_EVENT = 0x0001, 0x0003, 0x000e, 0x4001

failures = []

# The patched binary is built relocatable outside /usr: Debian's firmware
# (seabios, ipxe, qemu-system-data) is named explicitly, as run-vm does.
FIRMWARE = ["-L", "/usr/share/seabios", "-L", "/usr/lib/ipxe/qemu", "-L", "/usr/share/qemu"]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def frame(ftype, rid, payload=b"", magic=MAGIC, plen=None):
    return HDR.pack(magic, 1, ftype, rid, 0, len(payload) if plen is None else plen) + payload


def reply_payload(status=0, msg=b""):
    return struct.pack("<iI", status, len(msg)) + msg


# ---- fake daemon ---------------------------------------------------------
class FakeDaemon:
    """Accepts QEMU's chardev connections; one at a time, like xoffloadd."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.lock = threading.Lock()
        self.frames = []          # (conn_no, bytes) of every complete frame
        self.connections = 0
        self.mode = "echo"        # echo | silent | garbage | oversize | event | big
        self.conn = None
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                no = self.connections
                self.conn = c
            threading.Thread(target=self._serve, args=(c, no), daemon=True).start()

    def _read(self, c, n):
        b = b""
        while len(b) < n:
            chunk = c.recv(n - len(b))
            if not chunk:
                return None
            b += chunk
        return b

    def _serve(self, c, no):
        while True:
            h = self._read(c, HDR.size)
            if h is None:
                return
            magic, ver, ftype, rid, flags, plen = HDR.unpack(h)
            p = self._read(c, plen)
            if p is None:
                return
            with self.lock:
                self.frames.append((no, h + p))
                mode = self.mode
            try:
                if mode == "silent":
                    continue
                if mode == "garbage":
                    c.sendall(b"\xde\xad\xbe\xef" * 5)
                    continue
                if mode == "oversize":
                    c.sendall(HDR.pack(MAGIC, 1, ftype | 0x8000, rid, 0, 64 << 20))
                    continue
                if mode == "event":
                    c.sendall(frame(T_EVENT, 0, struct.pack("<HHII", 2, 0, 7, 4) + b"gone"))
                if mode == "big":
                    c.sendall(frame(ftype | 0x8000, rid, reply_payload(0) + b"\0" * 4096))
                    continue
                c.sendall(frame(ftype | 0x8000, rid, reply_payload(0, b"echo")))
            except OSError:
                return

    def set_mode(self, m):
        with self.lock:
            self.mode = m

    def count(self):
        with self.lock:
            return len(self.frames)

    def last(self):
        with self.lock:
            return self.frames[-1] if self.frames else None

    def wait_connections(self, n, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if self.connections >= n:
                    return True
            time.sleep(0.05)
        return False


# ---- qtest -----------------------------------------------------------------
class QTest:
    def __init__(self, conn):
        self.c = conn
        self.buf = b""

    def cmd(self, line):
        self.c.sendall(line.encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                chunk = self.c.recv(65536)
                if not chunk:
                    raise RuntimeError("qtest connection closed (QEMU died?) after: " + line)
                self.buf += chunk
            resp, self.buf = self.buf.split(b"\n", 1)
            resp = resp.decode()
            if resp.startswith("IRQ"):
                continue
            if not resp.startswith("OK"):
                raise RuntimeError(f"qtest '{line}': {resp}")
            return resp[3:].strip()

    def outl(self, port, v): self.cmd(f"outl 0x{port:x} 0x{v:x}")
    def inl(self, port): return int(self.cmd(f"inl 0x{port:x}"), 16)
    def readb(self, a): return int(self.cmd(f"readb 0x{a:x}"), 16)
    def readw(self, a): return int(self.cmd(f"readw 0x{a:x}"), 16)
    def readl(self, a): return int(self.cmd(f"readl 0x{a:x}"), 16)
    def writeb(self, a, v): self.cmd(f"writeb 0x{a:x} 0x{v:x}")
    def writew(self, a, v): self.cmd(f"writew 0x{a:x} 0x{v:x}")
    def writel(self, a, v): self.cmd(f"writel 0x{a:x} 0x{v:x}")

    def write(self, a, data):
        if data:
            self.cmd(f"write 0x{a:x} 0x{len(data):x} 0x{data.hex()}")

    def read(self, a, n):
        return bytes.fromhex(self.cmd(f"read 0x{a:x} 0x{n:x}")[2:])


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        json.loads(self.f.readline())  # greeting
        self.call("qmp_capabilities")

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "event" in r:
                continue
            return r


# ---- a minimal modern virtio-pci driver ------------------------------------
BAR_ADDR = 0xE0000000
RAM_DESC, RAM_AVAIL, RAM_USED = 0x100000, 0x101000, 0x102000
RAM_BUF = 0x200000
QSIZE = 16
CTRL_VQ = 2


class VirtioNet:
    def __init__(self, qt):
        self.qt = qt
        self.dev = self._find()
        self._map_bar()
        self.avail_idx = 0
        self.used_seen = 0

    def cfg_addr(self, off):
        return 0x80000000 | (self.dev << 11) | (off & 0xFC)

    def cfg_read(self, off, size=4):
        self.qt.outl(0xCF8, self.cfg_addr(off))
        v = self.qt.inl(0xCFC) >> (8 * (off & 3))
        return v & ((1 << (8 * size)) - 1)

    def cfg_write32(self, off, v):
        self.qt.outl(0xCF8, self.cfg_addr(off))
        self.qt.outl(0xCFC, v)

    def _find(self):
        for dev in range(32):
            self.dev = dev
            if self.cfg_read(0) == (0x1041 << 16 | 0x1AF4):
                return dev
        raise RuntimeError("no modern virtio-net on bus 0")

    def _map_bar(self):
        caps = {}
        ptr = self.cfg_read(0x34, 1)
        while ptr:
            cap_id, nxt = self.cfg_read(ptr, 1), self.cfg_read(ptr + 1, 1)
            if cap_id == 0x09:
                ctype, bar = self.cfg_read(ptr + 3, 1), self.cfg_read(ptr + 4, 1)
                off = self.cfg_read(ptr + 8)
                extra = self.cfg_read(ptr + 16) if ctype == 2 else 0
                caps.setdefault(ctype, (bar, off, extra))
            ptr = nxt
        bar = caps[1][0]
        self.cfg_write32(0x10 + 4 * bar, BAR_ADDR)
        self.cfg_write32(0x10 + 4 * bar + 4, 0)
        cmd = self.cfg_read(4, 2)
        self.cfg_write32(4, cmd | 0x6)  # memory space + bus master
        self.common = BAR_ADDR + caps[1][1]
        self.notify = BAR_ADDR + caps[2][1]
        self.notify_mult = caps[2][2]

    def device_features(self):
        qt, c = self.qt, self.common
        qt.writel(c + 0x00, 0)
        lo = qt.readl(c + 0x04)
        qt.writel(c + 0x00, 1)
        return lo | qt.readl(c + 0x04) << 32

    def init(self, features):
        qt, c = self.qt, self.common
        qt.writeb(c + 0x14, 0)              # reset
        qt.writeb(c + 0x14, 1 | 2)          # ACKNOWLEDGE | DRIVER
        qt.writel(c + 0x08, 0); qt.writel(c + 0x0C, features & 0xFFFFFFFF)
        qt.writel(c + 0x08, 1); qt.writel(c + 0x0C, features >> 32)
        qt.writeb(c + 0x14, 1 | 2 | 8)      # FEATURES_OK
        if not qt.readb(c + 0x14) & 8:
            raise RuntimeError("device refused the features")
        qt.write(RAM_DESC, bytes(0x3000))
        qt.writew(c + 0x16, CTRL_VQ)
        qt.writew(c + 0x18, QSIZE)
        for off, addr in ((0x20, RAM_DESC), (0x28, RAM_AVAIL), (0x30, RAM_USED)):
            qt.writel(c + off, addr); qt.writel(c + off + 4, 0)
        self.notify_off = qt.readw(c + 0x1E)
        qt.writew(c + 0x1C, 1)
        qt.writeb(c + 0x14, 1 | 2 | 8 | 4)  # DRIVER_OK
        self.avail_idx = 0
        self.used_seen = 0

    def status(self):
        return self.qt.readb(self.common + 0x14)

    def reset(self):
        self.qt.writeb(self.common + 0x14, 0)

    def submit(self, bufs):
        """bufs: [(bytes_or_len, writable, addr_override)] -> list of guest addresses."""
        qt = self.qt
        addrs, a = [], RAM_BUF
        descs = b""
        for i, (content, writable, override) in enumerate(bufs):
            n = content if isinstance(content, int) else len(content)
            addr = override if override is not None else a
            if not writable and override is None:
                qt.write(addr, content)
            elif writable and override is None:
                qt.write(addr, b"\xaa" * min(n, 64))  # poison: the reply overwrites it
            flags = (1 if i + 1 < len(bufs) else 0) | (2 if writable else 0)
            descs += struct.pack("<QIHH", addr, n, flags, i + 1 if i + 1 < len(bufs) else 0)
            addrs.append(addr)
            a += (n + 0xFFF) & ~0xFFF if override is None else 0
        qt.write(RAM_DESC, descs)
        slot = self.avail_idx % QSIZE
        qt.writew(RAM_AVAIL + 4 + 2 * slot, 0)
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        qt.writew(RAM_AVAIL + 2, self.avail_idx)
        qt.writew(self.notify + self.notify_off * self.notify_mult, CTRL_VQ)
        return addrs

    def wait_used(self, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if self.qt.readw(RAM_USED + 2) != self.used_seen:
                self.used_seen = (self.used_seen + 1) & 0xFFFF
                return True
            time.sleep(0.02)
        return False

    def command(self, frame_bytes, reply_cap=8192, cmd=CMD_FRAME, klass=CTRL_CLASS, timeout=10.0):
        """One control command laid out as Linux does: out [ctrl hdr][frame],
        in [ack][le32 reply_len + frame]. Returns (ack, reply_len, reply frame)
        or None when the device never completed it."""
        # (a zero-length descriptor is a virtqueue error of its own: an empty
        # frame is sent as no frame descriptor at all)
        layout = [(bytes([klass, cmd]), False, None)] + ([(frame_bytes, False, None)] if frame_bytes else []) + \
                 [(1, True, None), (reply_cap, True, None)]
        addrs = self.submit(layout)
        if not self.wait_used(timeout):
            return None
        return self.read_reply(addrs[-2], addrs[-1], reply_cap)

    def read_reply(self, ack_addr, reply_addr, reply_cap):
        ack = self.qt.read(ack_addr, 1)[0]
        if reply_cap < 4:
            return ack, None, b""
        rlen = struct.unpack("<I", self.qt.read(reply_addr, 4))[0]
        body = self.qt.read(reply_addr + 4, rlen) if 0 < rlen <= reply_cap - 4 else b""
        return ack, rlen, body


# ---- the test -------------------------------------------------------------------
def main():
    qemu = sys.argv[1]
    d = tempfile.mkdtemp(prefix="xo-qtest.")
    qt_path, dm_path, qmp_path = (os.path.join(d, n) for n in ("qtest.sock", "daemon.sock", "qmp.sock"))
    daemon = FakeDaemon(dm_path)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(qt_path)
    lsock.listen(1)
    lsock.settimeout(60)
    log = open(os.path.join(d, "qemu.log"), "w+")
    proc = subprocess.Popen([
        qemu, *FIRMWARE, "-M", "pc", "-accel", "qtest", "-m", "64M", "-nodefaults", "-display", "none",
        "-qtest", "unix:" + qt_path, "-qtest-log", "/dev/null", "-qmp", f"unix:{qmp_path},server=on,wait=off",
        "-chardev", f"socket,id=xo0,path={dm_path},reconnect=1",
        "-device", "virtio-net-pci,disable-legacy=on,romfile=,xdp-offload=xo0,"
                   "xdp-offload-timeout-ms=1500",
    ], stdout=log, stderr=subprocess.STDOUT)
    try:
        qconn, _ = lsock.accept()
        qt = QTest(qconn)
        check(daemon.wait_connections(1), "QEMU connects to the daemon socket")
        qmp = Qmp(qmp_path)
        net = VirtioNet(qt)
        feats = net.device_features()
        check(feats >> FEATURE_BIT & 1 == 1, f"device offers feature bit {FEATURE_BIT}")
        base = 1 << 32 | 1 << 17  # VERSION_1 | CTRL_VQ

        # 1. the class without the feature: ERR, nothing forwarded
        net.init(base)
        r = net.command(frame(T_CAPS, 1, struct.pack("<HH", 1, 1)))
        check(r is not None and r[0] == ERR and daemon.count() == 0, "feature not negotiated: ERR, not forwarded")

        net.init(base | 1 << FEATURE_BIT)
        # 2. a good CAPS round trip, byte for byte
        req = frame(T_CAPS, 0x1234, struct.pack("<HH", 1, 1))
        r = net.command(req)
        exp = frame(T_CAPS | 0x8000, 0x1234, reply_payload(0, b"echo"))
        check(r == (OK, len(exp), exp), "CAPS: OK, reply frame written back before the ack")
        check(daemon.last() == (1, req), "CAPS: the daemon got the frame verbatim")

        # 3. malformed commands from a hostile driver: ERR, never forwarded
        n0 = daemon.count()
        bad = [
            ("bad magic", frame(T_CAPS, 2, b"abcd", magic=0x11111111)),
            ("payload_len over the bytes given", frame(T_CAPS, 3, b"abcd", plen=5)),
            ("payload_len under the bytes given", frame(T_CAPS, 4, b"abcd", plen=3)),
            ("payload_len 0xffffffff", frame(T_CAPS, 5, b"abcd", plen=0xFFFFFFFF)),
            ("frame shorter than its header", frame(T_CAPS, 6)[:11]),
            ("empty frame", b""),
        ]
        for what, f in bad:
            r = net.command(f)
            check(r is not None and r[0] == ERR and r[1] == 0, "malformed (" + what + "): ERR, reply_len 0")
        r = net.command(frame(T_CAPS, 7, b"abcd"), cmd=9)
        check(r is not None and r[0] == ERR, "unknown command of the class: ERR")
        r = net.command(frame(T_CAPS, 8, b"abcd"), reply_cap=3)
        check(r is not None and r[0] == ERR, "reply buffer too small for reply_len: ERR")
        check(daemon.count() == n0, "no malformed command reached the daemon")
        # a frame split over many small descriptors is still one frame
        req = frame(T_CAPS, 9, struct.pack("<HH", 1, 1))
        parts = [(bytes([CTRL_CLASS, 0]), False, None)] + [(req[i:i + 3], False, None) for i in range(0, len(req), 3)]
        addrs = net.submit(parts + [(1, True, None), (64, True, None)])
        ok = net.wait_used()
        r = net.read_reply(addrs[-2], addrs[-1], 64)
        check(ok and r[0] == OK and r[1] == 32 and daemon.last()[1] == req,
              f"frame scattered over {len(parts) - 1} descriptors: forwarded whole")
        # ack and reply in ONE device-writable descriptor
        addrs = net.submit([(bytes([CTRL_CLASS, 0]) + req, False, None), (1 + 4 + 64, True, None)])
        ok = net.wait_used()
        r = net.read_reply(addrs[-1], addrs[-1] + 1, 64)
        check(ok and r[0] == OK and r[1] == 32, "ack and reply in one descriptor: ack at 0, reply at 1")

        # a 3 MiB frame: more than a unix socket buffer holds, so QEMU's
        # non-blocking writes resume from its G_IO_OUT watch
        big = frame(T_CAPS, 0x4242, os.urandom(3 << 20))
        t0 = time.time()
        r = net.command(big, timeout=60)
        check(r is not None and r[0] == OK and HDR.unpack(r[2][:20])[3] == 0x4242 and daemon.last()[1] == big,
              f"3 MiB frame forwarded verbatim in {time.time() - t0:.1f}s, reply written back")

        # 4. reply larger than the driver's buffer: ERR, reply_len 0
        daemon.set_mode("big")
        r = net.command(frame(T_CAPS, 10, struct.pack("<HH", 1, 1)), reply_cap=256)
        check(r is not None and r[0] == ERR and r[1] == 0, "reply over the driver's buffer: ERR, reply_len 0")
        # 5. an EVENT before the reply is dropped; the reply still matches
        daemon.set_mode("event")
        r = net.command(frame(T_CAPS, 11, struct.pack("<HH", 1, 1)))
        check(r is not None and r[0] == OK and r[2][:12] == HDR.pack(MAGIC, 1, 0x8001, 11, 0, 12)[:12],
              "EVENT between request and reply: dropped, the reply completes the command")
        daemon.set_mode("echo")

        # 6. migration is blocked while the guest holds host objects
        r = net.command(frame(T_MAP_CREATE, 12, b"\0" * 48))
        check(r is not None and r[0] == OK, "MAP_CREATE forwarded")
        r = qmp.call("migrate", uri="exec:cat >/dev/null")
        msg = json.dumps(r)
        check("error" in r and "offloaded XDP" in msg, "migrate refused with the xdp-offload message: " + msg[:160])

        # 7. device reset frees the host side: QEMU sends RESET
        n0 = daemon.count()
        net.reset()
        deadline = time.time() + 5
        while daemon.count() == n0 and time.time() < deadline:
            time.sleep(0.05)
        last = daemon.last()[1]
        check(daemon.count() == n0 + 1 and HDR.unpack(last[:20])[2] == T_RESET,
              "device reset: QEMU sent the daemon a RESET")
        net.init(base | 1 << FEATURE_BIT)
        r = net.command(frame(T_CAPS, 13, struct.pack("<HH", 1, 1)))
        check(r is not None and r[0] == OK and HDR.unpack(r[2][:20])[3] == 13,
              "after reset: the RESET's reply is not taken for the next command's")

        # 8. a daemon out of sync: ERR, QEMU reconnects
        for mode, what in (("garbage", "bad magic from the daemon"), ("oversize", "64 MiB frame from the daemon")):
            conns = daemon.connections
            daemon.set_mode(mode)
            r = net.command(frame(T_CAPS, 14, struct.pack("<HH", 1, 1)))
            check(r is not None and r[0] == ERR, what + ": ERR")
            daemon.set_mode("echo")
            check(daemon.wait_connections(conns + 1), what + ": QEMU reconnected")
            time.sleep(0.3)
            r = net.command(frame(T_CAPS, 15, struct.pack("<HH", 1, 1)))
            check(r is not None and r[0] == OK, what + ": the next command works")
        # 9. a silent daemon: ERR after the timeout, not a hung control queue
        conns = daemon.connections
        daemon.set_mode("silent")
        t0 = time.time()
        r = net.command(frame(T_CAPS, 16, struct.pack("<HH", 1, 1)), timeout=10)
        took = time.time() - t0
        check(r is not None and r[0] == ERR and 1.0 < took < 8, f"silent daemon: ERR after {took:.1f}s (timeout 1.5s)")
        check(qt.readb(net.common + 0x14) & 4 == 4, "QEMU's main loop kept serving while the command waited")
        daemon.set_mode("echo")
        check(daemon.wait_connections(conns + 1), "silent daemon: QEMU reconnected")

        # 10. broken virtqueue input: QEMU marks the device broken, survives
        time.sleep(0.3)
        net.submit([(bytes([CTRL_CLASS, 0]) + frame(T_CAPS, 17), False, None)])  # no device-writable buffer
        time.sleep(0.5)
        check(net.status() & 0x40 == 0x40, "command without an ack buffer: device needs reset (virtio_error)")
        net.init(base | 1 << FEATURE_BIT)
        # frames in the PCI hole and beyond the physical address space: read
        # through QEMU's bounce buffer as unassigned memory (garbage -> ERR),
        # or refused by the virtqueue (device needs reset). Either way, no crash.
        for addr in (0x7FFFF000, 0xFFFFFFFFF000):
            net.init(base | 1 << FEATURE_BIT)
            n0 = daemon.count()
            addrs = net.submit([(bytes([CTRL_CLASS, 0]), False, None), (64, False, addr), (1, True, None),
                                (64, True, None)])
            done = net.wait_used(5)
            check(((done and qt.read(addrs[2], 1)[0] == ERR) or net.status() & 0x40 == 0x40) and daemon.count() == n0,
                  f"frame descriptor at 0x{addr:x} (not RAM): ERR or device needs reset, nothing forwarded")
        net.init(base | 1 << FEATURE_BIT)
        r = net.command(frame(T_CAPS, 18, struct.pack("<HH", 1, 1)))
        check(r is not None and r[0] == OK, "after the broken commands and a reset: a good command works")

        # 11. still alive
        check(proc.poll() is None, "QEMU is still running")
        r = qmp.call("query-status")
        check("return" in r, "QMP answers: " + json.dumps(r)[:80])
    except Exception as e:  # noqa: BLE001 - any harness failure is a test failure
        check(False, f"harness: {type(e).__name__}: {e}")
    finally:
        alive = proc.poll() is None
        if alive:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.seek(0)
        out = log.read()
        if failures or not alive:
            print("--- QEMU output ---\n" + out[-4000:])
        check(alive, "QEMU did not exit or crash during the test")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
