// Running xoffload (and bpftool, ip) as a user does, for the CLI tests:
// a child process with captured stdout/stderr, optionally inside a network
// namespace (setns in the child only: the bpffs mount stays visible, which
// `ip netns exec` would hide by remounting /sys), plus RAII owners for the
// scratch directory, the netns and the pinned session the tests create.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace xo::cli_test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "xo_cli.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

struct Ran {
  int exit_code;
  std::string out;
  std::string err;
};

// Runs argv (no shell; argv[0] is a path or a name looked up in PATH), in
// network namespace `netns` when it is not empty.
inline Ran run(const std::vector<std::string>& argv, const std::string& netns = "") {
  TempDir dir;
  fs::path out = dir / "out", err = dir / "err";
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(126);
    if (!netns.empty()) {
      int fd = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(125);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return Ran{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

inline Ran xoffload(std::vector<std::string> args, const std::string& netns = "") {
  args.insert(args.begin(), XO_XOFFLOAD_BIN);
  return run(args, netns);
}

inline std::string xdp1() { return std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o"; }
inline std::string xdp2() { return std::string(XO_EXAMPLES_BIN) + "/xdp2/xdp2_kern.o"; }
#ifdef XO_BUILDER_PROGS_DIR
// tests/builder/progs/<name>.bpf.c, built.
inline std::string builder_prog(const std::string& name) {
  return std::string(XO_BUILDER_PROGS_DIR) + "/builder_" + name + ".o";
}
#endif

inline rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  EXPECT_FALSE(d.HasParseError()) << "not JSON: " << text;
  return d;
}

// A name unique to this process and call, within `max` chars (ifnames: 15).
inline std::string unique_name(const std::string& prefix, std::size_t max = 15) {
  static std::atomic<unsigned> counter{0};
  std::string n = prefix + std::to_string(getpid() % 100000) + "_" + std::to_string(counter++);
  return n.substr(0, max);
}

// A fresh network namespace, deleted (with everything in it) on scope exit.
class Netns {
 public:
  Netns() : name_(unique_name("xoclins")) {
    if (run({"ip", "netns", "add", name_}).exit_code != 0)
      throw std::runtime_error("ip netns add " + name_ + " failed");
    run({"ip", "-n", name_, "link", "set", "lo", "up"});
  }
  ~Netns() { run({"ip", "netns", "del", name_}); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  const std::string& name() const { return name_; }

  // A tap inside this namespace (up), gone with the namespace.
  std::string add_tap() {
    std::string tap = unique_name("xoclitap");
    if (run({"ip", "-n", name_, "tuntap", "add", "mode", "tap", "name", tap}).exit_code != 0)
      throw std::runtime_error("tuntap add " + tap + " failed");
    run({"ip", "-n", name_, "link", "set", tap, "up"});
    return tap;
  }

 private:
  std::string name_;
};

}  // namespace xo::cli_test
