#pragma once
// The IPv4 socket types: struct inet_sock (include/net/inet_sock.h, v6.x), a struct sock
// with its local port and address, and struct udp_sock (include/linux/udp.h), which UDP's
// sockets are. ICMP's per-CPU sockets are plain inet_socks; TCP's would extend inet_sock too.
#include <cstddef>
#include <cstdint>
#include <deque>

#include "host/net/core/sock.h"

namespace nicsim::host {

struct inet_sock : sock {
  uint16_t port = 0;   // inet_num / inet_sport: the port it is bound to
  uint32_t saddr = 0;  // inet_saddr: the address sendto sends from (0: the device's)
};

// struct udp_sock (include/linux/udp.h, v6.6): the reader's own queue, which __skb_recv_udp
// refills from sk_receive_queue in one splice, and the receive memory it has not yet
// returned (forward_deficit), released once it reaches forward_threshold (sk_rcvbuf / 4,
// kept by udp_lib_init_sock and udp_lib_setsockopt) or the reader queue runs dry.
struct udp_sock : inet_sock {
  std::deque<sk_buff*> reader_queue;
  int forward_deficit = 0;
  int forward_threshold = 0;
  // Datagrams waiting for a reader: both queues (what the run reports as the socket's queue).
  size_t queued() const { return reader_queue.size() + sk_receive_queue.size(); }
};

}  // namespace nicsim::host
