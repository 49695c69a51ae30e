#include "host/net/core/skbuff.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "host/kernel/cpu.h"
#include "host/net/core/sock.h"
#include "proto/frame.h"
#include "tlm/host_memory.h"

namespace nicsim::host {

const char* skb_drop_reason_name(skb_drop_reason r) {
  static constexpr const char* names[] = {"NOT_SPECIFIED",
                                          "UNHANDLED_PROTO",
                                          "IP_CSUM",
                                          "IP_INHDR",
                                          "IP_INADDRERRORS",
                                          "IP_NOPROTO",
                                          "PKT_TOO_SMALL",
                                          "UDP_CSUM",
                                          "NO_SOCKET",
                                          "SOCKET_RCVBUFF",
                                          "SOCKET_BACKLOG",
                                          "ICMP_CONSUMED",
                                          "CPU_BACKLOG",
                                          "OTHERHOST",
                                          "TCP_CSUM",
                                          "TCP_FLAGS",
                                          "TCP_ZEROWINDOW",
                                          "TCP_OLD_DATA",
                                          "TCP_OVERWINDOW",
                                          "TCP_OFOMERGE",
                                          "TCP_OFO_DROP",
                                          "TCP_OFO_QUEUE_PRUNE",
                                          "TCP_RFC7323_PAWS",
                                          "TCP_OLD_SEQUENCE",
                                          "TCP_INVALID_SEQUENCE",
                                          "TCP_INVALID_SYN",
                                          "TCP_RESET",
                                          "TCP_ACK_UNSENT_DATA",
                                          "TCP_CLOSE",
                                          "TCP_LISTEN_OVERFLOW",
                                          "PROTO_MEM",
                                          "QDISC_DROP",
                                          "NEIGH_CREATEFAIL",
                                          "DEV_READY"};
  static_assert(sizeof(names) / sizeof(names[0]) == skb_drop_reason_count);
  return names[static_cast<size_t>(r)];
}

const char* skb_drop_reason_counter(skb_drop_reason r) {
  switch (r) {
    case skb_drop_reason::UNHANDLED_PROTO:
      return "netdev.rx_nohandler";
    case skb_drop_reason::IP_CSUM:
      return "ip.InCsumErrors";
    case skb_drop_reason::IP_INHDR:
      return "ip.InHdrErrors";
    case skb_drop_reason::IP_INADDRERRORS:
      return "ip.InAddrErrors";
    case skb_drop_reason::IP_NOPROTO:
      return "ip.InUnknownProtos";
    case skb_drop_reason::PKT_TOO_SMALL:
      return "udp.InErrors";
    case skb_drop_reason::UDP_CSUM:
      return "udp.InCsumErrors";
    case skb_drop_reason::NO_SOCKET:
      return "udp.NoPorts";
    case skb_drop_reason::SOCKET_RCVBUFF:
      return "udp.RcvbufErrors";
    case skb_drop_reason::ICMP_CONSUMED:
      return "icmp.InMsgs";
    case skb_drop_reason::CPU_BACKLOG:
      return "softnet.dropped";
    case skb_drop_reason::OTHERHOST:
      return "netdev.rx_otherhost_dropped";
    case skb_drop_reason::SOCKET_BACKLOG:
      return "udp.InErrors";
    case skb_drop_reason::TCP_CSUM:
      return "tcp.InCsumErrors";
    case skb_drop_reason::TCP_ZEROWINDOW:
      return "tcpext.TCPZeroWindowDrop";
    case skb_drop_reason::TCP_OLD_DATA:
      return "tcpext.DelayedACKLost";
    case skb_drop_reason::TCP_OFOMERGE:
      return "tcpext.TCPOFOMerge";
    case skb_drop_reason::TCP_OFO_DROP:
      return "tcpext.TCPOFODrop";
    case skb_drop_reason::TCP_OFO_QUEUE_PRUNE:
      return "tcpext.OfoPruned";
    case skb_drop_reason::TCP_RFC7323_PAWS:
      return "tcpext.PAWSEstabRejected";
    case skb_drop_reason::TCP_LISTEN_OVERFLOW:
      return "tcpext.ListenOverflows";
    case skb_drop_reason::PROTO_MEM:
      return "tcpext.TCPRcvQDrop";
    case skb_drop_reason::TCP_FLAGS:
    case skb_drop_reason::TCP_OVERWINDOW:
    case skb_drop_reason::TCP_OLD_SEQUENCE:
    case skb_drop_reason::TCP_INVALID_SEQUENCE:
    case skb_drop_reason::TCP_INVALID_SYN:
    case skb_drop_reason::TCP_RESET:
    case skb_drop_reason::TCP_ACK_UNSENT_DATA:
    case skb_drop_reason::TCP_CLOSE:
      return "drop.TCP";
    case skb_drop_reason::QDISC_DROP:
      return "qdisc.drops";
    case skb_drop_reason::NEIGH_CREATEFAIL:
      return "ip.OutDiscards";
    case skb_drop_reason::DEV_READY:
      return "netdev.tx_dropped";
    default:
      return "drop.NOT_SPECIFIED";
  }
}

int64_t skb_frame_seq(const sk_buff& skb) { return frame_seq(skb.head); }

int64_t frame_seq(const uint8_t* f) {
  if (f == nullptr || proto::get_be16(f + 12) != proto::ETH_P_IP) return -1;
  const uint8_t* ip = f + proto::ETH_HLEN;
  const unsigned ihl = (ip[0] & 0xFu) * 4u;
  if (ip[9] == proto::IPPROTO_TCP && ihl >= proto::IPV4_HLEN)  // the partner's wire number, low 16 bits
    return static_cast<int64_t>(waves::seq_ip_id | proto::get_be16(ip + 4));
  if (ip[9] != proto::IPPROTO_UDP || ihl < proto::IPV4_HLEN) return -1;
  const uint8_t* payload = ip + ihl + proto::UDP_HLEN;
  const unsigned udp_len = proto::get_be16(ip + ihl + 4);
  if (udp_len < proto::UDP_HLEN) return -1;
  proto::payload_stamp stamp;
  if (!proto::read_payload_stamp(payload, udp_len - proto::UDP_HLEN, &stamp)) return -1;
  return stamp.seq;
}

bool skb_copy_bits(const sk_buff& skb, unsigned offset, uint8_t* to, unsigned len) {
  if (offset > skb.len || len > skb.len - offset) return false;
  const unsigned head = skb.headlen();
  if (offset < head) {
    const unsigned n = std::min(len, head - offset);
    std::memcpy(to, skb.data_ptr() + offset, n);
    to += n;
    len -= n;
    offset = 0;
  } else {
    offset -= head;
  }
  for (unsigned i = 0; i < skb.nr_frags && len > 0; ++i) {
    const skb_frag_t& f = skb.frags[i];
    if (offset >= f.size) {
      offset -= f.size;
      continue;
    }
    const unsigned n = std::min(len, f.size - offset);
    std::memcpy(to, f.base + f.offset + offset, n);
    to += n;
    len -= n;
    offset = 0;
  }
  for (const sk_buff* l = skb.frag_list; l != nullptr && len > 0; l = l->next) {
    if (offset >= l->len) {
      offset -= l->len;
      continue;
    }
    const unsigned n = std::min(len, l->len - offset);
    skb_copy_bits(*l, offset, to, n);
    to += n;
    len -= n;
    offset = 0;
  }
  return true;
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

// kfree_skb (net/core/skbuff.c, v6.x: kfree_skb_reason): the drop's reason is counted and
// traced (trace_kfree_skb), then the buffer goes back.
// The frame's fate is recorded and its memory released before the time is
// charged, so a run that ends mid-charge still counts every frame once.
void skb_allocator::kfree_skb(sk_buff* skb, skb_drop_reason reason) {
  m_drops[static_cast<size_t>(reason)] += skb_frame_count(*skb);
  if (auto* o = cpu::this_cpu().observer()) {
    skb_for_each_frame(*skb, [o, reason](const uint8_t* frame) {
      const int64_t seq = frame_seq(frame);
      if (seq >= 0) o->frame_dropped(static_cast<uint64_t>(seq), skb_drop_reason_counter(reason));
    });
  }
  release_rx(skb);
  cpu::this_cpu().charge(cost::kfree_skb);
}

void skb_allocator::release_rx(sk_buff* skb) {
  m_buffers.free(skb->buf_addr);
  for (unsigned i = 0; i < skb->nr_frags; ++i) m_buffers.free(skb->frags[i].buf_addr);
  for (sk_buff* l = skb->frag_list; l != nullptr;) {
    sk_buff* next = l->next;
    release_rx(l);
    l = next;
  }
  m_skbs.free(skb);
}

void skb_allocator::kfree_skb_head_stolen(sk_buff* skb) { m_skbs.free(skb); }

// __consume_stateless_skb (v6.x): skb_release_data and kfree_skbmem, no destructor to run.
void skb_allocator::__consume_stateless_skb(sk_buff* skb) { release_rx(skb); }

// alloc_skb + skb_reserve for transmit: the data buffer comes from the transmit pool in host
// memory (the driver DMA-maps it and the NIC reads it over PCIe).
sk_buff* skb_allocator::alloc_skb_tx(unsigned headroom) {
  if (m_tx_buffers == nullptr) return nullptr;
  const uint64_t buf = m_tx_buffers->alloc();
  if (buf == 0) return nullptr;
  sk_buff* skb = m_skbs.alloc();
  skb->buf_addr = buf;
  skb->head = m_tx_buffers->ptr(buf);
  skb->pool = m_tx_buffers;
  skb->data = headroom;
  skb->len = 0;
  skb->truesize = m_tx_buffers->buffer_len() + 256 + 320;  // SKB_TRUESIZE, as on receive
  ++m_tx_skbs;
  return skb;
}

// skb_release_all for a transmit skb: the destructor (sock_wfree: give back sk_wmem_alloc and
// wake a writer once the socket is writeable, sock_def_write_space), then data and head.
void skb_allocator::__kfree_skb_tx(sk_buff* skb) {
  sock* sk = skb->sk;
  if (sk != nullptr) sk->sk_wmem_alloc -= skb->truesize;
  skb->pool->free(skb->buf_addr);
  m_skbs.free(skb);
  --m_tx_skbs;
  if (sk == nullptr) return;
  cpu::this_cpu().charge(cost::sock_wfree);
  // sock_writeable: sk_wmem_alloc < sk_sndbuf / 2
  if (sk->sk_wmem_alloc < sk->sk_sndbuf / 2 && sk->sk_wmem_wq.active()) __wake_up(sk->sk_wmem_wq, 1);
}

void skb_allocator::kfree_skb_tx(sk_buff* skb, skb_drop_reason reason) {
  ++m_tx_drops[static_cast<size_t>(reason)];
  __kfree_skb_tx(skb);
  cpu::this_cpu().charge(cost::kfree_skb);
}

// napi_consume_skb (v6.6): a transmitted skb freed from NAPI (budget != 0) or elsewhere.
void skb_allocator::napi_consume_skb(sk_buff* skb, int /*budget*/) {
  __kfree_skb_tx(skb);
  cpu::this_cpu().charge(cost::kfree_skb);
}

}  // namespace nicsim::host
