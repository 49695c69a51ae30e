// Generic receive offload (net/core/gro.c, include/net/gro.h, v6.6): see gro.h.
#include "host/net/core/gro.h"

#include <algorithm>
#include <cstring>

#include "host/net/core/dev.h"
#include "proto/checksum.h"
#include "proto/frame.h"

namespace nicsim::host {

namespace {
// SKB_DATA_ALIGN(sizeof(struct sk_buff)): what a stolen-head skb's truesize keeps (the
// driver's skbs' truesize is SKB_TRUESIZE(buffer): buffer + 256 + 320).
constexpr unsigned SKB_HEAD_TRUESIZE = 256;
// compare_ether_header: the Ethernet header (at the buffer's start, where the driver put it).
bool ether_header_differs(const sk_buff& a, const sk_buff& b) {
  return std::memcmp(a.head, b.head, proto::ETH_HLEN) != 0;
}
}  // namespace

void gro_stats::add(const gro_stats& o) {
  received += o.received;
  merged += o.merged;
  held += o.held;
  normal += o.normal;
  flushed += o.flushed;
  flushed_segs += o.flushed_segs;
  flushed_oldest += o.flushed_oldest;
  held_max = std::max(held_max, o.held_max);
  normal_batches += o.normal_batches;
  normal_skbs += o.normal_skbs;
}

// skb_gro_receive (net/core/gro.c, v6.6).
int skb_gro_receive(sk_buff* p, sk_buff* skb, unsigned gro_max_size) {
  const unsigned offset = skb_gro_offset(*skb);
  const unsigned headlen = skb->headlen();
  const unsigned len = skb_gro_len(*skb);
  // (p->pp_recycle != skb->pp_recycle cannot differ: one driver, one kind of buffer.)
  if (p->len + len >= gro_max_size || skb->gro.flush) return E2BIG_;
  // p->len + len >= GRO_LEGACY_MAX_SIZE passes for IPv4 TCP (BIG TCP) once gro_ipv4_max_size
  // allows it; the model receives IPv4 only, and only TCP merges.
  cpu::this_cpu().charge(cost::skb_gro_receive);
  const uint16_t segs = skb->gro.count;
  sk_buff* lp = p->gro.last;
  unsigned delta_truesize;
  // The kernel's first case (headlen <= offset: the payload is all in frags) needs a segment
  // whose linear part ends at its headers; the driver's skbs are linear and a segment without
  // payload is never merged (tcp_gro_receive flushes len 0), so it cannot occur here.
  if (headlen <= offset) return E2BIG_;
  // skb->head_frag (build_skb over a page frag, as e1000 and igb build them): the buffer is
  // stolen as one frag of lp, the sk_buff freed (NAPI_GRO_FREE_STOLEN_HEAD).
  if (lp->nr_frags + 1u + skb->nr_frags <= MAX_SKB_FRAGS) {
    skb_frag_t& frag = lp->frags[lp->nr_frags];
    frag.buf_addr = skb->buf_addr;
    frag.base = skb->head;
    frag.offset = skb->data + offset;
    frag.size = headlen - offset;
    for (unsigned i = 0; i < skb->nr_frags; ++i) lp->frags[lp->nr_frags + 1 + i] = skb->frags[i];
    lp->nr_frags = static_cast<uint8_t>(lp->nr_frags + 1 + skb->nr_frags);
    delta_truesize = skb->truesize - SKB_HEAD_TRUESIZE;
    skb->truesize = SKB_HEAD_TRUESIZE;
    skb->gro.free = NAPI_GRO_FREE_STOLEN_HEAD;
  } else {
    // merge: the whole skb goes on p's frag_list, its data pulled to the payload; it becomes
    // the last, whose frags take the next segments.
    delta_truesize = skb->truesize;
    skb->pull(offset);
    if (p->gro.last == p)
      p->frag_list = skb;
    else
      p->gro.last->next = skb;
    p->gro.last = skb;
    lp = p;
  }
  // done:
  p->gro.count = static_cast<uint16_t>(p->gro.count + segs);
  p->data_len += len;
  p->truesize += delta_truesize;
  p->len += len;
  if (lp != p) {
    lp->data_len += len;
    lp->truesize += delta_truesize;
    lp->len += len;
  }
  skb->gro.same_flow = true;
  return 0;
}

// __skb_gro_checksum_validate + skb_gro_incr_csum_unnecessary (include/net/gro.h, v6.6), with
// inet_gro_compute_pseudo's pseudo header; __skb_gro_checksum_complete does the sum.
bool skb_gro_checksum_validate(sk_buff* skb, uint8_t protocol, bool zero_okay, uint16_t check) {
  napi_gro_cb& cb = skb->gro;
  const bool needed = cb.csum_cnt == 0 && (!zero_okay || check != 0);
  if (needed) {
    const uint8_t* iph = skb->head + skb->network_header;
    const unsigned len = skb_gro_len(*skb);
    cpu::this_cpu().charge(cost::csum, len);
    const uint32_t sum = proto::csum_tcpudp_nofold(proto::get_be32(iph + 12), proto::get_be32(iph + 16),
                                                   static_cast<uint16_t>(len), protocol,
                                                   proto::csum_partial(skb_gro_header(*skb), len));
    if (proto::csum_fold(sum) != 0) return true;
    cb.csum_valid = true;
  }
  if (cb.csum_cnt > 0)
    --cb.csum_cnt;  // consume one the NIC vouched for
  else if (skb->ip_summed == CHECKSUM_NONE)
    skb->ip_summed = CHECKSUM_UNNECESSARY;  // __skb_incr_checksum_unnecessary
  return false;
}

gro_stats netdev_core::gro_totals() const {
  gro_stats t;
  for (const napi_struct* n : m_gro_napis) t.add(n->gro);
  return t;
}

void netdev_core::note_gro_held(napi_struct& napi) {
  const unsigned held = napi.gro_held();
  napi.gro.held_max = std::max<uint64_t>(napi.gro.held_max, held);
  napi.gro_probe(held);
}

// napi_gro_receive (net/core/gro.c, v6.6).
gro_result netdev_core::napi_gro_receive(napi_struct& napi, sk_buff* skb) {
  if (napi.gro.received++ == 0) m_gro_napis.push_back(&napi);  // counted from now on
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "napi_gro_receive");
  cpu::this_cpu().charge(cost::napi_gro_receive);
  skb_mark_napi_id(skb, &napi);
  skb->gro.data_offset = 0;  // skb_gro_reset_offset (a linear skb: no frag0)
  return napi_skb_finish(napi, skb, dev_gro_receive(napi, skb));
}

// napi_skb_finish (v6.6).
gro_result netdev_core::napi_skb_finish(napi_struct& napi, sk_buff* skb, gro_result ret) {
  switch (ret) {
    case GRO_NORMAL:
      ++napi.gro.normal;
      gro_normal_one(napi, skb, 1);
      break;
    case GRO_MERGED_FREE:
      ++napi.gro.merged;
      // NAPI_GRO_FREE_STOLEN_HEAD (napi_skb_free_stolen_head): the buffer is a frag now.
      m_skbs.kfree_skb_head_stolen(skb);
      break;
    case GRO_MERGED:
      ++napi.gro.merged;  // on the held skb's frag_list
      break;
    case GRO_HELD:
      ++napi.gro.held;
      break;
    case GRO_CONSUMED:
      break;
  }
  note_gro_held(napi);
  return ret;
}

// gro_list_prepare (v6.6): which held skbs may be the same flow, by the device-level keys
// (skb->hash, the device, the Ethernet header; no VLAN, metadata or slow_gro in the model).
// skb->hash is 0 for every frame (e1000 has no RXHASH; the model's igb descriptors carry no
// RSS hash), so every flow shares bucket 0 and the Ethernet header decides here.
void netdev_core::gro_list_prepare(const gro_list& head, const sk_buff* skb) {
  for (sk_buff* p : head.list) {
    p->gro.flush = 0;
    if (p->hash != skb->hash) {
      p->gro.same_flow = false;
      continue;
    }
    p->gro.same_flow = !ether_header_differs(*p, *skb);
  }
}

// dev_gro_receive (v6.6).
gro_result netdev_core::dev_gro_receive(napi_struct& napi, sk_buff* skb) {
  const unsigned bucket = skb->hash & (GRO_HASH_BUCKETS - 1);
  gro_list& gl = napi.gro_hash[bucket];
  gro_result ret = GRO_NORMAL;
  const packet_offload* ptype = nullptr;
  // netif_elide_gro: NETIF_F_GRO off (ethtool -K gro off; no XDP program in the model).
  if (napi.dev != nullptr && !napi.dev->gro) goto normal;
  gro_list_prepare(gl, skb);
  for (const packet_offload& po : m_offload_base)
    if (po.type == skb->protocol && po.callbacks.gro_receive) {
      ptype = &po;
      break;
    }
  if (ptype == nullptr) goto normal;
  {
    skb->network_header = skb->data + skb_gro_offset(*skb);
    napi_gro_cb& cb = skb->gro;
    cb.same_flow = false;  // the zeroed part
    cb.free = 0;
    cb.flush_id = 0;
    cb.csum_valid = false;
    cb.flush = skb->frag_list != nullptr;  // skb_has_frag_list
    cb.is_atomic = true;
    cb.count = 1;
    // (skb_is_gso: a driver's skb never is.) The checksums the NIC vouched for.
    cb.csum_cnt = skb->ip_summed == CHECKSUM_UNNECESSARY ? 1 : 0;

    sk_buff* pp = ptype->callbacks.gro_receive(gl, skb);

    const bool same_flow = cb.same_flow;
    ret = cb.free ? GRO_MERGED_FREE : GRO_MERGED;
    if (pp != nullptr) {
      gl.list.erase(std::find(gl.list.begin(), gl.list.end(), pp));
      napi_gro_complete(napi, pp);
      --gl.count;
    }
    if (!same_flow) {
      if (cb.flush) goto normal;
      if (gl.count >= MAX_GRO_SKBS)
        gro_flush_oldest(napi, gl);
      else
        ++gl.count;
      cb.age = cpu::this_cpu().jiffies();
      cb.last = skb;
      skb->gso_size = static_cast<uint16_t>(skb_gro_len(*skb));  // the flow's MSS
      gl.list.push_back(skb);                                    // list_add: the youngest
      ret = GRO_HELD;
    }
  }
ok:
  if (gl.count)
    napi.gro_bitmask |= 1ul << bucket;
  else
    napi.gro_bitmask &= ~(1ul << bucket);
  return ret;
normal:
  ret = GRO_NORMAL;
  goto ok;
}

// napi_gro_complete (v6.6): a held skb leaves; one that merged others is completed by its
// protocols first.
void netdev_core::napi_gro_complete(napi_struct& napi, sk_buff* skb) {
  ++napi.gro.flushed;
  napi.gro.flushed_segs += skb->gro.count;
  if (skb->gro.count == 1) {
    skb->gso_size = 0;
  } else {
    int err = -1;  // -ENOENT
    cpu::this_cpu().charge(cost::napi_gro_complete);
    for (const packet_offload& po : m_offload_base) {
      if (po.type != skb->protocol || !po.callbacks.gro_complete) continue;
      err = po.callbacks.gro_complete(skb, 0);
      break;
    }
    if (err) {
      m_skbs.kfree_skb(skb, skb_drop_reason::NOT_SPECIFIED);
      return;
    }
  }
  gro_normal_one(napi, skb, skb->gro.count);
}

// __napi_gro_flush_chain (v6.6): the oldest first; with flush_old, stop at one held this jiffy.
void netdev_core::__napi_gro_flush_chain(napi_struct& napi, unsigned index, bool flush_old) {
  gro_list& gl = napi.gro_hash[index];
  const uint64_t now = cpu::this_cpu().jiffies();
  while (!gl.list.empty()) {
    sk_buff* skb = gl.list.front();
    if (flush_old && skb->gro.age == now) return;
    gl.list.erase(gl.list.begin());
    napi_gro_complete(napi, skb);
    --gl.count;
  }
  if (!gl.count) napi.gro_bitmask &= ~(1ul << index);
}

// napi_gro_flush (v6.6).
void netdev_core::napi_gro_flush(napi_struct& napi, bool flush_old) {
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "napi_gro_flush");
  for (unsigned i = 0; i < GRO_HASH_BUCKETS; ++i)
    if (napi.gro_bitmask & (1ul << i)) __napi_gro_flush_chain(napi, i, flush_old);
  note_gro_held(napi);
}

// gro_flush_oldest (v6.6): a new flow needs room in a full bucket; the count stays.
void netdev_core::gro_flush_oldest(napi_struct& napi, gro_list& head) {
  sk_buff* oldest = head.list.front();
  head.list.erase(head.list.begin());
  ++napi.gro.flushed_oldest;
  napi_gro_complete(napi, oldest);
}

// gro_normal_one (include/net/gro.h, v6.6): batch it; a batch of gro_normal_batch segments
// (a merged skb counts all of its) goes up at once.
void netdev_core::gro_normal_one(napi_struct& napi, sk_buff* skb, int segs) {
  napi.rx_list.push_back(skb);
  napi.rx_count += segs;
  if (napi.rx_count >= m_gro_normal_batch) gro_normal_list(napi);
}

// gro_normal_list (include/net/gro.h, v6.6).
void netdev_core::gro_normal_list(napi_struct& napi) {
  if (!napi.rx_count) return;
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(), "gro_normal_list");
  cpu::this_cpu().charge(cost::gro_normal_list);
  ++napi.gro.normal_batches;
  napi.gro.normal_skbs += napi.rx_list.size();
  // The list goes up on its own and napi.rx_list starts again empty (INIT_LIST_HEAD after:
  // here before, the same), in the spare's room; the list's room is the next spare.
  std::vector<sk_buff*> list = std::move(napi.rx_list_spare);
  list.clear();
  list.swap(napi.rx_list);
  napi.rx_count = 0;
  netif_receive_skb_list_internal(list);
  list.clear();
  napi.rx_list_spare = std::move(list);
}

}  // namespace nicsim::host
