#pragma once
// Wait queues as the kernel has them (include/linux/wait.h, kernel/sched/wait.c):
// entries carry an exclusive flag and a wake function; __wake_up_common walks
// the queue and stops after nr_exclusive exclusive entries were woken. Who is
// woken per packet follows from how each waiter queued itself, not from any
// special case: a UDP reader waits exclusively, a TCP sk_wait_data reader not.
//
// The walk runs under wq_head->lock with interrupts off (__wake_up_common_lock,
// v6.x) and no wake function sleeps, so an entry (which lives on its waiter's
// stack) is never touched after the walk. In the model that means the walk takes
// no simulated time: a wake function only decides (try_to_wake_up's state change,
// enqueue and preemption check) and unlinks; the time those wake-ups cost the waker
// and the IPIs they owe are paid by __wake_up once the walk is over.
#include <functional>
#include <list>
#include <vector>

namespace nicsim::host {

class cpu;
struct task_struct;
struct wait_queue_head;

// The wake-ups one walk made: the CPU each woken task was queued to run on, in
// order. __wake_up pays for them (cpu::ttwu_finish) after the walk.
struct ttwu_batch {
  std::vector<cpu*> targets;
};

struct wait_queue_entry {
  enum flags : unsigned { WQ_FLAG_EXCLUSIVE = 0x01 };
  unsigned flags = 0;
  task_struct* private_ = nullptr;
  // Returns nonzero when it woke its task (autoremove_wake_function and friends).
  // It runs inside the walk: it must not take simulated time (never charge() or
  // wait), and leaves what a wake-up costs in the batch.
  std::function<int(wait_queue_entry&, ttwu_batch&)> func;
  wait_queue_head* queued_on = nullptr;
};

struct wait_queue_head {
  std::list<wait_queue_entry*> head;
  bool active() const { return !head.empty(); }  // waitqueue_active / skwq_has_sleeper
};

void add_wait_queue(wait_queue_head& wq, wait_queue_entry& e);            // non-exclusive, at the head
void add_wait_queue_exclusive(wait_queue_head& wq, wait_queue_entry& e);  // exclusive, at the tail
void remove_wait_queue(wait_queue_entry& e);
// DEFINE_WAIT: an entry whose wake function is autoremove_wake_function on cpu c.
void init_wait(wait_queue_entry& e, cpu& c);
void prepare_to_wait(wait_queue_head& wq, wait_queue_entry& e, cpu& c);
void prepare_to_wait_exclusive(wait_queue_head& wq, wait_queue_entry& e, cpu& c);
void finish_wait(wait_queue_entry& e, cpu& c);
// The walk alone, in zero simulated time (the part under wq_head->lock). Returns
// how many entries' wake functions reported a wake-up; their costs are in done.
int __wake_up_common(wait_queue_head& wq, int nr_exclusive, ttwu_batch& done);
// wake_up / wake_up_interruptible_sync_poll (__wake_up_common_lock): the walk,
// then, with the lock dropped, the current CPU's time for each wake-up it made.
int __wake_up(wait_queue_head& wq, int nr_exclusive);

}  // namespace nicsim::host
