#include "host/kernel/sched/wait.h"

#include <algorithm>

#include "host/kernel/cpu.h"

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
  // autoremove_wake_function (kernel/sched/wait.c): default_wake_function, and on success
  // list_del_init_careful, both inside the walk. The waker's CPU decides the wake-up now
  // and pays for it after the walk: by then the woken task may have run, returned and
  // taken this entry (on its stack) with it.
  e.func = [](wait_queue_entry& self, ttwu_batch& done) {
    cpu* target = cpu::this_cpu().ttwu_locked(self.private_);
    if (target == nullptr) return 0;
    remove_wait_queue(self);
    done.targets.push_back(target);
    return 1;
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

int __wake_up_common(wait_queue_head& wq, int nr_exclusive, ttwu_batch& done) {
  int woken = 0;
  for (auto it = wq.head.begin(); it != wq.head.end();) {
    wait_queue_entry* e = *it++;  // list_for_each_entry_safe: the wake function may unlink e
    const unsigned flags = e->flags;
    const int ret = e->func(*e, done);
    if (ret < 0) break;
    if (ret) ++woken;
    if (ret && (flags & wait_queue_entry::WQ_FLAG_EXCLUSIVE) && !--nr_exclusive) break;
  }
  return woken;
}

int __wake_up(wait_queue_head& wq, int nr_exclusive) {
  ttwu_batch done;
  const int woken = __wake_up_common(wq, nr_exclusive, done);
  // spin_unlock_irqrestore: from here on the waker may be interrupted and other CPUs run.
  for (cpu* target : done.targets) cpu::this_cpu().ttwu_finish(target);
  return woken;
}

}  // namespace nicsim::host
