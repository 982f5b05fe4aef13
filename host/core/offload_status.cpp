// Offload::status: what is offloaded where, for `xoffload status` and the
// daemon. JSON is written by hand: names come from the guest, so every
// string is escaped.
#include <cstdio>

#include "host/core/offload.hpp"

namespace xo::host {

namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

OffloadStatus Offload::status() const {
  OffloadStatus s;
  s.session = options_.session;
  s.tap = options_.tap;
  s.tap_ifindex = tap_ifindex_;
  s.flavor = std::string(flavor_name(options_.flavor));
  s.prog_name = prog_name_;
  s.prog_kernel_name = prog_kernel_name_;
  s.prog_id = prog_id_;
  s.btf_id = btf_ ? btf_->id : 0;
  s.stats_map_id = stats_map_id_;
  s.cookie = defers_ ? options_.cookie : 0;
  s.pin_dir = pins_.dir();
  s.pins = pins_.leaves();
  if (tc_) s.tcx_link_id = tc_->link_id();
  if (tc_)
    s.attach = tc_->is_link() ? "tcx link " + std::to_string(tc_->link_id()) + " egress on " + options_.tap
                              : "tc clsact egress on " + options_.tap + " handle 0x58 prio " + std::to_string(kTcPriority);
  else if (chain_) {
    s.chain_map_id = chain_->map_id();
    s.attach = chain_->occupied() ? "chain slot 0 of " + pins_.path(chain_->pin_leaf())
                                  : "chain prog array " + pins_.path(chain_->pin_leaf()) + " (slot empty)";
  } else if (tun_) {
    s.attach = "tun Tx-path XDP on " + options_.tap;
  } else {
    s.attach = "not attached";
  }
  for (const auto& m : maps_.all())
    s.maps.push_back(MapStatus{m.def.handle, m.def.name, m.kernel_name, map_type_name(m.def.type),
                               pins_.path(map_pin_leaf(m.def)), m.def.key_size, m.def.value_size,
                               m.def.max_entries, m.id, m.btf_typed});
  if (stats_map_)
    if (auto st = stats(); st) s.stats = *st;
  return s;
}

std::string OffloadStatus::to_json() const {
  std::string j = "{";
  auto field = [&](std::string_view k, const std::string& v) { j += quote(k) + ":" + v + ","; };
  field("session", quote(session));
  field("tap", quote(tap));
  field("tap_ifindex", std::to_string(tap_ifindex));
  field("flavor", quote(flavor));
  field("prog", "{\"name\":" + quote(prog_name) + ",\"kernel_name\":" + quote(prog_kernel_name) +
                    ",\"id\":" + std::to_string(prog_id) + "}");
  field("btf_id", std::to_string(btf_id));
  field("attach", quote(attach));
  field("pin_dir", quote(pin_dir));
  std::string maps_j = "[";
  for (const auto& m : maps) {
    if (maps_j.size() > 1) maps_j += ",";
    maps_j += "{\"handle\":" + std::to_string(m.handle) + ",\"name\":" + quote(m.name) +
              ",\"kernel_name\":" + quote(m.kernel_name) + ",\"type\":" + quote(m.type) +
              ",\"key_size\":" + std::to_string(m.key_size) + ",\"value_size\":" + std::to_string(m.value_size) +
              ",\"max_entries\":" + std::to_string(m.max_entries) + ",\"id\":" + std::to_string(m.id) +
              ",\"btf_typed\":" + (m.btf_typed ? "true" : "false") + ",\"pin\":" + quote(m.pin) + "}";
  }
  field("maps", maps_j + "]");
  if (chain_map_id) field("chain_map_id", std::to_string(chain_map_id));
  if (tcx_link_id) field("tcx_link_id", std::to_string(tcx_link_id));
  if (cookie) field("cookie", std::to_string(cookie));
  if (stats) {
    std::string st = "{";
    for (std::size_t i = 0; i < stats->count.size(); ++i) {
      if (i) st += ",";
      st += quote(kActionNames[i]) + ":" + std::to_string(stats->count[i]);
    }
    field("stats", st + "}");
    field("stats_map_id", std::to_string(stats_map_id));
  }
  std::string pins_j = "[";
  for (const auto& p : pins) pins_j += (pins_j.size() > 1 ? "," : "") + quote(p);
  j += quote("pins") + ":" + pins_j + "]}";
  return j;
}

}  // namespace xo::host
