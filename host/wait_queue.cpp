#include "host/wait_queue.h"

#include <algorithm>

#include "host/cpu.h"

namespace nicsim::host {

void add_wait_queue(wait_queue_head& wq, wait_queue_entry& e) {
  e.flags &= ~wait_queue_entry::WQ_FLAG_EXCLUSIVE;
  wq.head.push_front(&e);
  e.queued_on = &wq;
}

void add_wait_queue_exclusive(wait_queue_head& wq, wait_queue_entry& e) {
  e.flags |= wait_queue_entry::WQ_FLAG_EXCLUSIVE;
  wq.head.push_back(&e);
  e.queued_on = &wq;
}

void remove_wait_queue(wait_queue_entry& e) {
  if (e.queued_on == nullptr) return;
  e.queued_on->head.remove(&e);
  e.queued_on = nullptr;
}

void init_wait(wait_queue_entry& e, cpu& c) {
  e.private_ = c.current();
  e.func = [](wait_queue_entry& self) {  // autoremove_wake_function, run by the waker's CPU
    const int woke = cpu::this_cpu().try_to_wake_up(self.private_) ? 1 : 0;
    if (woke) remove_wait_queue(self);
    return woke;
  };
}

void prepare_to_wait(wait_queue_head& wq, wait_queue_entry& e, cpu& c) {
  if (e.queued_on == nullptr) add_wait_queue(wq, e);
  c.current()->state = task_struct::TASK_INTERRUPTIBLE;
}

void prepare_to_wait_exclusive(wait_queue_head& wq, wait_queue_entry& e, cpu& c) {
  if (e.queued_on == nullptr) add_wait_queue_exclusive(wq, e);
  c.current()->state = task_struct::TASK_INTERRUPTIBLE;
}

void finish_wait(wait_queue_entry& e, cpu& c) {
  c.current()->state = task_struct::TASK_RUNNING;
  remove_wait_queue(e);
}

int __wake_up_common(wait_queue_head& wq, int nr_exclusive) {
  int woken = 0;
  for (auto it = wq.head.begin(); it != wq.head.end();) {
    wait_queue_entry* e = *it++;  // the wake function may unlink e
    const unsigned flags = e->flags;
    const int ret = e->func(*e);
    if (ret < 0) break;
    if (ret) ++woken;
    if (ret && (flags & wait_queue_entry::WQ_FLAG_EXCLUSIVE) && !--nr_exclusive) break;
  }
  return woken;
}

}  // namespace nicsim::host
