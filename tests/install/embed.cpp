// What a C++ VMM does with the installed session library, compiled by
// install_test.sh from the installed tree alone (-I<prefix>/include/xoffload
// and pkg-config's Libs, never the source tree): parse a session config, make
// a Session over the kernel backend, and get its reply to a CAPS frame.
// Linking it proves Libs names every archive in a working order.
#include <chrono>
#include <cstdio>
#include <variant>

#include "core/version.hpp"
#include "host/session/config.hpp"
#include "host/session/kernel_backend.hpp"
#include "host/session/session.hpp"
#include "transport/codec.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: embed PIN_ROOT\n");
    return 2;
  }
  auto config = xo::session::parse_config("[session vm1]\ntap = lo\nsocket = /nonexistent.sock\n", "embedded");
  if (!config || config->sessions.size() != 1) {
    std::fprintf(stderr, "embed: config: %s\n", config ? "not one session" : config.error().message.c_str());
    return 1;
  }
  const auto& sc = config->sessions[0];
  const auto now = std::chrono::steady_clock::now();
  xo::session::Session session(sc, xo::session::make_kernel_backend(sc, argv[1]), now);

  auto request = xo::transport::encode(7, xo::transport::CapsRequest{});
  if (!request) return 1;
  xo::transport::Frame frame{xo::transport::parse_header(*request),
                             {request->begin() + xo::transport::kHeaderSize, request->end()}};
  auto reply = xo::transport::decode_frame(session.handle_frame(frame, now));
  const auto* caps = reply ? std::get_if<xo::transport::CapsReply>(&reply->message) : nullptr;
  if (!caps || reply->request_id != 7 || caps->helpers.empty()) {
    std::fprintf(stderr, "embed: no CAPS reply\n");
    return 1;
  }
  std::printf("xoffload %.*s: session %s answered CAPS (%zu helpers)\n", int(xo::kVersion.size()),
              xo::kVersion.data(), session.label().c_str(), caps->helpers.size());
  return 0;
}
