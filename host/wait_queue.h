#pragma once
// Wait queues as the kernel has them (include/linux/wait.h, kernel/sched/wait.c):
// entries carry an exclusive flag and a wake function; __wake_up_common walks
// the queue and stops after nr_exclusive exclusive entries were woken. Who is
// woken per packet follows from how each waiter queued itself, not from any
// special case: a UDP reader waits exclusively, a TCP sk_wait_data reader not.
#include <functional>
#include <list>

namespace nicsim::host {

class cpu;
struct task_struct;
struct wait_queue_head;

struct wait_queue_entry {
  enum flags : unsigned { WQ_FLAG_EXCLUSIVE = 0x01 };
  unsigned flags = 0;
  task_struct* private_ = nullptr;
  // Returns nonzero when it woke its task (autoremove_wake_function and friends).
  std::function<int(wait_queue_entry&)> func;
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
// Returns how many entries' wake functions reported a wake-up.
int __wake_up_common(wait_queue_head& wq, int nr_exclusive);

}  // namespace nicsim::host
