#pragma once
// Generic receive offload (net/core/gro.c, include/net/gro.h, v6.6). A NAPI driver hands each
// received skb to napi_gro_receive; dev_gro_receive looks for a held skb of the same flow in
// one of the instance's GRO_HASH_BUCKETS buckets (by skb->hash) and asks the protocol's
// gro_receive callbacks (packet_offload for the ethertype: inet_gro_receive; net_offload for
// the IPv4 protocol: tcp4_gro_receive, udp4_gro_receive) whether the skb extends it. An skb
// that does is merged (skb_gro_receive: its buffer becomes a frag of the held skb, or, once
// frags[] is full, the skb goes on its frag_list); one that could start a flow is held; the
// rest go up at once (GRO_NORMAL). Held skbs leave when the protocol says so (a flush), when
// a ninth flow needs the bucket (the oldest goes), or at the end of the poll (napi_gro_flush,
// from napi_complete_done, or __napi_poll when the poll used its whole weight); leaving, they
// are completed (napi_gro_complete → inet_gro_complete, tcp4_gro_complete: tot_len, IPv4
// checksum, gso_size, gso_segs, CHECKSUM_PARTIAL). Everything that goes up, merged or not,
// is batched on napi->rx_list (gro_normal_one) and delivered as a list
// (netif_receive_skb_list_internal) when gro_normal_batch segments are on it, and at the end
// of the poll (gro_normal_list).
//
// The netdev_core member functions of this part (napi_gro_receive, napi_gro_flush, ...) are
// declared in dev.h and defined in gro.cpp; the IPv4 callbacks in host/net/ipv4/.
//
// For what comes after GRO (the TCP receive path, the observers, the ledger):
// - A merged skb carries several wire frames: skb_for_each_frame (skbuff.h) lists them in
//   order (skb->head, each frag's buffer, the frag_list skbs'), so a frame's fate can be
//   reported by the sequence stamped in each; skb_frame_count counts them (= gso_segs of a
//   merged TCP skb). kfree_skb already counts and reports every frame of an skb it drops.
// - skb_copy_bits reads a merged skb's payload across the linear part, the frags and the
//   frag_list, in order.
// - A merged TCP skb is CHECKSUM_PARTIAL with th->check holding the pseudo header's sum
//   (tcp4_gro_complete): its checksum must not be verified again (skb_csum_unnecessary).
// - sk_buffs in use (skb_cache::in_use) no longer equal frames in the host once skbs merge:
//   the segments' sk_buffs are freed (kfree_skb_head_stolen) while their buffers live on as
//   frags; count frames with skb_frame_count where frames matter.
//
// No UDP socket can ask for UDP_GRO in the model (no setsockopt): udp4_gro_receive validates
// the checksum (as v6.6 does for a CHECKSUM_NONE skb) and then never merges or holds UDP.
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "host/net/core/skbuff.h"

namespace nicsim::host {

inline constexpr unsigned GRO_HASH_BUCKETS = 8;  // include/net/gro.h
inline constexpr unsigned MAX_GRO_SKBS = 8;      // net/core/gro.c: held skbs per bucket
// GRO_LEGACY_MAX_SIZE (include/linux/netdevice.h): the default gro_max_size and
// gro_ipv4_max_size, what a merged skb stays below.
inline constexpr unsigned GRO_LEGACY_MAX_SIZE = 65536;

// enum gro_result (include/linux/netdevice.h).
enum gro_result { GRO_MERGED, GRO_MERGED_FREE, GRO_HELD, GRO_NORMAL, GRO_CONSUMED };

// struct gro_list: one bucket of napi->gro_hash. The kernel's list runs youngest first; this
// vector runs oldest first (list.back() is the youngest, list.front() the one
// gro_flush_oldest completes).
struct gro_list {
  std::vector<sk_buff*> list;
  unsigned count = 0;
};

// What GRO did on one NAPI instance. The kernel keeps no counter of these (only the
// napi_gro_receive_entry/exit tracepoints and the skb sizes tcpdump shows): named after what
// is visible. The JSON has their sum as host.gro.
struct gro_stats {
  uint64_t received = 0;        // skbs napi_gro_receive was given (wire frames)
  uint64_t merged = 0;          // of those, merged into a held skb (GRO_MERGED, GRO_MERGED_FREE)
  uint64_t held = 0;            // of those, held as the first of a flow (GRO_HELD)
  uint64_t normal = 0;          // of those, sent up as they are (GRO_NORMAL)
  uint64_t flushed = 0;         // held skbs completed and sent up (napi_gro_complete)
  uint64_t flushed_segs = 0;    // the wire segments those carried
  uint64_t flushed_oldest = 0;  // of the flushed, evicted by a new flow (gro_flush_oldest)
  uint64_t held_max = 0;        // most skbs held at once
  uint64_t normal_batches = 0;  // lists netif_receive_skb_list_internal delivered (gro_normal_list)
  uint64_t normal_skbs = 0;     // skbs those lists held
  void add(const gro_stats& o);
};

// ---- the GRO control block's helpers (include/net/gro.h). The model's receive skbs are
// linear (build_skb over the DMA buffer), so GRO reads headers at skb->data + offset.
inline unsigned skb_gro_offset(const sk_buff& skb) { return skb.gro.data_offset; }
inline unsigned skb_gro_len(const sk_buff& skb) { return skb.len - skb.gro.data_offset; }
inline void skb_gro_pull(sk_buff& skb, unsigned len) { skb.gro.data_offset += len; }
inline uint8_t* skb_gro_header(sk_buff& skb) { return skb.data_ptr() + skb.gro.data_offset; }
// skb_gro_flush_final: the skb is flushed unless a callback took it (-EINPROGRESS, which only
// tunnels return).
inline void skb_gro_flush_final(sk_buff* skb, int flush) { skb->gro.flush |= (flush != 0); }

// struct offload_callbacks: gro_receive returns the held skb that must leave now (pp), or
// nullptr; gro_complete returns 0 or an error (the skb is then dropped).
struct offload_callbacks {
  std::function<sk_buff*(gro_list&, sk_buff*)> gro_receive;
  std::function<int(sk_buff*, unsigned nhoff)> gro_complete;
};
// struct packet_offload: the callbacks for an ethertype (dev_add_offload).
struct packet_offload {
  uint16_t type = 0;  // ETH_P_*, host order
  offload_callbacks callbacks;
};
// struct net_offload: the callbacks for an IP protocol (inet_add_offload).
struct net_offload {
  offload_callbacks callbacks;
};

// skb_gro_receive (net/core/gro.c, v6.6): merges skb's payload into the held skb p; 0, or
// -E2BIG when p would reach gro_max_size (or skb is flushed). Its buffer becomes a frag of
// p's last skb (NAPI_GRO_FREE_STOLEN_HEAD: only the sk_buff is left to free), or, with
// MAX_SKB_FRAGS frags there, skb itself goes on p's frag_list. Charges cost::skb_gro_receive.
inline constexpr int E2BIG_ = -7;
int skb_gro_receive(sk_buff* p, sk_buff* skb, unsigned gro_max_size);

// __skb_gro_checksum_validate (include/net/gro.h, v6.6) for an IPv4 TCP/UDP skb at its GRO
// offset: nothing to do when the NIC vouched for it (CHECKSUM_UNNECESSARY: one csum_cnt is
// consumed) or, zero_okay, the sender sent none; otherwise the checksum over the segment and
// the pseudo header, computed (charged per byte) — a good one makes the skb
// CHECKSUM_UNNECESSARY (skb_gro_incr_csum_unnecessary). True when it is bad.
bool skb_gro_checksum_validate(sk_buff* skb, uint8_t protocol, bool zero_okay, uint16_t check);

}  // namespace nicsim::host
