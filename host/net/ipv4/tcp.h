#pragma once
// TCP, the receiving side (net/ipv4/tcp_ipv4.c, tcp_input.c, tcp_output.c, tcp_timer.c, tcp.c,
// inet_connection_sock.c, tcp_minisocks.c, v6.6): listen/accept with request socks and the
// SYN-ACK, tcp_v4_rcv with the socket backlog, tcp_rcv_established's header-prediction fast
// path and slow path, the out-of-order queue, coalescing, receive-memory pruning, ACKs (quick
// ack, delayed ACK on the timer wheel, window updates from tcp_cleanup_rbuf), the receive window
// (window scaling, rcv_ssthresh growth, autotuning) and tcp_recvmsg. The host never sends data:
// snd_una/snd_nxt stay at the SYN-ACK's sequence + 1.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "host/kernel/time/timer.h"
#include "host/net/core/skbuff.h"
#include "host/net/ipv4/inet_sock.h"
#include "host/net/ipv4/ip.h"
#include "host/net/ipv4/protocol.h"
#include "host/net/netstack_params.h"

namespace nicsim::host {

struct net;

// TCP_SKB_CB (include/net/tcp.h, v6.6: struct tcp_skb_cb), in skb->cb: filled by tcp_v4_fill_cb.
struct tcp_skb_cb {
  uint32_t seq = 0, end_seq = 0, ack_seq = 0;
  uint8_t tcp_flags = 0;
};
static_assert(sizeof(tcp_skb_cb) <= sizeof(sk_buff::cb));
inline tcp_skb_cb& TCP_SKB_CB(sk_buff* skb) { return *reinterpret_cast<tcp_skb_cb*>(skb->cb); }

// TCP header flags (include/net/tcp.h: TCPHDR_*).
inline constexpr uint8_t TCPHDR_FIN = 0x01, TCPHDR_SYN = 0x02, TCPHDR_RST = 0x04, TCPHDR_PSH = 0x08,
                         TCPHDR_ACK = 0x10, TCPHDR_URG = 0x20, TCPHDR_ECE = 0x40, TCPHDR_CWR = 0x80;

enum tcp_state : uint8_t { TCP_ESTABLISHED = 1, TCP_SYN_RECV = 3, TCP_CLOSE = 7, TCP_LISTEN = 10 };

// icsk_ack.pending bits (include/net/inet_connection_sock.h, v6.6: enum inet_csk_ack_state_t).
enum : uint8_t {
  ICSK_ACK_SCHED = 1,
  ICSK_ACK_TIMER = 2,
  ICSK_ACK_PUSHED = 4,
  ICSK_ACK_PUSHED2 = 8,
  ICSK_ACK_NOW = 16
};

struct tcp_sack_block {
  uint32_t start_seq = 0, end_seq = 0;
};

struct tcp_sock;

// struct request_sock / tcp_request_sock (include/net/request_sock.h, v6.6): a SYN_RECV
// connection before its ACK, kept by the listener (the kernel hashes it in ehash as
// TCP_NEW_SYN_RECV; the model keeps it on the listener, found by the 4-tuple).
struct request_sock {
  uint32_t rmt_addr = 0;
  uint16_t rmt_port = 0;
  uint32_t rcv_isn = 0, snt_isn = 0;
  uint16_t mss = 536;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool wscale_ok = false, sack_ok = false, tstamp_ok = false;
  uint32_t ts_recent = 0;
  uint32_t rcv_wnd = 0;  // the window the SYN-ACK offered (tcp_openreq_init_rwin)
  unsigned num_retrans = 0;
  sc_core::sc_time snt_synack{sc_core::SC_ZERO_TIME};
  timer_list rsk_timer;  // reqsk_timer_handler: SYN-ACK retransmission
};

struct tcp_sock : inet_sock {
  tcp_state state = TCP_CLOSE;
  uint32_t daddr = 0;
  uint16_t dport = 0;
  // ---- receive sequence space
  uint32_t rcv_nxt = 0, copied_seq = 0, rcv_wup = 0, rcv_wnd = 0;
  uint32_t window_clamp = 0, rcv_ssthresh = 0;
  uint32_t irs = 0;  // the peer's ISN: stream offset o is sequence irs + 1 + o
  // ---- send sequence space (the ACK side)
  uint32_t snd_una = 0, snd_nxt = 0, snd_wnd = 0, snd_wl1 = 0, max_window = 0;
  uint16_t advmss = 1460, mss_cache = 536;
  uint8_t tcp_header_len = 20;
  uint32_t pred_flags = 0;  // header prediction (0: off)
  uint8_t scaling_ratio = 0;
  struct {
    uint32_t space = 0, seq = 0;
    sc_core::sc_time time{sc_core::SC_ZERO_TIME};
  } rcvq_space;
  struct {
    uint32_t rtt_us = 0, seq = 0;  // rtt_us: << 3
    sc_core::sc_time time{sc_core::SC_ZERO_TIME};
    bool valid = false;
  } rcv_rtt_est;
  uint32_t rcv_rtt_last_tsecr = 0;
  uint32_t srtt_us = 0;  // << 3: from the SYN-ACK's RTT (tcp_synack_rtt_meas)
  struct {
    bool saw_tstamp = false, tstamp_ok = false, sack_ok = false, wscale_ok = false;
    uint8_t snd_wscale = 0, rcv_wscale = 0;
    uint32_t ts_recent = 0, rcv_tsval = 0, rcv_tsecr = 0;
    sc_core::sc_time ts_recent_stamp{sc_core::SC_ZERO_TIME};
    uint16_t mss_clamp = 536;
    uint8_t num_sacks = 0;
  } rx_opt;
  std::array<tcp_sack_block, 4> selective_acks{};
  // ---- inet_connection_sock
  struct {
    uint8_t pending = 0, quick = 0;
    bool pingpong = false;
    uint32_t ato = 0;       // jiffies
    uint64_t timeout = 0;   // jiffies
    uint64_t lrcvtime = 0;  // jiffies
    uint32_t rcv_mss = 536;
    uint32_t last_seg_size = 0;
  } icsk_ack;
  uint32_t icsk_rto = 0;         // jiffies
  uint32_t icsk_delack_max = 0;  // jiffies (TCP_DELACK_MAX)
  timer_list icsk_delack_timer;
  bool delack_timer_deferred = false;
  // sk_lock.slock: the socket spinlock softirq holds while it works on the socket
  // (bh_lock_sock) and release_sock holds from its last look at the backlog to the ownership
  // drop; lock_sock (spin_lock_bh) and bh_lock_sock spin while another CPU holds it.
  bool bh_locked = false;
  // ---- queues
  // out_of_order_queue (an rb-tree by sequence in the kernel): by 64-bit stream position.
  std::map<uint64_t, sk_buff*> out_of_order_queue;
  uint64_t ooo_last = 0;   // key of ooo_last_skb
  uint64_t rcv_nxt64 = 0;  // rcv_nxt as a 64-bit count (the map's frame of reference)
  uint64_t sk_rcvlowat = 1;
  // ---- listeners (inet_connection_sock's icsk_accept_queue)
  std::map<uint64_t, std::unique_ptr<request_sock>> syn_table;  // by (raddr, rport)
  std::deque<tcp_sock*> icsk_accept_queue;
  unsigned sk_max_ack_backlog = 0;
  wait_queue_head accept_wq;  // inet_csk_wait_for_connect sleeps on sk_sleep (exclusive)
  // The model's: wave signals declared before the run for the children of expected peers (by
  // peer port; a wave file's signals are declared before its first change), given to the
  // child socket tcp_v4_syn_recv_sock creates for that peer.
  struct child_waves {
    waves::probe rx_queue, rcv_wnd, backlog, owned;
  };
  std::map<uint16_t, child_waves> expected_children;
  // ---- per-socket statistics (ss -ti, tcp_info)
  uint64_t bytes_received = 0, segs_in = 0, data_segs_in = 0, segs_out = 0;
  uint32_t conn_index = 0;  // the partner's connection number (by source port), for readers
  // Waves host.sock.tcp_<port>_<peer port>.{rx_queue (bytes), rcv_wnd, backlog, owned}: the
  // receive queue's unread bytes (sock::queue_probe), the window as last advertised, and the
  // sock's backlog_probe and owned_probe.
  waves::probe wnd_probe;
};

// tcp_receive_window (include/net/tcp.h, v6.6): what is left of the window last advertised.
inline uint32_t tcp_receive_window(const tcp_sock& tp) {
  const int32_t win = static_cast<int32_t>(tp.rcv_wup + tp.rcv_wnd - tp.rcv_nxt);
  return win < 0 ? 0 : static_cast<uint32_t>(win);
}

// Per-segment tracing: each wire frame the skb carries (skb_for_each_frame) reaches `stage`,
// on the timeline track `track`; nothing without an observer.
void tcp_trace_frames(const sk_buff& skb, waves::frame_stage stage, int track);

// bh_lock_sock / bh_unlock_sock (include/net/sock.h, v6.6): the socket spinlock, taken by
// softirq and by release_sock; spins (charging lock_sock's cost) while another CPU holds it.
void bh_lock_sock(tcp_sock& sk);
void bh_unlock_sock(tcp_sock& sk);

// The options tcp_parse_options (v6.6) reads: MSS, window scale, SACK-permitted, timestamps.
struct tcp_parsed_options {
  uint16_t mss = 0;
  int wscale = -1;
  bool sack_ok = false, saw_tstamp = false;
  uint32_t tsval = 0, tsecr = 0;
};
tcp_parsed_options tcp_walk_options(const uint8_t* th, unsigned doff);

class tcp {
 public:
  tcp(struct net& net, ip& ip, skb_allocator& skbs, const netstack_params& params);
  tcp(const tcp&) = delete;
  tcp& operator=(const tcp&) = delete;

  const net_protocol* protocol() const { return &m_protocol; }

  // socket + bind + listen(fd, backlog) (inet_csk_listen_start): the listener on port.
  tcp_sock& tcp_listen(uint16_t port, unsigned backlog);
  // Declares the waves of the connection a listener will accept from peer_port (before the
  // run starts): host.sock.tcp_<port>_<peer_port>.{rx_queue,rcv_wnd,backlog,owned}.
  void declare_child_waves(tcp_sock& listener, uint16_t peer_port, waves::observer* o);
  // accept(2) on a listener (inet_csk_accept): blocks in inet_csk_wait_for_connect.
  tcp_sock& inet_csk_accept(tcp_sock& listener);
  // recv(2) (tcp_recvmsg): bytes copied into buf (up to len, at least SO_RCVLOWAT unless the
  // queue ends), blocking in sk_wait_data. `stream_offset` receives the stream offset of the
  // first byte copied (copied_seq - irs - 1 before the copy).
  // `pieces` (optional) receives each run of bytes copied from consecutive stream offsets as
  // (stream offset, length): more than one when the reader slept in sk_wait_data after a
  // partial copy (SO_RCVLOWAT) and another reader of the socket read meanwhile.
  long tcp_recvmsg(tcp_sock& sk, uint8_t* buf, size_t len, uint64_t* stream_offset = nullptr,
                   std::vector<std::pair<uint64_t, size_t>>* pieces = nullptr);
  // Sockets (listeners and connections) for reports.
  const std::vector<std::unique_ptr<tcp_sock>>& sockets() const { return m_sockets; }
  // Frame ledger: wire frames whose fate TCP settled without a drop: their receive buffers
  // freed after the application read their bytes, or a control segment (or a coalesced
  // segment's header-only head) consumed. Each skb counts every frame it carries
  // (skb_frame_count: its own, GRO-merged and coalesced ones). Dropped frames are in the skb
  // allocator's drops(); frames still held are the host's rx_frames_held().
  uint64_t frames_consumed() const { return m_frames_consumed; }

  // Exposed for tests: the window the next ACK would carry (__tcp_select_window).
  uint32_t __tcp_select_window(tcp_sock& sk) const;

 private:
  friend struct tcp_test_access;
  // tcp_ipv4.c
  void tcp_v4_rcv(sk_buff* skb);
  void tcp_v4_do_rcv(tcp_sock& sk, sk_buff* skb);
  bool tcp_add_backlog(tcp_sock& sk, sk_buff* skb);
  void tcp_v4_send_reset(tcp_sock* sk, sk_buff* skb);
  tcp_sock* lookup_established(uint32_t raddr, uint16_t rport, uint16_t lport);
  // tcp_input.c / tcp_minisocks.c
  void tcp_conn_request(tcp_sock& listener, sk_buff* skb);
  tcp_sock* tcp_check_req(tcp_sock& listener, request_sock& req, sk_buff* skb);
  tcp_sock* tcp_v4_syn_recv_sock(tcp_sock& listener, request_sock& req);
  void tcp_rcv_established(tcp_sock& sk, sk_buff* skb);
  bool tcp_validate_incoming(tcp_sock& sk, sk_buff* skb);
  int tcp_ack(tcp_sock& sk, sk_buff* skb, int flag);
  void tcp_data_queue(tcp_sock& sk, sk_buff* skb);
  void tcp_data_queue_ofo(tcp_sock& sk, sk_buff* skb);
  void tcp_ofo_queue(tcp_sock& sk);
  bool tcp_queue_rcv(tcp_sock& sk, sk_buff* skb);
  bool tcp_try_coalesce(tcp_sock& sk, sk_buff* to, sk_buff* from);
  int tcp_try_rmem_schedule(tcp_sock& sk, sk_buff* skb, unsigned size);
  int tcp_prune_queue(tcp_sock& sk, sk_buff* in_skb);
  bool tcp_prune_ofo_queue(tcp_sock& sk, sk_buff* in_skb);
  void tcp_clamp_window(tcp_sock& sk);
  void tcp_event_data_recv(tcp_sock& sk, sk_buff* skb);
  void tcp_measure_rcv_mss(tcp_sock& sk, sk_buff* skb);
  void tcp_grow_window(tcp_sock& sk, sk_buff* skb);
  void tcp_rcv_rtt_measure(tcp_sock& sk);
  void tcp_rcv_rtt_measure_ts(tcp_sock& sk, sk_buff* skb);
  void tcp_rcv_space_adjust(tcp_sock& sk);
  void tcp_ack_snd_check(tcp_sock& sk, bool ofo_possible);
  void tcp_incr_quickack(tcp_sock& sk, unsigned max_quickacks);
  void tcp_enter_quickack_mode(tcp_sock& sk, unsigned max_quickacks);
  bool tcp_in_quickack_mode(const tcp_sock& sk) const;
  void tcp_sack_new_ofo_skb(tcp_sock& sk, uint32_t seq, uint32_t end_seq);
  void tcp_sack_remove(tcp_sock& sk);
  void tcp_fast_path_check(tcp_sock& sk);
  void tcp_data_ready(tcp_sock& sk);
  bool tcp_parse_options(tcp_sock& sk, const uint8_t* th, unsigned doff_bytes);
  // tcp_output.c / tcp_timer.c
  uint16_t tcp_select_window(tcp_sock& sk);
  void tcp_send_ack(tcp_sock& sk);
  void tcp_send_dupack(tcp_sock& sk, sk_buff* skb);
  void tcp_send_delayed_ack(tcp_sock& sk);
  void tcp_delack_timer(tcp_sock& sk);
  void tcp_delack_timer_handler(tcp_sock& sk);
  void tcp_v4_send_synack(tcp_sock& listener, request_sock& req);
  void reqsk_timer_handler(tcp_sock& listener, request_sock& req);
  // tcp.c
  void tcp_cleanup_rbuf(tcp_sock& sk, int copied);
  void tcp_release_cb(tcp_sock& sk);
  void __release_sock_tcp(tcp_sock& sk);
  void __sk_flush_backlog(tcp_sock& sk);
  void __release_sock(tcp_sock& sk);
  int tcp_win_from_space(const tcp_sock& sk, int64_t space) const;
  int64_t tcp_space_from_win(const tcp_sock& sk, int64_t win) const;
  int tcp_space(const tcp_sock& sk) const;
  int tcp_full_space(const tcp_sock& sk) const;
  // Frees a TCP-held skb whose bytes were all read (or a consumed control segment).
  // Frees an skb TCP is done with (its bytes read, or a control segment): its frames are
  // delivered (frames_consumed, and to the observer on `track`; -1: this CPU's).
  void tcp_consume(sk_buff* skb, int track = -1);
  void tcp_drop_reason(tcp_sock* sk, sk_buff* skb, skb_drop_reason reason);
  // Builds and sends one segment with no payload (tcp_transmit_skb → ip_queue_xmit).
  // window: the raw 16-bit field; opts: the options' bytes.
  void tcp_transmit_ctl(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq,
                        uint32_t ack, uint8_t flags, uint16_t window, const uint8_t* opts, unsigned optlen,
                        sock* owner);
  uint32_t tcp_time_stamp() const;  // tcp_time_stamp_raw: ms

  struct net& m_net;
  ip& m_ip;
  skb_allocator& m_skbs;
  const netstack_params& m_params;
  net_protocol m_protocol;
  std::vector<std::unique_ptr<tcp_sock>> m_sockets;
  std::map<uint16_t, tcp_sock*> m_listeners;    // listening_hash
  std::map<uint64_t, tcp_sock*> m_established;  // ehash, by (raddr, rport, lport)
  uint32_t m_isn = 0x1000;                      // secure_tcp_seq stands in: a counter
  uint64_t m_frames_consumed = 0;
};

}  // namespace nicsim::host
