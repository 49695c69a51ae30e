// inet_init (net/ipv4/af_inet.c, v6.x): the IPv4 protocols register their receive
// handlers (inet_add_protocol), then IPv4 itself registers with the device layer
// (dev_add_pack). A new protocol adds its own init here and nothing elsewhere.
#include "host/net/netstack.h"

namespace nicsim::host {

void netstack::inet_init() {
  icmp_init();
  udp_init();
  ip_init();
}

}  // namespace nicsim::host
