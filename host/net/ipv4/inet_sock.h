#pragma once
// The IPv4 socket types: struct inet_sock (include/net/inet_sock.h, v6.x), a struct sock
// with its local port and address, and struct udp_sock (include/linux/udp.h), which UDP's
// sockets are. ICMP's per-CPU sockets are plain inet_socks; TCP's would extend inet_sock too.
#include <cstdint>

#include "host/net/core/sock.h"

namespace nicsim::host {

struct inet_sock : sock {
  uint16_t port = 0;   // inet_num / inet_sport: the port it is bound to
  uint32_t saddr = 0;  // inet_saddr: the address sendto sends from (0: the device's)
};

struct udp_sock : inet_sock {};

}  // namespace nicsim::host
