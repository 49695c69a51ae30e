// inet_init (net/ipv4/af_inet.c, v6.x): the IPv4 protocols register their receive
// handlers (inet_add_protocol), then IPv4 itself registers with the device layer
// (dev_add_pack). A new protocol is a new type whose net_protocol is added here.
#include <stdexcept>

#include "host/net/netstack.h"
#include "proto/frame.h"

namespace nicsim::host {

netstack::netstack(const std::vector<cpu*>& cpus, skb_cache& skbs, rx_buffer_pool& buffers,
                   rx_buffer_pool* tx_buffers, const netstack_params& params)
    : m_params(params),
      m_skb(skbs, buffers, tx_buffers),
      m_core(cpus, m_net, m_skb, m_params),
      m_ip(m_net, m_core, m_skb, m_params),
      m_icmp(cpus.size(), m_net, m_ip, m_skb, m_params),
      m_udp(m_net, m_core, m_ip, m_icmp, m_skb, m_params),
      m_tcp(m_net, m_ip, m_skb, m_params) {
  inet_init();
}

void netstack::inet_init() {
  // "inet_init: Cannot add ICMP/UDP protocol"
  if (!m_ip.inet_add_protocol(m_icmp.protocol(), proto::IPPROTO_ICMP))
    throw std::logic_error("inet_init: cannot add ICMP protocol");
  if (!m_ip.inet_add_protocol(m_udp.protocol(), proto::IPPROTO_UDP))
    throw std::logic_error("inet_init: cannot add UDP protocol");
  if (!m_ip.inet_add_protocol(m_tcp.protocol(), proto::IPPROTO_TCP))
    throw std::logic_error("inet_init: cannot add TCP protocol");
  m_ip.ip_init();  // dev_add_pack(&ip_packet_type)
}

}  // namespace nicsim::host
