/* Encodes a fixed set of offload frames the way the patched guest virtio_net
 * does: the fixed heads are the structs of <linux/virtio_net_xo.h> as the
 * kernel patch 0002 defines it (extracted from the patch at build time), the
 * variable fields "bytes"/"array" with a le32 length or count. Prints
 * "NAME HEX" per frame; header_agreement_test compares each with transport's
 * encoder. Also decodes two reply frames given as hex on argv (PROG_LOAD and
 * MAP_LOOKUP replies) through the header's reply structs and prints the
 * fields. Little-endian host assumed (x86-64, like the guest).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include "virtio_net_xo.h"

_Static_assert(sizeof(struct virtio_net_xo_hdr) == VIRTIO_NET_XO_HDR_SIZE, "header");
_Static_assert(sizeof(struct virtio_net_xo_map_create) == 36, "map_create head");
_Static_assert(sizeof(struct virtio_net_xo_map_create_tail) == 16, "map_create tail");
_Static_assert(sizeof(struct virtio_net_xo_map_update) == 12, "map_update head");
_Static_assert(sizeof(struct virtio_net_xo_prog_load) == 12, "prog_load head");
_Static_assert(sizeof(struct virtio_net_xo_status) == 8, "status");
_Static_assert(sizeof(struct virtio_net_xo_prog_load_reply) == 8, "prog_load reply head");
_Static_assert(sizeof(struct virtio_net_xo_reply) == 4, "reply buffer head");

static uint8_t buf[1 << 16];
static size_t len;

static void put(const void *p, size_t n) { memcpy(buf + len, p, n); len += n; }
static void put32(uint32_t v) { put(&v, 4); }
static void put_bytes(const void *p, uint32_t n) { put32(n); put(p, n); }

static void begin(void) { len = VIRTIO_NET_XO_HDR_SIZE; }

static void end(const char *name, uint16_t type, uint32_t id)
{
	struct virtio_net_xo_hdr h = {
		.magic = VIRTIO_NET_XO_MAGIC, .version = VIRTIO_NET_XO_VERSION,
		.type = type, .request_id = id, .flags = 0,
		.payload_len = (uint32_t)(len - VIRTIO_NET_XO_HDR_SIZE),
	};
	memcpy(buf, &h, sizeof(h));
	printf("%s ", name);
	for (size_t i = 0; i < len; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	for (; s[0] && s[1]; s += 2) {
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* A reply frame: header, status block; returns the offset after it. */
static size_t reply_head(const uint8_t *f, size_t n, const char *name)
{
	struct virtio_net_xo_hdr h;
	struct virtio_net_xo_status st;

	memcpy(&h, f, sizeof(h));
	memcpy(&st, f + sizeof(h), sizeof(st));
	printf("%s type=0x%04x id=%u payload_len=%u frame_len=%zu status=%d msg_len=%u\n",
	       name, h.type, h.request_id, h.payload_len, n, (int32_t)st.status, st.msg_len);
	return sizeof(h) + sizeof(st) + st.msg_len;
}

int main(int argc, char **argv)
{
	/* constants the QEMU device and the driver share */
	printf("CONST magic=0x%08x version=%u hdr=%u reply_bit=0x%04x flavor_tun=%u flavor_any=%u "
	       "caps=%u btf_load=%u map_create=%u prog_load=%u reset=%u btf_free=%u error=0x%04x event=0x%04x\n",
	       VIRTIO_NET_XO_MAGIC, VIRTIO_NET_XO_VERSION, VIRTIO_NET_XO_HDR_SIZE,
	       VIRTIO_NET_XO_REPLY_BIT, VIRTIO_NET_XO_FLAVOR_TUN, VIRTIO_NET_XO_FLAVOR_ANY,
	       VIRTIO_NET_XO_CAPS, VIRTIO_NET_XO_BTF_LOAD, VIRTIO_NET_XO_MAP_CREATE,
	       VIRTIO_NET_XO_PROG_LOAD, VIRTIO_NET_XO_RESET, VIRTIO_NET_XO_BTF_FREE,
	       VIRTIO_NET_XO_ERROR, VIRTIO_NET_XO_EVENT);

	begin();
	struct virtio_net_xo_caps caps = { .min_version = 1, .max_version = 1 };
	put(&caps, sizeof(caps));
	end("caps", VIRTIO_NET_XO_CAPS, 7);

	begin();
	const uint8_t btf[] = { 0x9f, 0xeb, 1, 0, 24, 0, 0, 0 };
	put_bytes(btf, sizeof(btf));
	end("btf_load", VIRTIO_NET_XO_BTF_LOAD, 8);

	begin();
	struct virtio_net_xo_map_create mc = {
		.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8,
		.max_entries = 64, .map_flags = 0,
	};
	put(&mc, sizeof(mc));
	put_bytes("counters", 8);
	put_bytes(NULL, 0);
	end("map_create", VIRTIO_NET_XO_MAP_CREATE, 9);

	const uint8_t key[4] = { 1, 2, 3, 4 };
	const uint8_t value[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
	struct virtio_net_xo_map_elem me = { .map = 3 };
	begin(); put(&me, sizeof(me)); put_bytes(key, 4); end("map_lookup", VIRTIO_NET_XO_MAP_LOOKUP, 10);
	begin(); put(&me, sizeof(me)); put_bytes(key, 4); end("map_delete", VIRTIO_NET_XO_MAP_DELETE, 11);
	begin(); put(&me, sizeof(me)); put_bytes(NULL, 0); end("map_get_next_key", VIRTIO_NET_XO_MAP_GET_NEXT_KEY, 12);

	struct virtio_net_xo_map_update mu = { .map = 3, .flags = BPF_NOEXIST };
	begin(); put(&mu, sizeof(mu)); put_bytes(key, 4); put_bytes(value, 8);
	end("map_update", VIRTIO_NET_XO_MAP_UPDATE, 13);

	struct virtio_net_xo_handle hd = { .handle = 3 };
	begin(); put(&hd, sizeof(hd)); end("map_free", VIRTIO_NET_XO_MAP_FREE, 14);
	hd.handle = 5;
	begin(); put(&hd, sizeof(hd)); end("prog_attach", VIRTIO_NET_XO_PROG_ATTACH, 15);
	begin(); put(&hd, sizeof(hd)); end("prog_detach", VIRTIO_NET_XO_PROG_DETACH, 16);
	begin(); put(&hd, sizeof(hd)); end("prog_unload", VIRTIO_NET_XO_PROG_UNLOAD, 17);
	hd.handle = 2;
	begin(); put(&hd, sizeof(hd)); end("btf_free", VIRTIO_NET_XO_BTF_FREE, 18);
	begin(); end("reset", VIRTIO_NET_XO_RESET, 19);

	struct virtio_net_xo_prog_load pl = {
		.guest_ifindex = 2, .btf_handle = 2, .flavor = VIRTIO_NET_XO_FLAVOR_ANY,
	};
	struct bpf_insn insns[4] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = 3 },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_func_info fi = { .insn_off = 0, .type_id = 7 };
	struct bpf_line_info li = { .insn_off = 2, .file_name_off = 11, .line_off = 40, .line_col = (42 << 10) | 5 };
	begin();
	put(&pl, sizeof(pl));
	put_bytes("xdp_prog", 8);
	put_bytes("GPL", 3);
	put32(4); put(insns, sizeof(insns));
	put32(1); put(&fi, sizeof(fi));
	put32(1); put(&li, sizeof(li));
	end("prog_load", VIRTIO_NET_XO_PROG_LOAD, 20);

	/* replies from transport's encoder, decoded with the header */
	for (int i = 1; i + 1 < argc; i += 2) {
		static uint8_t f[1 << 16];
		size_t n = unhex(argv[i + 1], f), off;
		uint32_t l;

		off = reply_head(f, n, argv[i]);
		if (!strcmp(argv[i], "prog_load_reply")) {
			struct virtio_net_xo_prog_load_reply pr;

			memcpy(&pr, f + off, sizeof(pr));
			off += sizeof(pr);
			memcpy(&l, f + off, 4);
			printf("prog_load_reply.fields prog_handle=%u flavor=%u log=%.*s\n",
			       pr.prog_handle, pr.flavor, (int)l, (const char *)f + off + 4);
		} else if (!strcmp(argv[i], "map_lookup_reply")) {
			memcpy(&l, f + off, 4);
			printf("map_lookup_reply.fields value_len=%u first=%u\n", l, f[off + 4]);
		}
	}
	return 0;
}
