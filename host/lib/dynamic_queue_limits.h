#pragma once
// Dynamic queue limits (include/linux/dynamic_queue_limits.h, lib/dynamic_queue_limits.c,
// v6.6): the byte budget Byte Queue Limits (BQL) keeps in flight on a transmit queue. The
// driver reports bytes handed to the device (dql_queued) and bytes it completed
// (dql_completed); the limit grows when the queue ran dry while over it and shrinks by the
// slack the queue kept over slack_hold_time.
#include <climits>
#include <cstdint>

namespace nicsim::host {

struct dql {
  // Fields used by dql_queued and dql_avail.
  unsigned num_queued = 0;  // total bytes ever queued
  unsigned adj_limit = 0;   // limit + num_completed
  unsigned last_obj_cnt = 0;
  // Fields used by dql_completed.
  unsigned limit = 0;
  unsigned num_completed = 0;
  unsigned prev_ovlimit = 0;
  unsigned prev_num_queued = 0;
  unsigned prev_last_obj_cnt = 0;
  unsigned lowest_slack = UINT_MAX;
  uint64_t slack_start_time = 0;  // jiffies
  // Configuration (/sys/class/net/<dev>/queues/tx-<n>/byte_queue_limits/).
  unsigned max_limit = 0;
  unsigned min_limit = 0;
  uint64_t slack_hold_time = 0;  // jiffies
};

inline constexpr unsigned DQL_MAX_OBJECT = UINT_MAX / 16;
inline constexpr unsigned DQL_MAX_LIMIT = (UINT_MAX / 2) - DQL_MAX_OBJECT;

// dql_queued: record count bytes handed to the device.
inline void dql_queued(dql& d, unsigned count) {
  d.last_obj_cnt = count;
  d.num_queued += count;
}
// dql_avail: bytes that may still be queued (negative: over the limit).
inline int dql_avail(const dql& d) { return static_cast<int>(d.adj_limit - d.num_queued); }
// dql_completed: count bytes finished; adjusts the limit. now: jiffies.
void dql_completed(dql& d, unsigned count, uint64_t now);
void dql_reset(dql& d, uint64_t now);
void dql_init(dql& d, uint64_t hold_time, uint64_t now);

}  // namespace nicsim::host
