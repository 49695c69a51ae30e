#pragma once
// The stack's sysctls and static configuration (net.core.*, net.ipv4.*, /sys/class/net/<dev>/*,
// ip neigh): what every part of the stack reads and none of them owns. The thin top
// (host/net/netstack.h) keeps one copy and lends it to each part.
#include <array>
#include <cstdint>
#include <systemc>
#include <vector>

namespace nicsim::host {

struct netstack_params {
  int netdev_budget = 300;
  unsigned netdev_max_backlog = 1000;  // net.core.netdev_max_backlog
  int dev_weight = 64;                 // net.core.dev_weight: the backlog's NAPI weight
  unsigned netdev_budget_usecs = 0;    // 0: the kernel's default, 2 * USEC_PER_SEC / HZ
  uint32_t local_ip = 0x0A000002;
  int napi_defer_hard_irqs = 0;                               // /sys/class/net/<dev>/napi_defer_hard_irqs
  sc_core::sc_time gro_flush_timeout{sc_core::SC_ZERO_TIME};  // /sys/class/net/<dev>/gro_flush_timeout
  int gro_normal_batch = 8;      // net.core.gro_normal_batch: segments batched before a list goes up
  bool udp_backlog = false;      // the seed's kernels: softirq backlogs UDP while the reader owns the socket
  int icmp_msgs_per_sec = 1000;  // net.ipv4.icmp_msgs_per_sec
  int icmp_msgs_burst = 50;      // net.ipv4.icmp_msgs_burst
  sc_core::sc_time icmp_ratelimit{1000, sc_core::SC_MS};  // net.ipv4.icmp_ratelimit, per destination
  bool icmp_host_limit_first = false;  // host.kernel 6.12: kernel_profile::icmp_host_limit_first
  // ---- transmit
  int dev_tx_weight = 64;  // net.core.dev_weight * dev_weight_tx_bias: __qdisc_run's quota
  // The neighbour table's static entries (ip neigh add ... lladdr ... nud permanent): the
  // link partner 10.0.0.1 at 02:00:00:00:00:01, the traffic source's address.
  struct neighbour {
    uint32_t ip = 0;
    std::array<uint8_t, 6> ha{};
  };
  std::vector<neighbour> neighbours{{0x0A000001, {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}}};
  // ---- TCP (net.ipv4.tcp_*, net.core.somaxconn)
  std::array<uint64_t, 3> tcp_rmem{4096, 131072, 6291456};  // net.ipv4.tcp_rmem: min, default, max
  std::array<uint64_t, 3> tcp_wmem{4096, 16384, 4194304};   // net.ipv4.tcp_wmem (sk_sndbuf of a socket)
  unsigned somaxconn = 4096;                                // net.core.somaxconn (v5.4+)
  bool tcp_sack = true, tcp_timestamps = true, tcp_window_scaling = true;
  bool tcp_moderate_rcvbuf = true;  // net.ipv4.tcp_moderate_rcvbuf: receive-buffer autotuning
  // The receive-window rule (include/net/tcp.h tcp_win_from_space): false: v6.6's
  // tp->scaling_ratio; true: 6.1's net.ipv4.tcp_adv_win_scale = 1 (half the buffer). A
  // kernel-profile knob may set it later.
  bool tcp_adv_win_scale_v6_1 = false;
  uint64_t wmem_default = 212992;  // net.core.wmem_default: SO_SNDBUF of a new socket
  // net.core.rmem_default: sk_rcvbuf of a new socket (sock_init_data, net/core/sock.c v6.6);
  // net.core.rmem_max: the cap SO_RCVBUF applies before doubling (sk_setsockopt, v6.6).
  // Both default to SK_RMEM_MAX (include/net/sock.h: _SK_MEM_OVERHEAD * _SK_MEM_PACKETS,
  // 832 * 256 = 212992 on x86-64).
  uint64_t rmem_default = 212992;
  uint64_t rmem_max = 212992;
  // The per-CPU ICMP socket's sk_sndbuf (icmp_sk_init: 2 * SKB_TRUESIZE(64 * 1024)).
  uint64_t icmp_sndbuf = 2 * (65536 + 576);
};

}  // namespace nicsim::host
