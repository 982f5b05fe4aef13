// The C interface (xoffload_session.h) over Session + Connection: the same
// request path xoffloadd's poll loop runs, with the VMM moving the bytes.
#include "host/session/xoffload_session.h"

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>

#include "core/version.hpp"
#include "host/core/names.hpp"
#include "host/session/config.hpp"
#include "host/session/connection.hpp"
#include "host/session/kernel_backend.hpp"
#include "host/session/load_pool.hpp"
#include "host/session/session.hpp"
#include "transport/codec.hpp"

#include <net/if.h>

struct xo_session {
  xo::session::Connection conn;  // framing and the output queue, no fd
  // Declared before the session: a load still running when the session is
  // freed is cancelled, and the pool's destructor waits for it.
  std::shared_ptr<xo::session::LoadPool> pool;  // set by xo_session_completion_fd
  std::unique_ptr<xo::session::Session> session;
};

namespace {

using namespace xo::session;

// The [session NAME] section of `path`, or the defaults for name/tap.
xo::Result<SessionConfig> config_of(const xo_session_opts& o, std::string& pin_root) {
  SessionConfig c;
  c.name = o.name;
  c.tap = o.tap;
  if (o.config) {
    auto file = load_config_file(o.config);
    if (!file) return file.error();
    pin_root = file->pin_root;
    bool found = false;
    for (auto& s : file->sessions)
      if (s.name == c.name) {
        c = s;
        c.tap = o.tap;  // the VMM knows which tap it opened
        found = true;
      }
    if (!found) return xo::err(EINVAL, std::string(o.config) + ": no [session " + c.name + "] section");
  }
  if (o.pin_root) pin_root = o.pin_root;
  return c;
}

// Every complete request is answered in order; with a pool, a PROG_LOAD's
// reply (and the frames after it) wait for its verification to end
// (xo_session_process()), otherwise it is verified here and now.
void serve_pending(xo_session& s) {
  for (;;) {
    if (s.session->busy()) {
      auto reply = s.pool ? s.session->poll_load() : std::optional(s.session->wait_load());
      if (!reply) return;
      s.conn.queue(std::move(*reply));
    }
    if (s.conn.pending().empty()) {
      s.conn.queue_close_reply();  // after a framing error: its reply comes last
      return;
    }
    auto reply = s.session->handle_frame(s.conn.pending().front());
    s.conn.pending().pop_front();
    if (reply) s.conn.queue(std::move(*reply));
  }
}

}  // namespace

extern "C" {

int xo_session_new(const struct xo_session_opts* opts, struct xo_session** out) {
  if (!opts || !out || opts->sz < sizeof(xo_session_opts) || !opts->name || !opts->tap) return -EINVAL;
  *out = nullptr;
  if (!xo::host::validate_session_name(opts->name)) return -EINVAL;
  if (std::string(opts->tap).size() >= IF_NAMESIZE) return -EINVAL;
  if (if_nametoindex(opts->tap) == 0) return -ENODEV;
  std::string pin_root(kDefaultPinRoot);
  auto config = config_of(*opts, pin_root);
  if (!config) return -config.error().code;
  auto* s = new (std::nothrow) xo_session;
  if (!s) return -ENOMEM;
  s->session = std::make_unique<Session>(*config, make_kernel_backend(*config, pin_root), Clock::now());
  *out = s;
  return 0;
}

void xo_session_free(struct xo_session* s) { delete s; }

int xo_session_feed(struct xo_session* s, const void* data, size_t len) {
  if (!s || (!data && len)) return -EINVAL;
  if (s->conn.closing()) return -EPROTO;
  s->conn.receive(std::span(static_cast<const std::uint8_t*>(data), len));
  serve_pending(*s);
  return s->conn.closing() ? -EPROTO : 0;
}

int xo_session_completion_fd(struct xo_session* s) {
  if (!s) return -EINVAL;
  if (!s->pool) {
    if (s->session->busy()) return -EBUSY;
    s->pool = std::make_shared<LoadPool>(1);
    s->session->set_pool(s->pool);
  }
  return s->pool->completion_fd();
}

int xo_session_process(struct xo_session* s) {
  if (!s) return -EINVAL;
  if (s->pool) s->pool->acknowledge();
  serve_pending(*s);
  return s->session->busy() ? 1 : 0;
}

size_t xo_session_output_size(const struct xo_session* s) { return s ? s->conn.queued_bytes() : 0; }

size_t xo_session_read_output(struct xo_session* s, void* buf, size_t cap) {
  if (!s || !buf) return 0;
  return s->conn.take(std::span(static_cast<std::uint8_t*>(buf), cap));
}

int xo_session_check_tap(struct xo_session* s) {
  if (!s) return -EINVAL;
  if (s->session->object_count() == 0 || s->session->tap_alive()) return 1;
  for (auto& e : s->session->tap_lost())
    if (auto bytes = xo::transport::encode(0, e)) s->conn.queue(std::move(*bytes));
  return 0;
}

void xo_session_reset(struct xo_session* s) {
  if (s) s->session->reset("reset by the VMM");
}

int xo_session_get_info(const struct xo_session* s, struct xo_session_info* info) {
  if (!s || !info || info->sz == 0) return -EINVAL;
  xo_session_info full{};
  full.sz = sizeof full;
  full.attached_prog_id = s->session->attached_kernel_id();
  full.programs = static_cast<std::uint32_t>(s->session->program_count());
  full.maps = static_cast<std::uint32_t>(s->session->map_count());
  full.btfs = static_cast<std::uint32_t>(s->session->btf_count());
  full.verifier_cpu_ns = s->session->verifier_cpu_ns();
  // An older caller's smaller struct gets the fields it knows.
  const std::size_t n = info->sz < sizeof full ? info->sz : sizeof full;
  std::memcpy(info, &full, n);
  info->sz = n;
  return 0;
}

const char* xo_version(void) { return xo::kVersion.data(); }

}  // extern "C"
