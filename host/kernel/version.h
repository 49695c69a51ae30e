#pragma once
// Kernel versions the host can be (host.kernel) and the rules that differ between them;
// docs/kernels.md has the table with the commits. Everything not listed here is modelled
// after v6.6 whatever the profile says.
namespace nicsim::host {

enum class kernel_version { v6_1, v6_6, v6_12 };

struct kernel_profile {
  kernel_version version = kernel_version::v6_6;
  // 4.9 - 6.4, "softirq: Let ksoftirqd do its job" (4cd13c21b207, v4.9): invoke_softirq and
  // do_softirq leave pending softirqs to ksoftirqd while it is runnable (ksoftirqd_running;
  // HI and TASKLET excepted). Reverted by d15121be7485 (v6.5-rc1): softirqs run at
  // irq_exit whatever ksoftirqd is doing.
  bool ksoftirqd_running_defers = false;
  // "icmp: change the order of rate limits" (v6.12-rc1, backported to stable): icmp_reply /
  // __icmp_send check the per-destination limit (icmpv4_xrlim_allow) before the global one
  // (icmp_global_allow), so a limited destination no longer spends the global budget.
  bool icmp_host_limit_first = false;
  // For the TCP model: v6.6 ("tcp: get rid of sysctl_tcp_adv_win_scale", dfa2f0483360)
  // derives the window from the measured tp->scaling_ratio (len / truesize) where earlier
  // kernels used tcp_adv_win_scale = 1 (half the buffer). Exposed here; the TCP receive
  // path reads it.
  bool tcp_scaling_ratio = true;
  int tcp_adv_win_scale = 1;  // net.ipv4.tcp_adv_win_scale (used when !tcp_scaling_ratio)
  // The fair class: CFS up to 6.5; from v6.6 EEVDF ("sched/fair: Implement an EEVDF-like
  // scheduling policy", 147f3efaa241, v6.6-rc1) with PLACE_LAG, PLACE_DEADLINE_INITIAL and
  // RUN_TO_PARITY (kernel/sched/features.h, v6.6). 6.12 runs the same rules in the model: its
  // DELAY_DEQUEUE (v6.12) is not modelled, see docs/kernels.md.
  bool eevdf = true;
};

inline kernel_profile make_kernel_profile(kernel_version v) {
  kernel_profile k;
  k.version = v;
  k.ksoftirqd_running_defers = v == kernel_version::v6_1;
  k.icmp_host_limit_first = v == kernel_version::v6_12;
  k.tcp_scaling_ratio = v != kernel_version::v6_1;
  k.eevdf = v != kernel_version::v6_1;
  return k;
}

}  // namespace nicsim::host
