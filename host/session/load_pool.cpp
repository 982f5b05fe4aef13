#include "host/session/load_pool.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <ctime>

namespace xo::session {

namespace {

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000u + std::uint64_t(ts.tv_nsec);
}

}  // namespace

void run_load_job(LoadJob& job) {
  const std::uint64_t before = thread_cpu_ns();
  job.load->run();
  job.cpu_ns = thread_cpu_ns() - before;
  job.done.store(true, std::memory_order_release);
}

LoadPool::LoadPool(unsigned threads, int nice) : event_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (threads == 0) threads = 1;
  // Workers inherit this mask: every signal stays with the other threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this, nice] { work(nice); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

LoadPool::~LoadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void LoadPool::acknowledge() {
  std::uint64_t n;
  ssize_t r = ::read(event_.get(), &n, sizeof n);
  (void)r;
}

void LoadPool::submit(std::shared_ptr<LoadJob> job) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void LoadPool::wait(const LoadJob& job) {
  std::unique_lock lock(mu_);
  ended_.wait(lock, [&] { return job.done.load(std::memory_order_acquire) || stopping_; });
}

std::size_t LoadPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void LoadPool::work(int nice) {
  // Per-thread on Linux: setpriority() with a thread id.
  if (nice != 0) (void)::setpriority(PRIO_PROCESS, id_t(::syscall(SYS_gettid)), nice);
  for (;;) {
    std::shared_ptr<LoadJob> job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    if (job->cancelled.load()) continue;  // its session is gone: never run
    run_load_job(*job);
    {
      std::lock_guard lock(mu_);  // orders done with wait()'s predicate
    }
    ended_.notify_all();
    const std::uint64_t one = 1;
    ssize_t w = ::write(event_.get(), &one, sizeof one);
    (void)w;
    // A cancelled session dropped its reference: what the job loaded is
    // freed here, on the worker.
    job.reset();
  }
}

}  // namespace xo::session
