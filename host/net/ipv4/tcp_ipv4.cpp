// TCP over IPv4, receive entry and connection setup (net/ipv4/tcp_ipv4.c, tcp_minisocks.c,
// inet_connection_sock.c, v6.6): tcp_v4_rcv, tcp_add_backlog, tcp_v4_do_rcv, tcp_v4_send_reset,
// tcp_conn_request, tcp_check_req, tcp_v4_syn_recv_sock, inet_csk_listen_start.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "host/kernel/cpu.h"
#include "host/net/core/sock.h"
#include "host/net/ipv4/tcp.h"
#include "host/net/net_namespace.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tlm/local_time.h"

namespace nicsim::host {

namespace {
uint64_t ehash_key(uint32_t raddr, uint16_t rport, uint16_t lport) {
  return uint64_t{raddr} << 32 | uint64_t{rport} << 16 | lport;
}
// tcp_v4_check over the whole segment (nonlinear skbs copied out first).
bool tcp_checksum_ok(const sk_buff& skb) {
  const uint8_t* iph = skb.head + skb.network_header;
  uint32_t sum;
  if (skb.is_nonlinear()) {
    std::vector<uint8_t> b(skb.len);
    skb_copy_bits(skb, 0, b.data(), skb.len);
    sum = proto::csum_partial(b.data(), b.size());
  } else {
    sum = proto::csum_partial(skb.data_ptr(), skb.len);
  }
  return proto::csum_fold(proto::csum_tcpudp_nofold(proto::get_be32(iph + 12), proto::get_be32(iph + 16),
                                                    static_cast<uint16_t>(skb.len), proto::IPPROTO_TCP,
                                                    sum)) == 0;
}
}  // namespace

// tcp_protocol (net/ipv4/af_inet.c: inet_add_protocol(&tcp_protocol, IPPROTO_TCP)).
tcp::tcp(struct net& net, ip& ip, skb_allocator& skbs, const netstack_params& params)
    : m_net(net), m_ip(ip), m_skbs(skbs), m_params(params) {
  m_protocol.handler = [this](sk_buff* skb) { tcp_v4_rcv(skb); };
}

void tcp::tcp_drop_reason(tcp_sock* sk, sk_buff* skb, skb_drop_reason reason) {
  if (sk != nullptr) ++sk->sk_drops;  // tcp_drop_reason: sk_drops_add
  m_skbs.kfree_skb(skb, reason);
}

void tcp_trace_frames(const sk_buff& skb, waves::frame_stage stage, int track) {
  waves::observer* o = cpu::this_cpu().observer();
  if (o == nullptr) return;
  skb_for_each_frame(skb, [&](const uint8_t* f) {
    const int64_t seq = frame_seq(f);
    if (seq >= 0) o->frame(static_cast<uint64_t>(seq), stage, track);
  });
}

void tcp::tcp_consume(sk_buff* skb, int track) {
  tcp_trace_frames(*skb, waves::frame_stage::delivered, track >= 0 ? track : cpu::this_cpu().track());
  m_frames_consumed += skb_frame_count(*skb);
  m_skbs.__consume_stateless_skb(skb);  // __kfree_skb / consume_skb
}

tcp_sock* tcp::lookup_established(uint32_t raddr, uint16_t rport, uint16_t lport) {
  auto it = m_established.find(ehash_key(raddr, rport, lport));
  return it == m_established.end() ? nullptr : it->second;
}

// tcp_v4_rcv (net/ipv4/tcp_ipv4.c, v6.6).
void tcp::tcp_v4_rcv(sk_buff* skb) {
  cpu& c = cpu::this_cpu();
  waves::slice s(c.observer(), c.track(), "tcp_v4_rcv");
  c.charge(cost::tcp_v4_rcv);
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  cb = tcp_skb_cb{};
  ++m_net.mib.tcp_statistics.InSegs;  // "Count it even if it's bad": one per skb
  if (skb->headlen() < 20) {          // pskb_may_pull(skb, sizeof(struct tcphdr))
    tcp_drop_reason(nullptr, skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  const uint8_t* th = skb->data_ptr();
  const unsigned doff = (th[12] >> 4) * 4u;
  if (doff < 20) {
    ++m_net.mib.tcp_statistics.InErrs;  // bad_packet
    tcp_drop_reason(nullptr, skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  if (skb->headlen() < doff) {  // pskb_may_pull(skb, th->doff * 4)
    tcp_drop_reason(nullptr, skb, skb_drop_reason::PKT_TOO_SMALL);
    return;
  }
  // skb_checksum_init + tcp_checksum_complete: the model verifies once, here (the kernel defers
  // the full sum of a long segment to tcp_checksum_complete on the fast/slow path; same outcome).
  // A GRO-merged skb is CHECKSUM_PARTIAL: verified while merging (skb_csum_unnecessary).
  if (!skb_csum_unnecessary(*skb)) {
    c.charge(cost::csum, skb->len);
    if (!tcp_checksum_ok(*skb)) {
      ++m_net.mib.tcp_statistics.InCsumErrors;  // csum_error
      ++m_net.mib.tcp_statistics.InErrs;
      tcp_drop_reason(nullptr, skb, skb_drop_reason::TCP_CSUM);
      return;
    }
    skb->ip_summed = CHECKSUM_UNNECESSARY;
  }
  // tcp_v4_fill_cb
  const uint32_t seq = proto::get_be32(th + 4);
  cb.seq = seq;
  cb.end_seq = seq + ((th[13] & TCPHDR_SYN) ? 1 : 0) + ((th[13] & TCPHDR_FIN) ? 1 : 0) + skb->len - doff;
  cb.ack_seq = proto::get_be32(th + 8);
  cb.tcp_flags = th[13];
  const uint8_t* iph = skb->head + skb->network_header;
  const uint32_t raddr = proto::get_be32(iph + 12);
  const uint16_t rport = proto::get_be16(th), lport = proto::get_be16(th + 2);
  // __inet_lookup_skb: established (and, in v6.6, TCP_NEW_SYN_RECV request socks) first,
  // then the listener.
  tcp_sock* sk = lookup_established(raddr, rport, lport);
  if (sk == nullptr) {
    auto l = m_listeners.find(lport);
    if (l == m_listeners.end()) {
      // no_tcp_socket: the checksum was good, so answer with a reset.
      tcp_v4_send_reset(nullptr, skb);
      tcp_drop_reason(nullptr, skb, skb_drop_reason::NO_SOCKET);
      return;
    }
    tcp_sock& listener = *l->second;
    c.charge(cost::sk_filter);  // tcp_filter → sk_filter_trim_cap: no filter attached
    auto r = listener.syn_table.find(ehash_key(raddr, rport, 0));
    if (r != listener.syn_table.end()) {  // TCP_NEW_SYN_RECV: the request sock's ACK
      tcp_sock* nsk = tcp_check_req(listener, *r->second, skb);
      if (nsk == nullptr) return;  // tcp_check_req disposed of the skb
      // tcp_child_process → tcp_rcv_state_process(child) in TCP_SYN_RECV: the ACK is
      // acceptable (tcp_check_req verified it): ESTABLISHED, then its data, if any.
      if (skb->len > doff || (cb.tcp_flags & TCPHDR_FIN)) {
        bh_lock_sock(*nsk);
        tcp_rcv_established(*nsk, skb);
        bh_unlock_sock(*nsk);
      } else {
        tcp_consume(skb);
      }
      // "Wakeup parent": sk_data_ready on the listener (sock_def_readable).
      if (listener.accept_wq.active()) __wake_up(listener.accept_wq, 1);
      return;
    }
    // tcp_v4_do_rcv → tcp_rcv_state_process on the listener (TCP_LISTEN).
    if (cb.tcp_flags & TCPHDR_ACK) {  // "return 1": reset
      tcp_v4_send_reset(nullptr, skb);
      tcp_drop_reason(nullptr, skb, skb_drop_reason::NOT_SPECIFIED);
      return;
    }
    if ((cb.tcp_flags & TCPHDR_RST) || !(cb.tcp_flags & TCPHDR_SYN) || (cb.tcp_flags & TCPHDR_FIN)) {
      tcp_drop_reason(nullptr, skb, skb_drop_reason::TCP_FLAGS);
      return;
    }
    tcp_conn_request(listener, skb);
    tcp_consume(skb);  // consume_skb: a SYN tcp_conn_request took (or dropped, counted there)
    return;
  }
  c.charge(cost::sk_filter);  // tcp_filter
  // bh_lock_sock_nested; tcp_segs_in
  const unsigned segs = std::max<unsigned>(1, skb->gso_segs);
  sk->segs_in += segs;
  if (skb->len > doff) sk->data_segs_in += segs;
  if (sk->state == TCP_CLOSE) {
    tcp_drop_reason(sk, skb, skb_drop_reason::TCP_CLOSE);
    return;
  }
  bh_lock_sock(*sk);
  if (!sk->owned_by_user) {
    tcp_v4_do_rcv(*sk, skb);
  } else if (tcp_add_backlog(*sk, skb)) {
    tcp_drop_reason(sk, skb, skb_drop_reason::SOCKET_BACKLOG);
  }
  bh_unlock_sock(*sk);
}

// tcp_v4_do_rcv (v6.6), for an established socket: tcp_rcv_established.
void tcp::tcp_v4_do_rcv(tcp_sock& sk, sk_buff* skb) {
  sk.napi = skb->napi;  // sk_mark_napi_id
  if (sk.state == TCP_ESTABLISHED) {
    tcp_rcv_established(sk, skb);
    return;
  }
  tcp_drop_reason(&sk, skb, skb_drop_reason::TCP_CLOSE);
}

// tcp_add_backlog (v6.6): coalesce into the backlog's tail skb when the headers match, else
// queue within sk_rcvbuf + sk_sndbuf / 2 + 64 KiB (v6.10 doubles the rcvbuf term); true:
// drop it (TCPBacklogDrop; the caller frees it as SKB_DROP_REASON_SOCKET_BACKLOG).
bool tcp::tcp_add_backlog(tcp_sock& sk, sk_buff* skb) {
  cpu::this_cpu().charge(cost::tcp_add_backlog);
  const uint8_t* th = skb->data_ptr();
  const unsigned hdrlen = (th[12] >> 4) * 4u;
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  if (!sk.sk_backlog.empty()) {
    sk_buff* tail = sk.sk_backlog.back();
    tcp_skb_cb& tcb = TCP_SKB_CB(tail);
    uint8_t* thtail = tail->data_ptr();
    const unsigned tail_hdrlen = (thtail[12] >> 4) * 4u;
    const bool same = tcb.end_seq == cb.seq &&
                      !((tcb.tcp_flags | cb.tcp_flags) & (TCPHDR_SYN | TCPHDR_RST | TCPHDR_URG)) &&
                      ((tcb.tcp_flags & cb.tcp_flags) & TCPHDR_ACK) &&
                      !((tcb.tcp_flags ^ cb.tcp_flags) & (TCPHDR_ECE | TCPHDR_CWR)) &&
                      tail_hdrlen == hdrlen && std::memcmp(thtail + 20, th + 20, hdrlen - 20) == 0;
    // skb_try_coalesce: no frag_list on either side, frags within MAX_SKB_FRAGS.
    if (same && tail->frag_list == nullptr && skb->frag_list == nullptr &&
        tail->nr_frags + skb->nr_frags + (skb->headlen() > hdrlen ? 1u : 0u) <= MAX_SKB_FRAGS) {
      skb->pull(hdrlen);
      const unsigned gso_size = skb->gso_size ? skb->gso_size : skb->len;
      const unsigned gso_segs = skb->gso_segs ? skb->gso_segs : 1;
      const unsigned tail_gso_size = tail->gso_size ? tail->gso_size : tail->len - hdrlen;
      const unsigned tail_gso_segs = tail->gso_segs ? tail->gso_segs : 1;
      const unsigned before_truesize = tail->truesize;
      const uint32_t ack_seq = cb.ack_seq, end_seq = cb.end_seq;
      const uint16_t window = proto::get_be16(th + 14);
      const uint8_t flags = cb.tcp_flags;
      // skb_try_coalesce + kfree_skb_partial (head stolen).
      if (skb->headlen() > 0) {
        tail->frags[tail->nr_frags++] = skb_frag_t{skb->buf_addr, skb->head, skb->data, skb->headlen()};
        tail->truesize += skb->truesize - 256;  // SKB_DATA_ALIGN(sizeof(struct sk_buff))
      } else {
        tail->truesize += skb->truesize - 256 - 320;
      }
      for (unsigned i = 0; i < skb->nr_frags; ++i) tail->frags[tail->nr_frags++] = skb->frags[i];
      tail->len += skb->len;
      tail->data_len += skb->len;
      const bool stolen = skb->headlen() > 0;
      skb->nr_frags = 0;
      if (stolen) {
        m_skbs.kfree_skb_head_stolen(skb);
      } else {
        skb->len = skb->data_len = 0;
        tcp_consume(skb);  // a header-only head: its frame is settled
      }
      tcb.end_seq = end_seq;
      if (static_cast<int32_t>(ack_seq - tcb.ack_seq) >= 0) {
        tcb.ack_seq = ack_seq;
        proto::put_be16(thtail + 14, window);
      }
      thtail[13] |= flags & TCPHDR_FIN;
      tcb.tcp_flags |= flags;
      tail->gso_size = static_cast<uint16_t>(std::max(gso_size, tail_gso_size));
      tail->gso_segs = static_cast<uint16_t>(std::min(gso_segs + tail_gso_segs, 0xFFFFu));
      sk.sk_backlog_len += tail->truesize - before_truesize;
      sk.backlog_probe(sk.sk_backlog_len);
      ++m_net.mib.net_statistics.TCPBacklogCoalesce;
      return false;
    }
  }
  uint64_t limit = sk.sk_rcvbuf + (sk.sk_sndbuf >> 1);
  limit += 64 * 1024;
  // sk_add_backlog → sk_rcvqueues_full: backlog + receive memory above the limit.
  if (sk.sk_backlog_len + sk.sk_rmem_alloc > limit) {
    ++m_net.mib.net_statistics.TCPBacklogDrop;
    return true;
  }
  sk.sk_backlog.push_back(skb);
  sk.sk_backlog_len += skb->truesize;
  sk.backlog_probe(sk.sk_backlog_len);
  ++sk.sk_backlogged;
  return false;
}

// tcp_v4_send_reset (v6.6): an RST for a segment no socket takes (RFC 793): seq = its ACK
// when it had one, else 0 with ACK of its sequence space.
void tcp::tcp_v4_send_reset(tcp_sock* sk, sk_buff* skb) {
  const tcp_skb_cb& cb = TCP_SKB_CB(skb);
  if (cb.tcp_flags & TCPHDR_RST) return;
  cpu::this_cpu().charge(cost::tcp_v4_send_reset);
  const uint8_t* iph = skb->head + skb->network_header;
  const uint8_t* th = skb->data_ptr();
  const uint32_t saddr = proto::get_be32(iph + 16), daddr = proto::get_be32(iph + 12);
  if (cb.tcp_flags & TCPHDR_ACK)
    tcp_transmit_ctl(saddr, daddr, proto::get_be16(th + 2), proto::get_be16(th), cb.ack_seq, 0, TCPHDR_RST, 0,
                     nullptr, 0, sk);
  else
    tcp_transmit_ctl(saddr, daddr, proto::get_be16(th + 2), proto::get_be16(th), 0, cb.end_seq,
                     TCPHDR_RST | TCPHDR_ACK, 0, nullptr, 0, sk);
  ++m_net.mib.tcp_statistics.OutRsts;
}

// inet_csk_listen_start (net/ipv4/inet_connection_sock.c, v6.6) after socket()+bind():
// sk_max_ack_backlog = min(backlog, net.core.somaxconn) (__sys_listen).
tcp_sock& tcp::tcp_listen(uint16_t port, unsigned backlog) {
  auto it = m_listeners.find(port);
  if (it != m_listeners.end()) return *it->second;
  m_sockets.push_back(std::make_unique<tcp_sock>());
  tcp_sock& sk = *m_sockets.back();
  sk.port = port;
  sk.state = TCP_LISTEN;
  sk.sk_rcvbuf = m_params.tcp_rmem[1];  // tcp_init_sock: sk_rcvbuf = tcp_rmem[1]
  sk.sk_sndbuf = m_params.tcp_wmem[1];
  sk.scaling_ratio = 65;  // TCP_DEFAULT_SCALING_RATIO, v6.6: (1200 << 8) / SKB_TRUESIZE(4096)
  sk.sk_max_ack_backlog = std::min(backlog, m_params.somaxconn);
  m_listeners[port] = &sk;
  return sk;
}

void tcp::declare_child_waves(tcp_sock& listener, uint16_t peer_port, waves::observer* o) {
  const std::string w =
      "host.sock.tcp_" + std::to_string(listener.port) + "_" + std::to_string(peer_port) + ".";
  tcp_sock::child_waves& cw = listener.expected_children[peer_port];
  cw.rx_queue.attach(o, w + "rx_queue", 32);
  cw.rcv_wnd.attach(o, w + "rcv_wnd", 32);
  cw.backlog.attach(o, w + "backlog", 32);
  cw.owned.attach(o, w + "owned", 1);
}

// tcp_conn_request (net/ipv4/tcp_input.c, v6.6) without syncookies: an accept queue over its
// limit drops the SYN (ListenOverflows, ListenDrops); else a request sock, its initial window
// (tcp_openreq_init_rwin → tcp_select_initial_window) and the SYN-ACK.
void tcp::tcp_conn_request(tcp_sock& listener, sk_buff* skb) {
  cpu::this_cpu().charge(cost::tcp_conn_request);
  if (listener.icsk_accept_queue.size() > listener.sk_max_ack_backlog ||  // sk_acceptq_is_full
      listener.syn_table.size() >= listener.sk_max_ack_backlog) {         // inet_csk_reqsk_queue_is_full
    ++m_net.mib.net_statistics.ListenOverflows;
    ++m_net.mib.net_statistics.ListenDrops;
    return;
  }
  const uint8_t* th = skb->data_ptr();
  const tcp_parsed_options o = tcp_walk_options(th, (th[12] >> 4) * 4u);
  const uint8_t* iph = skb->head + skb->network_header;
  auto req = std::make_unique<request_sock>();
  req->rmt_addr = proto::get_be32(iph + 12);
  req->rmt_port = proto::get_be16(th);
  req->rcv_isn = TCP_SKB_CB(skb).seq;
  req->snt_isn = m_isn;
  m_isn += 0x01000193;
  // tcp_openreq_init + tcp_mss_clamp: the peer's MSS bounded by ours (MTU 1500 - 40).
  req->mss = std::min<uint16_t>(o.mss ? o.mss : 536, 1460);
  req->tstamp_ok = m_params.tcp_timestamps && o.saw_tstamp;
  req->sack_ok = m_params.tcp_sack && o.sack_ok;
  req->wscale_ok = m_params.tcp_window_scaling && o.wscale >= 0;
  req->snd_wscale = req->wscale_ok ? static_cast<uint8_t>(o.wscale) : 0;
  req->ts_recent = o.tsval;
  // tcp_select_initial_window (v6.6) with full_space = tcp_full_space(listener).
  const uint32_t mss = req->mss - (req->tstamp_ok ? 12 : 0);
  uint64_t window_clamp = uint64_t{65535} << 14;
  uint64_t space = std::min<uint64_t>(window_clamp, static_cast<uint64_t>(tcp_full_space(listener)));
  if (space > mss) space = space / mss * mss;
  req->rcv_wnd = static_cast<uint32_t>(std::min<uint64_t>(space, 65535));
  req->rcv_wscale = 0;
  if (req->wscale_ok) {
    uint64_t sp = std::max<uint64_t>(space, m_params.tcp_rmem[2]);
    sp = std::max<uint64_t>(sp, m_params.rmem_max);  // READ_ONCE(sysctl_rmem_max)
    sp = std::min(sp, window_clamp);
    int l = 0;
    while ((sp >> (l + 1)) != 0) ++l;  // ilog2
    req->rcv_wscale = static_cast<uint8_t>(std::clamp(l - 15, 0, 14));
  }
  tcp_sock* lp = &listener;
  request_sock* rp = req.get();
  req->rsk_timer.function = [this, lp, rp] { reqsk_timer_handler(*lp, *rp); };
  listener.syn_table[ehash_key(req->rmt_addr, req->rmt_port, 0)] = std::move(req);
  tcp_v4_send_synack(listener, *rp);
  // inet_csk_reqsk_queue_hash_add: the SYN-ACK timer at TCP_TIMEOUT_INIT (1 s).
  cpu& c = cpu::this_cpu();
  mod_timer(rp->rsk_timer, c.jiffies() + c.usecs_to_jiffies(1e6));
}

// reqsk_timer_handler (net/ipv4/inet_connection_sock.c, v6.6): retransmit the SYN-ACK with
// exponential backoff up to net.ipv4.tcp_synack_retries (5), then forget the request.
void tcp::reqsk_timer_handler(tcp_sock& listener, request_sock& req) {
  cpu& c = cpu::this_cpu();
  if (req.num_retrans >= 5) {
    listener.syn_table.erase(ehash_key(req.rmt_addr, req.rmt_port, 0));
    return;
  }
  ++req.num_retrans;
  ++m_net.mib.net_statistics.TCPSynRetrans;
  ++m_net.mib.tcp_statistics.RetransSegs;
  tcp_v4_send_synack(listener, req);
  mod_timer(req.rsk_timer, c.jiffies() + c.usecs_to_jiffies(1e6 * (1u << req.num_retrans)));
}

// tcp_check_req (net/ipv4/tcp_minisocks.c, v6.6) for a segment to a request sock: a
// retransmitted SYN gets the SYN-ACK again; an ACK of our SYN-ACK creates the child
// (tcp_v4_syn_recv_sock) unless the accept queue is full; anything else is dropped (the kernel
// would answer a bad ACK with a reset). Returns the child, or nullptr having freed the skb.
tcp_sock* tcp::tcp_check_req(tcp_sock& listener, request_sock& req, sk_buff* skb) {
  cpu::this_cpu().charge(cost::tcp_check_req);
  tcp_skb_cb& cb = TCP_SKB_CB(skb);
  if (cb.seq == req.rcv_isn && (cb.tcp_flags & (TCPHDR_SYN | TCPHDR_ACK | TCPHDR_RST)) == TCPHDR_SYN) {
    tcp_v4_send_synack(listener, req);  // inet_rtx_syn_ack
    ++m_net.mib.tcp_statistics.RetransSegs;
    tcp_drop_reason(nullptr, skb, skb_drop_reason::NOT_SPECIFIED);
    return nullptr;
  }
  if (!(cb.tcp_flags & TCPHDR_ACK) || cb.ack_seq != req.snt_isn + 1 ||
      (cb.tcp_flags & (TCPHDR_RST | TCPHDR_SYN))) {
    if ((cb.tcp_flags & TCPHDR_ACK) && cb.ack_seq != req.snt_isn + 1 && !(cb.tcp_flags & TCPHDR_RST))
      tcp_v4_send_reset(nullptr, skb);  // "Invalid ACK: reset will be sent by listening socket"
    if (cb.tcp_flags & TCPHDR_RST) {
      del_timer(req.rsk_timer);
      listener.syn_table.erase(ehash_key(req.rmt_addr, req.rmt_port, 0));
    }
    tcp_drop_reason(nullptr, skb, skb_drop_reason::NOT_SPECIFIED);
    return nullptr;
  }
  tcp_sock* child = tcp_v4_syn_recv_sock(listener, req);
  if (child == nullptr) {
    // listen_overflow: with tcp_abort_on_overflow off the ACK is ignored (req->acked) and the
    // SYN-ACK timer resends the SYN-ACK to get another one.
    tcp_drop_reason(nullptr, skb, skb_drop_reason::TCP_LISTEN_OVERFLOW);
    return nullptr;
  }
  // tcp_rcv_state_process, TCP_SYN_RECV: the SYN-ACK's RTT (tcp_synack_rtt_meas), the peer's
  // window and ts_recent, then ESTABLISHED with the fast path on.
  const uint8_t* th = skb->data_ptr();
  const sc_core::sc_time rtt = tlm::local_now() - req.snt_synack;
  const uint32_t m = std::max<uint32_t>(1, static_cast<uint32_t>(rtt.to_seconds() * 1e6));
  child->srtt_us = m << 3;
  cpu& c = cpu::this_cpu();
  // tcp_set_rto: srtt + max(4 * mdev, tcp_rto_min), the first sample's mdev being m / 2.
  child->icsk_rto = static_cast<uint32_t>(c.usecs_to_jiffies(m + std::max<double>(2.0 * m, 200000.0)));
  child->snd_wnd = static_cast<uint32_t>(proto::get_be16(th + 14)) << child->rx_opt.snd_wscale;
  child->max_window = child->snd_wnd;
  child->snd_wl1 = cb.seq;
  del_timer(req.rsk_timer);
  listener.syn_table.erase(ehash_key(child->daddr, child->dport, 0));  // frees req
  child->state = TCP_ESTABLISHED;
  ++m_net.mib.tcp_statistics.CurrEstab;
  child->pred_flags = 0;
  tcp_fast_path_check(*child);
  listener.icsk_accept_queue.push_back(child);  // inet_csk_reqsk_queue_add
  return child;
}

// tcp_v4_syn_recv_sock (v6.6): the child socket (tcp_create_openreq_child, inet_csk_clone_lock)
// with the request's negotiated options; tcp_init_transfer → tcp_init_buffer_space.
tcp_sock* tcp::tcp_v4_syn_recv_sock(tcp_sock& listener, request_sock& req) {
  if (listener.icsk_accept_queue.size() > listener.sk_max_ack_backlog) {  // sk_acceptq_is_full
    ++m_net.mib.net_statistics.ListenOverflows;                           // exit_overflow
    ++m_net.mib.net_statistics.ListenDrops;
    return nullptr;
  }
  cpu& c = cpu::this_cpu();
  m_sockets.push_back(std::make_unique<tcp_sock>());
  tcp_sock& sk = *m_sockets.back();
  sk.port = listener.port;
  sk.saddr = m_params.local_ip;
  sk.daddr = req.rmt_addr;
  sk.dport = req.rmt_port;
  sk.state = TCP_SYN_RECV;
  sk.sk_rcvbuf = listener.sk_rcvbuf;
  sk.sk_sndbuf = listener.sk_sndbuf;
  sk.sk_rcvlowat = listener.sk_rcvlowat;
  sk.scaling_ratio = listener.scaling_ratio;
  sk.irs = req.rcv_isn;
  sk.rcv_nxt = sk.copied_seq = sk.rcv_wup = req.rcv_isn + 1;
  sk.rcv_nxt64 = uint64_t{1} << 32;  // any origin that keeps keys below rcv_nxt positive
  sk.snd_una = sk.snd_nxt = req.snt_isn + 1;
  sk.rx_opt.tstamp_ok = req.tstamp_ok;
  sk.rx_opt.sack_ok = req.sack_ok;
  sk.rx_opt.wscale_ok = req.wscale_ok;
  sk.rx_opt.snd_wscale = req.snd_wscale;
  sk.rx_opt.rcv_wscale = req.rcv_wscale;
  sk.rx_opt.ts_recent = req.ts_recent;
  sk.rx_opt.ts_recent_stamp = tlm::local_now();
  sk.rx_opt.mss_clamp = req.mss;
  sk.tcp_header_len = req.tstamp_ok ? 32 : 20;
  sk.advmss = 1460;  // dst_metric_advmss: MTU 1500 - 40
  sk.mss_cache = static_cast<uint16_t>(req.mss - (req.tstamp_ok ? 12 : 0));
  sk.rcv_wnd = req.rcv_wnd;
  sk.window_clamp = std::min<uint32_t>(uint32_t{65535} << req.rcv_wscale, uint32_t{65535} << 14);
  sk.rcv_ssthresh = req.rcv_wnd;
  // tcp_initialize_rcv_mss
  uint32_t hint = std::min<uint32_t>(sk.advmss, sk.mss_cache);
  hint = std::min(hint, sk.rcv_wnd / 2);
  hint = std::min<uint32_t>(hint, 536);
  sk.icsk_ack.rcv_mss = std::max<uint32_t>(hint, 88);
  sk.icsk_ack.lrcvtime = c.jiffies();
  sk.icsk_delack_max = static_cast<uint32_t>(c.usecs_to_jiffies(200000));  // TCP_DELACK_MAX
  sk.icsk_rto = static_cast<uint32_t>(c.usecs_to_jiffies(1e6));            // TCP_TIMEOUT_INIT
  tcp_sock* skp = &sk;
  sk.icsk_delack_timer.function = [this, skp] { tcp_delack_timer(*skp); };
  // tcp_init_buffer_space (v6.6), net.ipv4.tcp_app_win = 31.
  const uint32_t maxwin = static_cast<uint32_t>(std::max(0, tcp_full_space(sk)));
  if (sk.window_clamp >= maxwin) sk.window_clamp = std::max(maxwin - (maxwin >> 31), 4u * sk.advmss);
  if (sk.window_clamp > 2u * sk.advmss && sk.window_clamp + sk.advmss > maxwin)
    sk.window_clamp = std::max(2u * sk.advmss, maxwin - sk.advmss);
  sk.rcv_ssthresh = std::min(sk.rcv_ssthresh, sk.window_clamp);
  sk.rcvq_space.space = std::min({sk.rcv_ssthresh, sk.rcv_wnd, 10u * sk.advmss});
  sk.rcvq_space.seq = sk.copied_seq;
  sk.rcvq_space.time = tlm::local_now();
  sk.sk_backlog_rcv = [this](sock& s, sk_buff* skb) { tcp_v4_do_rcv(static_cast<tcp_sock&>(s), skb); };
  m_established[ehash_key(sk.daddr, sk.dport, sk.port)] = &sk;
  ++m_net.mib.tcp_statistics.PassiveOpens;
  if (auto w = listener.expected_children.find(sk.dport); w != listener.expected_children.end()) {
    sk.queue_probe = w->second.rx_queue;
    sk.wnd_probe = w->second.rcv_wnd;
    sk.backlog_probe = w->second.backlog;
    sk.owned_probe = w->second.owned;
  }
  sk.queue_probe(0);
  sk.wnd_probe(sk.rcv_wnd);
  sk.backlog_probe(0);
  sk.owned_probe(0);
  return &sk;
}

}  // namespace nicsim::host
