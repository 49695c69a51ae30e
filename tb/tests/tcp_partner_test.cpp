// The link partner as a TCP sender on a real wire (issue 13): traffic_source with
// traffic.proto=tcp against a scripted TCP receiver on the other end of an Ethernet link. The
// receiver checks every frame's checksums and every payload byte against proto/tcp_stream.h,
// answers the SYN, ACKs each segment (with SACK blocks for what came out of order) and drops
// chosen frames, so the sender's retransmissions are checked byte for byte. And from the
// command line: TCP's bad input, and a run against today's host (which has no TCP yet) ends,
// retransmits its SYN and closes the ledger.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <systemc>
#include <vector>

#include "proto/checksum.h"
#include "proto/tcp.h"
#include "proto/tcp_stream.h"
#include "tb/tests/cli_harness.h"
#include "tb/traffic_source.h"
#include "tlm/eth_port.h"

namespace {

namespace proto = nicsim::proto;
using nicsim::tb::traffic_params;
using nicsim::tb::traffic_source;
using sc_core::sc_time;

struct tcp_peer : sc_core::sc_module {
  SC_HAS_PROCESS(tcp_peer);
  explicit tcp_peer(const sc_core::sc_module_name& n) : sc_core::sc_module(n), port("port") {
    port.register_receive([this](const proto::wire_frame& f) { receive(f); });
    SC_THREAD(run);
  }
  void receive(const proto::wire_frame& f) {
    const uint8_t* ip = f.bytes.data() + proto::ETH_HLEN;
    ++frames;
    if (!proto::fcs_ok(f.bytes.data(), f.bytes.size()) || ip[9] != proto::IPPROTO_TCP ||
        proto::csum_fold(proto::csum_partial(ip, proto::IPV4_HLEN)) != 0) {
      ++bad;
      return;
    }
    ids.push_back(proto::get_be16(ip + 4));
    const size_t tcp_len = proto::get_be16(ip + 2) - proto::IPV4_HLEN;
    const uint8_t* tcp = ip + proto::IPV4_HLEN;
    if (proto::tcp_checksum_verify(proto::get_be32(ip + 12), proto::get_be32(ip + 16), tcp, tcp_len) != 0) {
      ++bad;
      return;
    }
    proto::tcp_header h;
    size_t off = 0;
    if (proto::parse_tcp_header(tcp, tcp_len, &h, &off) != proto::tcp_parse_error::none) {
      ++bad;
      return;
    }
    if (h.flags & proto::TCP_SYN) {
      ++syns;
      syn = h;
      rcv_nxt = h.seq + 1;
      proto::tcp_header a;
      a.src_port = h.dst_port;
      a.dst_port = h.src_port;
      a.seq = 5000;
      a.ack = rcv_nxt;
      a.flags = proto::TCP_SYN | proto::TCP_ACK;
      a.window = 65535;
      a.opt = h.opt;  // MSS, SACK-permitted, timestamps, wscale 7 back
      a.opt.tsecr = h.opt.tsval;
      send(a);
      return;
    }
    const size_t len = tcp_len - off;
    if (len == 0) return;
    if (drop.count(data_frames++) != 0) return;  // lost on the way in
    const uint64_t offset = h.seq - (syn.seq + 1);
    if (auto it = drop_offset.find(offset); it != drop_offset.end() && it->second > 0) {
      --it->second;  // this stream offset is lost, its next copies too while the count lasts
      return;
    }
    if (proto::tcp_stream_check(0, offset, tcp + off, len) != offset + len) ++bad_bytes;
    if (h.seq == rcv_nxt) {
      rcv_nxt += static_cast<uint32_t>(len);
      for (auto it = ooo.begin(); it != ooo.end() && it->first == rcv_nxt; it = ooo.erase(it))
        rcv_nxt = it->second;
      delivered = rcv_nxt - (syn.seq + 1);
    } else if (static_cast<int32_t>(h.seq - rcv_nxt) > 0) {
      ooo[h.seq] = h.seq + static_cast<uint32_t>(len);
    }
    proto::tcp_header a;
    a.src_port = h.dst_port;
    a.dst_port = h.src_port;
    a.seq = 5001;
    a.ack = rcv_nxt;
    a.flags = proto::TCP_ACK;
    a.window = 2048;  // x 128
    a.opt.has_timestamp = true;
    a.opt.tsecr = h.opt.tsval;
    if (merged_sacks) {
      // As a Linux receiver reports them (RFC 2018 4): contiguous runs, the one holding the
      // segment just received first, then the others.
      std::vector<proto::sack_block> runs;
      for (const auto& [s, e] : ooo) {
        if (!runs.empty() && runs.back().end == s)
          runs.back().end = e;
        else
          runs.push_back({s, e});
      }
      std::stable_partition(runs.begin(), runs.end(), [&](const proto::sack_block& r) {
        return static_cast<int32_t>(h.seq - r.start) >= 0 && static_cast<int32_t>(r.end - h.seq) > 0;
      });
      for (const auto& r : runs)
        if (a.opt.sack_count < 3) a.opt.sack[a.opt.sack_count++] = r;
    } else {
      for (const auto& [s, e] : ooo)
        if (a.opt.sack_count < 3) a.opt.sack[a.opt.sack_count++] = {s, e};
    }
    send(a);
  }
  void send(const proto::tcp_header& h) {
    proto::tcp_endpoints ep;
    std::swap(ep.src_mac, ep.dst_mac);
    std::swap(ep.src_ip, ep.dst_ip);
    out.push_back(proto::build_tcp_frame(ep, 0, h, nullptr, 0));
    wake.notify(sc_core::SC_ZERO_TIME);
  }
  void run() {
    for (;;) {
      while (out.empty()) sc_core::wait(wake);
      proto::wire_frame f;
      f.bytes = out.front();
      out.pop_front();
      port.transmit(f);
    }
  }
  nicsim::tlm::eth_port port;
  std::deque<std::vector<uint8_t>> out;
  sc_core::sc_event wake;
  proto::tcp_header syn;
  uint32_t rcv_nxt = 0;
  std::map<uint32_t, uint32_t> ooo;
  std::set<uint64_t> drop;              // data frames (0, 1, ...) to lose
  std::map<uint64_t, int> drop_offset;  // stream offset -> how many of its copies to lose
  bool merged_sacks = false;            // SACK blocks as Linux sends them, else each segment from the lowest
  uint64_t frames = 0, bad = 0, bad_bytes = 0, syns = 0, data_frames = 0, delivered = 0;
  std::vector<uint16_t> ids;
};

TEST(tcp_partner, streams_every_byte_in_order_and_retransmits_what_the_wire_lost) {
  traffic_params p;
  p.proto = traffic_params::tcp;
  p.rate_gbps = 10;
  p.line_rate_gbps = 10;
  p.frame_bytes = 1518;
  traffic_source partner("partner", p);
  tcp_peer peer("peer");
  peer.drop = {3, 40, 41};
  partner.port().bind(peer.port);
  partner.port().set_delay(sc_time(5, sc_core::SC_US));
  sc_core::sc_start(sc_time(2, sc_core::SC_MS));
  ASSERT_EQ(partner.tcp().size(), 1u);
  const auto& s = *partner.tcp()[0];
  EXPECT_EQ(peer.bad, 0u);
  EXPECT_EQ(peer.bad_bytes, 0u);
  EXPECT_EQ(peer.syns, 1u);
  EXPECT_EQ(peer.syn.opt.mss, 1460);
  EXPECT_TRUE(s.stats().established);
  EXPECT_EQ(s.mss(), 1448u);
  EXPECT_GT(peer.delivered, 1000000u) << "2 ms at 10 Gb/s with a 10 us RTT moves megabytes";
  EXPECT_GE(s.stats().retrans_segs, 3u);
  EXPECT_GE(s.stats().fast_retransmits, 3u);
  EXPECT_EQ(s.stats().rto_count, 0u);
  // Every byte acked was delivered in order (ACKs still on the wire at the end lag behind).
  EXPECT_LE(s.snd_una(), peer.delivered);
  EXPECT_GT(s.snd_una(), peer.delivered - 64 * 1448);
  EXPECT_EQ(s.stats().bytes_sent - s.stats().retrans_bytes, s.snd_nxt());
  EXPECT_LE(s.bytes_in_flight(), s.snd_wnd());
  EXPECT_EQ(partner.rx_stats().rx_tcp, partner.rx_stats().rx_frames);
  // The IPv4 ID counts the partner's frames.
  for (size_t i = 0; i < peer.ids.size(); ++i) ASSERT_EQ(peer.ids[i], static_cast<uint16_t>(i));
}

// A segment lost, then its retransmission lost too (the partner's RACK-TLP, tcp_rack.cpp): RACK
// sees later segments SACKed and sends it a third time within the run; no RTO. With
// traffic.tcp_recovery=dupack the lost retransmission waits for the 200 ms RTO, so delivery
// stops at the hole for the rest of the 2 ms.
void lost_retransmission(nicsim::tb::partner::tcp_recovery rec) {
  traffic_params p;
  p.proto = traffic_params::tcp;
  p.rate_gbps = 10;
  p.line_rate_gbps = 10;
  p.frame_bytes = 1518;
  p.tcp_recovery = rec;
  traffic_source partner("partner", p);
  tcp_peer peer("peer");
  const uint64_t hole = 30 * 1448;
  peer.drop_offset[hole] = 2;
  peer.merged_sacks = true;  // the blocks a Linux receiver sends: later segments SACKed are seen
  partner.port().bind(peer.port);
  partner.port().set_delay(sc_time(5, sc_core::SC_US));
  sc_core::sc_start(sc_time(2, sc_core::SC_MS));
  const auto& s = *partner.tcp()[0];
  EXPECT_EQ(peer.bad_bytes, 0u);
  EXPECT_EQ(s.stats().rto_count, 0u);
  EXPECT_EQ(peer.drop_offset.at(hole), 0);  // both copies were sent and lost
  if (rec == nicsim::tb::partner::tcp_recovery::rack) {
    EXPECT_GT(peer.delivered, 1000000u);
    EXPECT_EQ(s.stats().lost_retransmit, 1u);
    EXPECT_GE(s.stats().rack_lost, 2u);
    EXPECT_LE(s.snd_una(), peer.delivered);  // ACKs still on the wire lag behind
    EXPECT_GT(s.snd_una(), hole);
  } else {
    EXPECT_EQ(peer.delivered, hole);
    EXPECT_EQ(s.stats().lost_retransmit, 0u);
    EXPECT_EQ(s.snd_una(), hole);
  }
}

TEST(tcp_partner, rack_sends_a_lost_retransmission_again_without_an_rto) {
  lost_retransmission(nicsim::tb::partner::tcp_recovery::rack);
}

TEST(tcp_partner, dupack_mode_leaves_a_lost_retransmission_to_the_rto) {
  lost_retransmission(nicsim::tb::partner::tcp_recovery::dupack);
}

using nicsim::test::nicsim_cli;

TEST(tcp_partner_cli, tcp_bad_input_exits_2_naming_the_key) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"traffic.proto=tcp --set traffic.pattern=rr --set app.role=echo", "traffic.pattern"},
      {"traffic.proto=tcp --set traffic.corrupt=udp_csum", "traffic.corrupt"},
      {"traffic.proto=tcp --set traffic.frame_bytes=145", "traffic.frame_bytes"},
      {"traffic.proto=sctp", "traffic.proto"},
      {"traffic.tcp_cc=vegas", "traffic.tcp_cc"},
      {"traffic.tcp_recovery=fack", "traffic.tcp_recovery"},
  };
  for (const auto& [set, key] : bad) {
    const auto o = nicsim_cli("run --quiet --set sim.duration_us=10 --set " + set);
    EXPECT_EQ(o.status, 2) << set << ": " << o.output;
    EXPECT_NE(o.output.find(key), std::string::npos) << set << ": " << o.output;
  }
  const auto ok = nicsim_cli(
      "run --quiet --set sim.duration_us=10 --set traffic.proto=tcp --set traffic.frame_bytes=146");
  EXPECT_EQ(ok.status, 0) << ok.output;
}

// The host receives TCP now (issue 13, host/apps/tcp_app.h): both connections complete the
// handshake through the host's listener at once, with no SYN retransmitted, and the partner
// hears the host's ACKs. (Before the host had TCP, its IP layer dropped every SYN as IP_NOPROTO
// and the partner retransmitted them at 1 s and 3 s.)
TEST(tcp_partner_cli, a_run_against_the_host_establishes_every_connection) {
  const auto json = nicsim::test::scratch_path("tcp_partner_cli", "host.json");
  const auto o = nicsim_cli("run --quiet --json " + json +
                            " --set traffic.proto=tcp --set traffic.flows=2 --set sim.duration_us=2000");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = nicsim::test::read_json(json);
  const auto& t = j.at("partner").at("tcp");
  EXPECT_EQ(t.at("opened"), 2);
  EXPECT_EQ(t.at("established"), 2);
  EXPECT_EQ(t.at("syn_retransmits"), 0);
  EXPECT_EQ(j.at("tcp").at("PassiveOpens"), 2);
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
  EXPECT_GT(j.at("partner").at("rx_tcp").get<uint64_t>(), 2u);
}

}  // namespace
