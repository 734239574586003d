#include "async_wait.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>

#include "common.h"
#include "platform/bus_guard.h"
#include "platform/futex.h"

namespace shmkit {

namespace {

constexpr size_t kWaiterStackBytes = 256 * 1024;
// An idle waiter thread exits after this long; bursts of lockAsync() reuse warm threads.
constexpr std::chrono::seconds kIdleExit{10};
// Without futex_waitv, a cancelled wait is noticed at the latest after this long (see RunJob).
constexpr double kFallbackSliceMs = 50;

}  // namespace

// How waiter threads hand results to one JS thread. Shared by that thread's AsyncWaits and every
// Job it started, so that it outlives the instance: after teardown (`closed`), threads must no
// longer touch the thread-safe function, which Node deletes with the environment. The mutex makes
// "check closed, then call" atomic with respect to setting `closed`.
struct Mailbox {
  std::mutex m;
  napi_threadsafe_function tsfn = nullptr;
  bool closed = false;
};

// One pending async wait. Two owners, counted in `refs`: the JS side (until the result is
// delivered, or teardown) and the waiter thread (handed on to the thread-safe function's queue
// when the result is posted).
struct Job {
  std::atomic<int> refs{2};
  // The cancellation word: 0, then 1 once JS abandons the wait. A futex in this process's private
  // memory, so the waiter thread can sleep on it and on the shared word at once (futex_waitv).
  uint32_t cancel = 0;
  int32_t* addr = nullptr;
  int32_t expected = 0;
  Deadline deadline;
  uint32_t id = 0;
  uint32_t bit = 1;  // fallback bitset, one of bits 0..30
  std::shared_ptr<Mailbox> mailbox;
  AsyncWaits* owner = nullptr;
  // Written by the waiter thread before posting; read by the JS thread after the thread-safe
  // function's queue (a mutex) has ordered the two.
  int32_t result = kOk;
  bool woke = false;       // a FUTEX_WAKE on `addr` ended this wait (it consumed a wake-up)
  bool forwarded = false;  // ...and the waiter thread already passed it on
  // JS thread only.
  bool live = true;             // the JS side still wants the result
  napi_ref array_ref = nullptr;  // keeps the SharedArrayBuffer, so the mapping, alive
};

namespace {

void Unref(Job* job) {
  if (job->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete job;
}

bool Cancelled(const Job* job) { return __atomic_load_n(&job->cancel, __ATOMIC_SEQ_CST) != 0; }

// Marks `job` cancelled and gets its thread out of the kernel. Returns 0 or -errno.
int SignalCancel(Job* job) {
  // seq_cst store before the wake: a waiter thread that has not yet entered the kernel sees the
  // 1 in its futex_waitv compare (EAGAIN) or, in the fallback, in its check before each slice.
  __atomic_store_n(&job->cancel, 1, __ATOMIC_SEQ_CST);
  if (FutexWaitvUsable()) {
    int r = FutexWakePrivate(&job->cancel, 1);
    return r < 0 ? r : 0;
  }
  // Fallback: wake the waiters of the shared word whose bitset holds this job's bit. Only async
  // waiters use bits 0..30 (blocking waits use bit 31), but other async waits on the same word,
  // in any process, may share the bit: they wake spuriously and wait again (every caller loops).
  int r = FutexWakeBitset(job->addr, INT_MAX, job->bit);
  return r < 0 ? r : 0;
}

// Runs on a waiter thread: sleeps until the word changes, a wake-up, the deadline or cancellation.
void RunJob(Job* job) {
  int32_t result = kOk;
  bool woke = false;
  if (int32_t gone = GoneCode(job->addr); gone != kOk) {
    result = gone;  // the word's page no longer comes from the segment file: nothing to wait for
  } else if (FutexWaitvUsable()) {
    // Sleep on two words at once: our private cancellation word and the shared word (no
    // FUTEX_PRIVATE_FLAG: other processes wake it). The kernel compares both before sleeping, so
    // a cancel that lands before we are queued makes the call return at once.
    //
    // The shared word goes LAST: when several entries were woken, futex_waitv returns the highest
    // index among them. A notify that chose this thread just as it was being cancelled then still
    // reads as "woken by the shared word", and is passed on below instead of being lost.
    WaitvEntry e[2] = {
        {0, reinterpret_cast<uintptr_t>(&job->cancel), FUTEX_32 | FUTEX_PRIVATE_FLAG, 0},
        {static_cast<uint64_t>(static_cast<uint32_t>(job->expected)), reinterpret_cast<uintptr_t>(job->addr),
         FUTEX_32, 0},
    };
    for (;;) {
      long r = FutexWaitv(e, 2, job->deadline);
      if (r == 1) {
        woke = true;  // a FUTEX_WAKE on the shared word chose this thread
        result = kOk;
      } else if (r == 0) {
        result = kOk;  // cancelled; nobody reads the result
      } else if (r == -EAGAIN) {
        result = kNotEqual;  // the shared word changed (or cancel was set): no wake-up consumed
      } else if (r == -ETIMEDOUT) {
        result = kTimedOut;
      } else if (r == -EINTR) {
        continue;  // absolute deadline: retrying waits until the same instant
      } else {
        result = static_cast<int32_t>(r);  // -errno, reported to JS as an error
      }
      break;
    }
  } else {
    // Fallback for kernels before 5.16 (or seccomp profiles without futex_waitv): wait on the
    // shared word alone, with this job's bit. The cancel flag cannot be part of the kernel's
    // compare, so a cancel landing between our check and the syscall is only seen at the end of
    // the slice: waits are cut into slices of kFallbackSliceMs.
    for (;;) {
      if (Cancelled(job)) {
        result = kOk;
        break;
      }
      int r = FutexWaitUntil(job->addr, job->expected, EarlierOf(job->deadline, kFallbackSliceMs), job->bit);
      if (r == kTimedOut && !Passed(job->deadline)) continue;
      // kOk here may also be SignalCancel's bitset wake; treating it as a consumed wake-up errs on
      // the side of one spurious extra wake (below), never a lost one.
      woke = r == kOk;
      result = r;
      break;
    }
  }
  if (result == kTimedOut || result == kOk) {
    if (int32_t gone = GoneCode(job->addr); gone != kOk) result = gone;
  }
  // Cancelled while a wake-up chose this thread: JS has stopped listening, so that wake-up would be
  // lost for the live waiters. Pass it on. (The SharedArrayBuffer is still referenced by the job,
  // so the word is still mapped.)
  if (woke && Cancelled(job)) {
    FutexWake(job->addr, 1);  // an error here (EFAULT) cannot be reported to anyone; the wait is over
    job->forwarded = true;
  }
  job->result = result;
  job->woke = woke;

  Mailbox& mb = *job->mailbox;
  bool posted = false;
  {
    std::lock_guard<std::mutex> lock(mb.m);
    if (!mb.closed) posted = napi_call_threadsafe_function(mb.tsfn, job, napi_tsfn_nonblocking) == napi_ok;
  }
  if (!posted) Unref(job);  // else the queue holds our reference until CallJs
}

// Process-wide pool of waiter threads, never destroyed: its threads may outlive every addon
// instance (a Worker that exits while its waits unwind) and must not race static destructors.
class WaiterPool {
 public:
  static WaiterPool& Get() {
    static WaiterPool* pool = new WaiterPool();
    return *pool;
  }

  // Hands `job` to an idle thread, or starts one. Returns 0 or an errno from pthread.
  int Submit(Job* job) {
    std::unique_lock<std::mutex> lock(m_);
    queue_.push_back(job);
    // Every queued job needs a thread of its own: a sleeping waiter is busy until its wait ends.
    if (idle_ >= queue_.size()) {
      cv_.notify_one();
      return 0;
    }
    int err = StartThread();
    if (err != 0) queue_.pop_back();  // still ours: we held the lock since push_back
    return err;
  }

 private:
  int StartThread() {
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err != 0) return err;
    err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (err == 0) err = pthread_attr_setstacksize(&attr, kWaiterStackBytes);
    if (err == 0) {
      // The new thread inherits this mask: with every signal blocked there, process-directed
      // signals (SIGINT, SIGCHLD...) go to Node's threads, and waiter syscalls are not interrupted.
      sigset_t all, old;
      sigfillset(&all);
      err = pthread_sigmask(SIG_SETMASK, &all, &old);
      if (err == 0) {
        pthread_t thread;
        err = pthread_create(&thread, &attr, &WaiterPool::ThreadMain, this);
        pthread_sigmask(SIG_SETMASK, &old, nullptr);  // restoring a mask read just above cannot fail
      }
    }
    pthread_attr_destroy(&attr);
    return err;
  }

  static void* ThreadMain(void* self) {
    static_cast<WaiterPool*>(self)->Loop();
    return nullptr;
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      while (queue_.empty()) {
        idle_++;
        bool timed_out = cv_.wait_for(lock, kIdleExit) == std::cv_status::timeout;
        idle_--;
        if (timed_out && queue_.empty()) return;
      }
      Job* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      RunJob(job);
      lock.lock();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  size_t idle_ = 0;
};

napi_status Check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok && s != napi_pending_exception) {
    throw Napi::Error::New(env, std::string(what) + " failed (napi_status " + std::to_string(s) + ")");
  }
  if (s == napi_pending_exception) throw Napi::Env(env).GetAndClearPendingException();
  return s;
}

}  // namespace

AsyncWaits::AsyncWaits() : mailbox_(std::make_shared<Mailbox>()) {}

void AsyncWaits::SetHandler(napi_env env, napi_value handler) {
  if (mailbox_->tsfn != nullptr) throw Napi::Error::New(env, "the wait handler is already installed");
  napi_value name;
  Check(env, napi_create_string_utf8(env, "shmkit.futexWaitAsync", NAPI_AUTO_LENGTH, &name), "napi_create_string");
  napi_threadsafe_function tsfn;
  Check(env,
        napi_create_threadsafe_function(env, handler, nullptr, name, 0 /* unbounded queue */, 1, nullptr, nullptr,
                                        this, &AsyncWaits::CallJs, &tsfn),
        "napi_create_threadsafe_function");
  // Only pending waits keep the event loop alive: unref now, ref while live_ > 0.
  Check(env, napi_unref_threadsafe_function(env, tsfn), "napi_unref_threadsafe_function");
  napi_value resource;
  Check(env, napi_create_object(env, &resource), "napi_create_object");
  Check(env, napi_async_init(env, resource, name, &async_context_), "napi_async_init");
  std::lock_guard<std::mutex> lock(mailbox_->m);
  mailbox_->tsfn = tsfn;
}

uint32_t AsyncWaits::Start(napi_env env, napi_value array, int32_t* addr, int32_t expected, double timeout_ms) {
  if (mailbox_->tsfn == nullptr) throw Napi::Error::New(env, "install the wait handler first");
  Job* job = new Job();
  job->addr = addr;
  job->expected = expected;
  job->deadline = DeadlineAfterMs(timeout_ms);
  job->id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  job->bit = 1u << (job->id % 31);
  job->mailbox = mailbox_;
  job->owner = this;
  napi_status s = napi_create_reference(env, array, 1, &job->array_ref);
  if (s != napi_ok) {
    delete job;
    Check(env, s, "napi_create_reference");
  }
  jobs_[job->id] = job;
  if (live_++ == 0) napi_ref_threadsafe_function(env, mailbox_->tsfn);  // cannot fail on this thread
  int err = WaiterPool::Get().Submit(job);
  if (err != 0) {
    jobs_.erase(job->id);
    LiveDone(env);
    napi_delete_reference(env, job->array_ref);
    delete job;  // never reached a thread: both references are ours
    throw SyscallError(Napi::Env(env), err, "pthread_create");
  }
  return job->id;
}

bool AsyncWaits::Cancel(napi_env env, uint32_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second->live) return false;
  Job* job = it->second;
  job->live = false;
  LiveDone(env);
  int r = SignalCancel(job);
  if (r < 0) throw SyscallError(Napi::Env(env), -r, "futex");
  return true;
}

void AsyncWaits::LiveDone(napi_env env) {
  if (--live_ == 0) napi_unref_threadsafe_function(env, mailbox_->tsfn);
}

void AsyncWaits::Teardown() {
  {
    std::lock_guard<std::mutex> lock(mailbox_->m);
    mailbox_->closed = true;
  }
  // Waiter threads must not sleep on for a JS thread that is gone (an Infinity wait would never
  // end). Their napi_refs go with the environment.
  for (auto& entry : jobs_) {
    SignalCancel(entry.second);  // best effort: nobody is left to report a failure to
    Unref(entry.second);
  }
  jobs_.clear();
}

// On the JS thread, for each posted result. `env` is null when Node drops queued items because
// the environment is going away.
void AsyncWaits::CallJs(napi_env env, napi_value handler, void* /*context*/, void* data) {
  Job* job = static_cast<Job*>(data);
  if (env == nullptr || job->mailbox->closed) {
    Unref(job);  // the queue's reference; Teardown dropped the JS side's
    return;
  }
  AsyncWaits* self = job->owner;
  bool deliver = job->live;
  // Cancelled after the thread finished but before this delivery: the thread saw no cancel and
  // did not forward the wake-up it consumed, so do it here (the array reference is still held).
  if (!deliver && job->woke && !job->forwarded) FutexWake(job->addr, 1);
  napi_delete_reference(env, job->array_ref);
  self->jobs_.erase(job->id);
  if (deliver) {
    job->live = false;
    self->LiveDone(env);
  }
  uint32_t id = job->id;
  int32_t result = job->result;
  Unref(job);  // the JS side's reference
  Unref(job);  // the queue's
  if (!deliver) return;
  napi_value argv[2], recv;  // napi_make_callback needs an object as `this`
  if (napi_create_uint32(env, id, &argv[0]) != napi_ok || napi_create_int32(env, result, &argv[1]) != napi_ok ||
      napi_get_global(env, &recv) != napi_ok) {
    return;
  }
  // MakeCallback, not napi_call_function: it runs the microtasks queued by the handler (the
  // awaiting code's continuation) before returning to the event loop, as for any I/O callback.
  napi_make_callback(env, self->async_context_, recv, handler, 2, argv, nullptr);
}

}  // namespace shmkit
