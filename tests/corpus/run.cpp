#include "tests/corpus/run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/unique_fd.hpp"

namespace xo::corpus {

namespace {

void say(int fd, const std::string& line) {
  std::string s = line + "\n";
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void child(int fd, const RunContext& ctx, ProgramRecord r, std::size_t index) {
  alarm(ctx.timeout_s);
  const std::string path = ctx.corpus_dir + "/" + r.object;
  say(fd, "step native load");
  NativeResult n = load_native(path, r.program);
  r.native = n.outcome;
  r.guest_side = n.guest_side;
  r.used_maps = n.used_maps;
  r.notes = n.notes;
  say(fd, "step guest builder");
  auto sub = build(path, r.program, n.sized_maps, &r.notes);
  if (!sub) {
    r.tc = r.chain = refused(sub.error());
  } else {
    OffloadTarget t{ctx.tap, ctx.pin_root, "c" + std::to_string(index) + "t"};
    say(fd, "step offload tc");
    r.tc = offload(*sub, Flavor::Tc, t, &r.notes);
    t.session = "c" + std::to_string(index) + "c";
    say(fd, "step offload chain");
    r.chain = offload(*sub, Flavor::Chain, t, &r.notes);
  }
  say(fd, "record " + to_json(r));
  _exit(0);
}

std::string relative(std::string s, const std::string& dir) {
  const std::string prefix = dir + "/";
  for (std::size_t at; (at = s.find(prefix)) != std::string::npos;) s.erase(at, prefix.size());
  return s;
}

}  // namespace

ProgramRecord run_program(const RunContext& ctx, const ManifestEntry& entry, const ObjectProgram& program,
                          std::size_t index) {
  ProgramRecord r;
  r.origin = entry.origin;
  r.source = entry.source;
  r.object = entry.object;
  r.program = program.name;
  r.section = program.section;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    r.crash = std::string("runner: pipe: ") + std::strerror(errno);
    return r;
  }
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = fork();
  if (pid < 0) {
    r.crash = std::string("runner: fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    rd.reset();
    child(wr.get(), ctx, r, index);
  }
  wr.reset();
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string step = "start", record;
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    if (line.rfind("step ", 0) == 0) step = line.substr(5);
    if (line.rfind("record ", 0) == 0) record = line.substr(7);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !record.empty()) {
    auto parsed = from_json(record);
    if (parsed) {
      // Messages name the object by its path in the cache; the corpus-relative one is enough.
      for (Outcome* o : {&parsed->native, &parsed->tc, &parsed->chain}) o->reason = relative(o->reason, ctx.corpus_dir);
      return std::move(*parsed);
    }
    r.crash = "runner: unreadable record from the " + step + " step";
    return r;
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    r.crash = sig == SIGALRM ? "timeout after " + std::to_string(ctx.timeout_s) + " s in the " + step + " step"
                             : std::string("killed by ") + sigabbrev_np(sig) + " in the " + step + " step";
  } else {
    r.crash = "exited with status " + std::to_string(WEXITSTATUS(status)) + " in the " + step + " step";
  }
  return r;
}

}  // namespace xo::corpus
