#pragma once
// struct net_protocol and inet_protos[] (include/net/protocol.h, net/ipv4/protocol.c,
// v6.x): the L4 handlers ip_local_deliver dispatches to by the IP protocol number.
// Each protocol registers itself with inet_add_protocol from inet_init
// (net/ipv4/af_inet.c); a new protocol is new files that register, not a new branch.
#include <array>
#include <cstdint>
#include <functional>

#include "host/net/core/skbuff.h"

namespace nicsim::host {

struct net_protocol {
  std::function<void(sk_buff*)> handler;
};

inline constexpr unsigned MAX_INET_PROTOS = 256;
using inet_protos_table = std::array<const net_protocol*, MAX_INET_PROTOS>;

// inet_add_protocol: false when the slot is taken (the kernel's cmpxchg fails, -1).
inline bool inet_add_protocol(inet_protos_table& protos, const net_protocol* prot, uint8_t protocol) {
  if (protos[protocol] != nullptr) return false;
  protos[protocol] = prot;
  return true;
}

}  // namespace nicsim::host
