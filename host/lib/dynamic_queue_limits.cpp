// lib/dynamic_queue_limits.c (v6.6), line for line; jiffies come in as `now`.
#include "host/lib/dynamic_queue_limits.h"

#include <algorithm>

namespace nicsim::host {

namespace {
unsigned POSDIFF(unsigned a, unsigned b) { return static_cast<int>(a - b) > 0 ? a - b : 0; }
bool AFTER_EQ(unsigned a, unsigned b) { return static_cast<int>(a - b) >= 0; }
}  // namespace

void dql_completed(dql& d, unsigned count, uint64_t now) {
  const unsigned num_queued = d.num_queued;
  // BUG_ON(count > num_queued - dql->num_completed): a driver completing more than it queued.
  const unsigned completed = d.num_completed + count;
  unsigned limit = d.limit;
  unsigned ovlimit = POSDIFF(num_queued - d.num_completed, limit);
  const unsigned inprogress = num_queued - completed;
  const unsigned prev_inprogress = d.prev_num_queued - d.num_completed;
  const bool all_prev_completed = AFTER_EQ(completed, d.prev_num_queued);

  if ((ovlimit && !inprogress) || (d.prev_ovlimit && all_prev_completed)) {
    // Starved: over the limit in the last interval and now empty. Grow by what was sent
    // and completed in the interval, plus the previous over-limit.
    limit += POSDIFF(completed, d.prev_num_queued) + d.prev_ovlimit;
    d.slack_start_time = now;
    d.lowest_slack = UINT_MAX;
  } else if (inprogress && prev_inprogress && !all_prev_completed) {
    // Busy the whole interval: shrink by the lowest slack seen over slack_hold_time.
    unsigned slack = POSDIFF(limit + d.prev_ovlimit, 2 * (completed - d.num_completed));
    const unsigned slack_last_objs = d.prev_ovlimit ? POSDIFF(d.prev_last_obj_cnt, d.prev_ovlimit) : 0;
    slack = std::max(slack, slack_last_objs);
    if (slack < d.lowest_slack) d.lowest_slack = slack;
    if (now > d.slack_start_time + d.slack_hold_time) {  // time_after
      limit = POSDIFF(limit, d.lowest_slack);
      d.slack_start_time = now;
      d.lowest_slack = UINT_MAX;
    }
  }
  limit = std::clamp(limit, d.min_limit, d.max_limit);
  if (limit != d.limit) {
    d.limit = limit;
    ovlimit = 0;
  }
  d.adj_limit = limit + completed;
  d.prev_ovlimit = ovlimit;
  d.prev_last_obj_cnt = d.last_obj_cnt;
  d.num_completed = completed;
  d.prev_num_queued = num_queued;
}

void dql_reset(dql& d, uint64_t now) {
  d.limit = d.min_limit;
  d.num_queued = 0;
  d.num_completed = 0;
  d.last_obj_cnt = 0;
  d.prev_num_queued = 0;
  d.prev_last_obj_cnt = 0;
  d.prev_ovlimit = 0;
  d.lowest_slack = UINT_MAX;
  d.slack_start_time = now;
  d.adj_limit = d.limit;  // zero as kzalloc leaves it: the first packet queued is over the limit
}

void dql_init(dql& d, uint64_t hold_time, uint64_t now) {
  d.max_limit = DQL_MAX_LIMIT;
  d.min_limit = 0;
  d.slack_hold_time = hold_time;
  dql_reset(d, now);
}

}  // namespace nicsim::host
