// Load workers: where PROG_LOAD's costly part runs (pre-verify, translate,
// the kernel verifier), off the thread that serves the sessions.
//
// A hostile guest can make one kernel verification cost seconds of CPU (a
// short program that drives the verifier to its 1M-instruction limit). On
// the serving thread that stalls every VM's requests; here it stalls only
// the session that asked, whose later frames wait their turn (Session keeps
// at most one load in flight), while the serving thread answers everyone
// else.
//
// The embedding loop polls completion_fd() (an eventfd): it is readable
// once a job has ended; acknowledge() it, then ask each busy session for
// its reply (Session::poll_load). Each job's thread CPU time
// (CLOCK_THREAD_CPUTIME_ID around run()) is measured here and charged by
// the session that submitted it.
//
// Jobs are shared between the pool and the session: when a session goes
// away first (hang-up, reset) it cancels its job; a job not yet started is
// then dropped unrun, and a running one is freed (closing whatever it
// loaded into the kernel) by the worker when it ends.
//
// Workers run at a lower priority (nice) than the serving thread and block
// every signal (a pending signal would make the kernel verifier give up
// with EAGAIN, and SIGTERM belongs to the daemon's main thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/unique_fd.hpp"
#include "host/session/backend.hpp"

namespace xo::session {

struct LoadJob {
  explicit LoadJob(std::unique_ptr<BackendLoad> l) : load(std::move(l)) {}
  std::unique_ptr<BackendLoad> load;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> done{false};  // set (release) after cpu_ns is written
  std::uint64_t cpu_ns = 0;       // the worker thread's CPU time in run()
};

class LoadPool {
 public:
  // `threads` workers (at least 1), each at `nice` above the caller's.
  explicit LoadPool(unsigned threads = 1, int nice = 10);
  ~LoadPool();  // drops queued jobs, waits for running ones
  LoadPool(const LoadPool&) = delete;
  LoadPool& operator=(const LoadPool&) = delete;

  int completion_fd() const { return event_.get(); }
  void acknowledge();
  void submit(std::shared_ptr<LoadJob> job);
  // Blocks until `job` has ended (for synchronous embeddings).
  void wait(const LoadJob& job);
  // Jobs waiting for a worker (not running).
  std::size_t queued() const;

 private:
  void work(int nice);

  UniqueFd event_;
  mutable std::mutex mu_;
  std::condition_variable wake_, ended_;
  std::deque<std::shared_ptr<LoadJob>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Runs `job` on the calling thread, measured as a worker would.
void run_load_job(LoadJob& job);

}  // namespace xo::session
