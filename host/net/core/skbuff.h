#pragma once
// Socket buffers over real bytes in host memory, and the pool of receive
// buffers the driver posts to the ring (page-frag buffers of rx_buffer_len).
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace nicsim::tlm {
class host_memory;
}

namespace nicsim::host {

struct napi_struct;
struct sock;
class rx_buffer_pool;

// skb->pkt_type (include/uapi/linux/if_packet.h).
enum : uint8_t { PACKET_HOST = 0, PACKET_BROADCAST = 1, PACKET_MULTICAST = 2, PACKET_OTHERHOST = 3 };

// skb->ip_summed (include/linux/skbuff.h). A received skb is NONE (nobody checked) or
// UNNECESSARY (the NIC, or GRO, verified the L4 checksum); a GRO-merged TCP skb is PARTIAL
// (tcp_gro_complete: th->check holds the pseudo header's sum, the data was verified).
enum ip_summed_t : uint8_t { CHECKSUM_NONE = 0, CHECKSUM_UNNECESSARY = 1, CHECKSUM_PARTIAL = 3 };

// Why a frame ended its life without reaching an application (a subset of
// the kernel's enum skb_drop_reason). Every drop carries exactly one.
enum class skb_drop_reason : unsigned {
  NOT_SPECIFIED,
  UNHANDLED_PROTO,  // no packet type handler (netdev rx_nohandler)
  IP_CSUM,          // IPv4 header checksum (InHdrErrors, InCsumErrors)
  IP_INHDR,         // malformed IPv4 header (InHdrErrors)
  IP_INADDRERRORS,  // not for this host (InAddrErrors)
  IP_NOPROTO,       // no L4 handler (InUnknownProtos)
  PKT_TOO_SMALL,    // truncated L4 header (udp InErrors)
  UDP_CSUM,         // UDP InCsumErrors
  NO_SOCKET,        // UDP NoPorts
  SOCKET_RCVBUFF,   // UDP RcvbufErrors
  SOCKET_BACKLOG,   // sk_add_backlog over its limit (udp InErrors)
  ICMP_CONSUMED,    // an ICMP message for the host (consumed, not an application's)
  CPU_BACKLOG,      // netif_rx: the per-CPU backlog is full (softnet dropped)
  OTHERHOST,        // ip_rcv_core: a frame to another host's MAC (netdev rx_otherhost_dropped)
  // TCP (v6.6 names; the counter each is counted under is in skb_drop_reason_counter).
  TCP_CSUM,              // tcp InCsumErrors (+ InErrs)
  TCP_FLAGS,             // no ACK, RST or SYN in an established connection's segment
  TCP_ZEROWINDOW,        // data while the window is zero (TCPZeroWindowDrop)
  TCP_OLD_DATA,          // every byte already received (a duplicate; DelayedACKLost)
  TCP_OVERWINDOW,        // beyond the advertised window
  TCP_OFOMERGE,          // out of order and every byte already in the OFO queue (TCPOFOMerge)
  TCP_OFO_DROP,          // no receive memory for an out-of-order segment (TCPOFODrop)
  TCP_OFO_QUEUE_PRUNE,   // pruned from the OFO queue for memory (OfoPruned)
  TCP_RFC7323_PAWS,      // PAWS: an old timestamp (PAWSEstabRejected)
  TCP_OLD_SEQUENCE,      // wholly before the window's left edge, rcv_wup (tcp_sequence)
  TCP_INVALID_SEQUENCE,  // starts beyond the receive window (tcp_sequence)
  TCP_INVALID_SYN,       // a SYN on an established connection
  TCP_RESET,             // an RST (the connection closes)
  TCP_ACK_UNSENT_DATA,   // acknowledges data never sent
  TCP_CLOSE,             // for a socket that is closed
  TCP_LISTEN_OVERFLOW,   // the model's name: v6.6 frees the ACK as NOT_SPECIFIED (ListenOverflows)
  PROTO_MEM,             // the receive queue is over sk_rcvbuf after pruning (TCPRcvQDrop)
  // Transmit side (counted apart from the receive ledger: skb_allocator::tx_drops()).
  QDISC_DROP,        // the qdisc's band is full (tc -s qdisc: dropped)
  NEIGH_CREATEFAIL,  // no neighbour entry for the next hop (ip_finish_output2)
  DEV_READY,         // the device's transmit side is not up (netdev tx_dropped)
  count_
};
inline constexpr size_t skb_drop_reason_count = static_cast<size_t>(skb_drop_reason::count_);
const char* skb_drop_reason_name(skb_drop_reason r);
// The netstat/ethtool counter a drop of this reason is counted under.
const char* skb_drop_reason_counter(skb_drop_reason r);

// One entry of skb_shinfo(skb)->frags (include/linux/skbuff.h, v6.6: skb_frag_t): bytes in
// another receive buffer that this skb owns. GRO (skb_gro_receive) and TCP's coalescing
// (skb_try_coalesce) move a segment's payload into the head skb this way, and the segment's
// own sk_buff is freed (NAPI_GRO_FREE_STOLEN_HEAD, kfree_skb_partial): the buffer then goes
// back to its pool with the skb that holds the frag.
struct skb_frag_t {
  uint64_t buf_addr = 0;    // the receive buffer (rx_buffer_pool address)
  uint8_t* base = nullptr;  // its bytes in host memory
  unsigned offset = 0;      // of the fragment's first byte in the buffer
  unsigned size = 0;
};
// MAX_SKB_FRAGS (include/linux/skbuff.h, v6.6: CONFIG_MAX_SKB_FRAGS default 17).
inline constexpr unsigned MAX_SKB_FRAGS = 17;

struct sk_buff;

// NAPI_GRO_CB(skb) (include/net/gro.h, v6.6: struct napi_gro_cb, kept in skb->cb): GRO's state
// of an skb while dev_gro_receive looks at it, and of a held skb while it waits in a
// napi->gro_hash bucket. The fields are the kernel's, as far as the model uses them.
struct napi_gro_cb {
  unsigned data_offset = 0;  // skb_gro_offset: the header GRO looks at, from skb->data
  uint16_t flush = 0;        // this skb must not be merged (or held)
  uint16_t flush_id = 0;     // the IP ID check, kept for the transport layer (inet_gro_receive)
  uint16_t count = 1;        // segments in a held skb
  bool same_flow = false;    // p: could be the same flow; skb: it was merged into p
  uint8_t free = 0;          // NAPI_GRO_FREE / NAPI_GRO_FREE_STOLEN_HEAD: what is left to free
  bool is_atomic = true;     // DF set: the IP ID may stay fixed
  uint8_t proto = 0;         // the L4 protocol (inet_gro_receive)
  uint8_t csum_cnt = 0;      // checksums CHECKSUM_UNNECESSARY vouches for
  bool csum_valid = false;   // the checksum was computed (__skb_gro_checksum_complete)
  uint64_t age = 0;          // jiffies when it was held (napi_gro_flush's flush_old)
  sk_buff* last = nullptr;   // the skb whose frags take the next segment (itself or frag_list's last)
};
inline constexpr uint8_t NAPI_GRO_FREE = 1;
inline constexpr uint8_t NAPI_GRO_FREE_STOLEN_HEAD = 2;

struct sk_buff {
  uint64_t buf_addr = 0;  // DMA address of the receive buffer holding the data
  uint8_t* head = nullptr;
  unsigned data = 0;  // offset of skb->data from head
  unsigned len = 0;
  unsigned truesize = 0;
  uint16_t protocol = 0;
  uint8_t pkt_type = PACKET_HOST;  // eth_type_trans: whom the frame's destination MAC names
  unsigned network_header = 0;
  unsigned transport_header = 0;
  ip_summed_t ip_summed = CHECKSUM_NONE;
  // skb->napi_id: the NAPI instance that received it; nullptr for an skb that came through
  // netif_rx (below MIN_NAPI_ID: nothing a socket could busy poll).
  napi_struct* napi = nullptr;
  // Transmit side (v6.6 struct sk_buff): the pool the data buffer came from (nullptr: the
  // receive pool), the sending socket whose sk_wmem_alloc holds truesize (skb_set_owner_w;
  // nullptr: none), skb->priority (TC_PRIO_*), the transmit queue netdev_pick_tx chose and
  // skb->hash.
  rx_buffer_pool* pool = nullptr;
  sock* sk = nullptr;
  uint32_t priority = 0;
  uint16_t queue_mapping = 0;
  uint32_t hash = 0;
  // skb_shinfo(skb) (v6.6 struct skb_shared_info), the part the model uses: the page frags, the
  // skbs chained whole on frag_list (skb_gro_receive once frags[] is full), and the GSO
  // description a merged skb carries (gso_size: the MSS; gso_segs: the wire segments in it).
  // len counts every byte; data_len the bytes not in the linear part (frags and frag_list).
  unsigned data_len = 0;
  uint8_t nr_frags = 0;
  uint16_t gso_size = 0;
  uint16_t gso_segs = 0;
  std::array<skb_frag_t, MAX_SKB_FRAGS> frags{};
  sk_buff* frag_list = nullptr;
  // skb->next: the list an skb is on (a frag_list).
  sk_buff* next = nullptr;
  napi_gro_cb gro;  // NAPI_GRO_CB(skb)
  // skb->cb: the layer that holds the skb keeps its per-skb state here (TCP_SKB_CB).
  alignas(8) unsigned char cb[48] = {};
  uint8_t* data_ptr() const { return head + data; }
  // skb_headlen: the bytes in the linear part, from skb->data.
  unsigned headlen() const { return len - data_len; }
  bool is_nonlinear() const { return data_len != 0; }
  void pull(unsigned n) {
    data += n;
    len -= n;
  }
  // skb_push: prepend n bytes of header into the headroom.
  uint8_t* push(unsigned n) {
    data -= n;
    len += n;
    return data_ptr();
  }
};

// skb_copy_bits (net/core/skbuff.c, v6.6): copies len bytes from offset (counted from
// skb->data) out of the linear part, the frags and the frag_list skbs, in order. Returns false
// (copying nothing) when [offset, offset + len) is not inside the skb.
bool skb_copy_bits(const sk_buff& skb, unsigned offset, uint8_t* to, unsigned len);

// skb_csum_unnecessary (include/linux/skbuff.h, v6.6): the L4 checksum needs no check.
inline bool skb_csum_unnecessary(const sk_buff& skb) {
  return skb.ip_summed == CHECKSUM_UNNECESSARY || skb.ip_summed == CHECKSUM_PARTIAL;
}

// skb_mark_napi_id (include/net/busy_poll.h, v6.x): a NAPI receive path records its
// instance unless the skb carries a valid one already.
inline void skb_mark_napi_id(sk_buff* skb, napi_struct* napi) {
  if (skb->napi == nullptr) skb->napi = napi;
}

// The sequence number the sender stamped in a UDP frame's payload, read from
// the bytes at skb->head (for observers only); -1 when there is none.
int64_t skb_frame_seq(const sk_buff& skb);
// The same for the Ethernet frame starting at frame (a receive buffer's first byte).
int64_t frame_seq(const uint8_t* frame);

// The wire frames a received skb carries, each as its first byte in its receive buffer, in
// order: skb->head, then (a GRO-merged or coalesced skb) each frag's buffer, whose frame is a
// merged segment's (skb_gro_receive steals the segment's whole buffer: one frag per segment),
// then the frag_list skbs' frames in turn. An skb straight from the driver carries one.
template <class F>
void skb_for_each_frame(const sk_buff& skb, F&& f) {
  f(static_cast<const uint8_t*>(skb.head));
  for (unsigned i = 0; i < skb.nr_frags; ++i) f(static_cast<const uint8_t*>(skb.frags[i].base));
  for (const sk_buff* l = skb.frag_list; l != nullptr; l = l->next) skb_for_each_frame(*l, f);
}
inline unsigned skb_frame_count(const sk_buff& skb) {
  unsigned n = 0;
  skb_for_each_frame(skb, [&n](const uint8_t*) { ++n; });
  return n;
}

// Receive buffers in host memory: a slab of fixed-size buffers carved from
// [base, base + count * size).
class rx_buffer_pool {
 public:
  rx_buffer_pool(tlm::host_memory& mem, uint64_t base, unsigned buffer_len, unsigned count);
  uint64_t alloc();  // 0 when exhausted
  void free(uint64_t addr);
  unsigned buffer_len() const { return m_buffer_len; }
  unsigned available() const { return static_cast<unsigned>(m_free.size()); }
  unsigned in_use() const { return m_count - available(); }  // allocated, not yet freed
  uint8_t* ptr(uint64_t addr) const;

 private:
  tlm::host_memory& m_mem;
  uint64_t m_base;
  unsigned m_buffer_len;
  unsigned m_count;
  std::vector<uint64_t> m_free;
};

// skb heads from a free list: no allocation per frame once warm.
class skb_cache {
 public:
  sk_buff* alloc();
  void free(sk_buff* skb);
  uint64_t in_use() const { return m_in_use; }

 private:
  std::deque<sk_buff> m_storage;
  std::vector<sk_buff*> m_free;
  uint64_t m_in_use = 0;
};

// The sk_buff allocator and freer (net/core/skbuff.c, v6.x): alloc_skb for transmit from the
// transmit pool, kfree_skb_reason with the drop ledger it feeds (trace_kfree_skb, what
// drop_monitor counts), napi_consume_skb and __consume_stateless_skb. Receive skbs' data comes
// from the driver's pool; transmit skbs' from the transmit pool (set at construction, may be
// none: no transmit).
class skb_allocator {
 public:
  skb_allocator(skb_cache& skbs, rx_buffer_pool& rx_buffers, rx_buffer_pool* tx_buffers)
      : m_skbs(skbs), m_buffers(rx_buffers), m_tx_buffers(tx_buffers) {}
  skb_allocator(const skb_allocator&) = delete;
  skb_allocator& operator=(const skb_allocator&) = delete;

  // kfree_skb_reason for a received skb: counted in drops(), its buffer back to the pool.
  void kfree_skb(sk_buff* skb, skb_drop_reason reason);
  // __consume_stateless_skb: a received skb consumed (copied to user), nothing charged.
  void __consume_stateless_skb(sk_buff* skb);
  // sk_buff with a data buffer from the transmit pool, headroom reserved (alloc_skb +
  // skb_reserve); nullptr when the pool is empty or there is none.
  sk_buff* alloc_skb_tx(unsigned headroom);
  // kfree_skb_reason for a transmit skb: counted in tx_drops, its buffer back to its pool.
  void kfree_skb_tx(sk_buff* skb, skb_drop_reason reason);
  // napi_consume_skb: a transmitted skb freed from the poll.
  void napi_consume_skb(sk_buff* skb, int budget);

  // Received frames freed without reaching an application, by reason (the receive ledger): an
  // skb GRO merged counts every frame it carries (skb_frame_count).
  const std::array<uint64_t, skb_drop_reason_count>& drops() const { return m_drops; }
  // Transmit skbs freed without being sent, by reason (not part of the receive ledger).
  const std::array<uint64_t, skb_drop_reason_count>& tx_drops() const { return m_tx_drops; }
  // Transmit skbs alive (allocated, not yet freed): in the qdisc, the ring or in flight.
  uint64_t tx_skbs_in_use() const { return m_tx_skbs; }
  // kfree_skb_partial with head stolen (v6.6): a received skb whose data now belongs to
  // another skb (its buffer moved into that skb's frags): only the sk_buff is freed; not a
  // drop, no ledger entry (the data is accounted for by the skb that holds it).
  void kfree_skb_head_stolen(sk_buff* skb);

 private:
  // skb_release_data for a received skb: its buffer, every frag's buffer and the frag_list
  // skbs (recursively) go back; the sk_buffs to the cache.
  void release_rx(sk_buff* skb);
  void __kfree_skb_tx(sk_buff* skb);  // skb_release_all: sock_wfree, data, head

  skb_cache& m_skbs;
  rx_buffer_pool& m_buffers;
  rx_buffer_pool* m_tx_buffers;
  std::array<uint64_t, skb_drop_reason_count> m_drops{};
  std::array<uint64_t, skb_drop_reason_count> m_tx_drops{};
  uint64_t m_tx_skbs = 0;
};

}  // namespace nicsim::host
