#include "host/skb.h"

#include <stdexcept>

#include "tlm/host_memory.h"

namespace nicsim::host {

const char* skb_drop_reason_name(skb_drop_reason r) {
  static constexpr const char* names[] = {
      "NOT_SPECIFIED", "UNHANDLED_PROTO", "IP_CSUM",   "IP_INHDR",       "IP_INADDRERRORS", "IP_NOPROTO",
      "PKT_TOO_SMALL", "UDP_CSUM",        "NO_SOCKET", "SOCKET_RCVBUFF", "ICMP_CONSUMED",   "CPU_BACKLOG"};
  static_assert(sizeof(names) / sizeof(names[0]) == skb_drop_reason_count);
  return names[static_cast<size_t>(r)];
}

rx_buffer_pool::rx_buffer_pool(tlm::host_memory& mem, uint64_t base, unsigned buffer_len, unsigned count)
    : m_mem(mem), m_base(base), m_buffer_len(buffer_len), m_count(count) {
  mem.ptr(base, uint64_t{buffer_len} * count);  // throws if the slab does not fit
  m_free.reserve(count);
  for (unsigned i = count; i-- > 0;) m_free.push_back(base + uint64_t{i} * buffer_len);
}

uint64_t rx_buffer_pool::alloc() {
  if (m_free.empty()) return 0;
  const uint64_t a = m_free.back();
  m_free.pop_back();
  return a;
}

void rx_buffer_pool::free(uint64_t addr) {
  if (addr < m_base || addr >= m_base + uint64_t{m_buffer_len} * m_count || (addr - m_base) % m_buffer_len)
    throw std::logic_error("rx_buffer_pool: freeing a buffer it does not own");
  m_free.push_back(addr);
}

uint8_t* rx_buffer_pool::ptr(uint64_t addr) const { return m_mem.ptr(addr, m_buffer_len); }

sk_buff* skb_cache::alloc() {
  sk_buff* s;
  if (m_free.empty()) {
    m_storage.emplace_back();
    s = &m_storage.back();
  } else {
    s = m_free.back();
    m_free.pop_back();
    *s = sk_buff{};
  }
  ++m_in_use;
  return s;
}

void skb_cache::free(sk_buff* skb) {
  --m_in_use;
  m_free.push_back(skb);
}

}  // namespace nicsim::host
