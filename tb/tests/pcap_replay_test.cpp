// A capture as traffic (issue 16): traffic.pcap reads pcap and pcapng in their variants alike,
// refuses what it cannot replay naming the file and the byte offset, gives frames not for the
// host the kernel's counters, and a run's own two-way wire pcap replayed into the same
// configuration gives that run's wire, nic, udp and app counters again.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/config.h"
#include "tb/pcap_source.h"
#include "tb/tests/cli_harness.h"

namespace {

using nicsim::tb::pcap_capture;
using nicsim::test::nicsim_cli;
using nicsim::test::read_json;

std::string scratch(const std::string& name) { return nicsim::test::scratch_path("pcap_replay", name); }

// Little helpers writing words in a chosen byte order.
struct bytes_out {
  bool big = false;
  std::vector<uint8_t> b;
  void u16(uint16_t v) {
    for (int i = 0; i < 2; ++i) b.push_back(static_cast<uint8_t>(big ? v >> (8 * (1 - i)) : v >> (8 * i)));
  }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(big ? v >> (8 * (3 - i)) : v >> (8 * i)));
  }
  void raw(const std::vector<uint8_t>& d) { b.insert(b.end(), d.begin(), d.end()); }
  void pad4() {
    while (b.size() % 4) b.push_back(0);
  }
};

struct pkt {
  std::vector<uint8_t> data;  // as captured
  uint64_t ns;                // absolute time
};

std::vector<uint8_t> strip_fcs(std::vector<uint8_t> f) {
  f.resize(f.size() - 4);
  return f;
}

std::vector<uint8_t> classic(const std::vector<pkt>& pkts, bool big, bool nano, uint32_t linktype = 1) {
  bytes_out o{big, {}};
  o.u32(nano ? 0xA1B23C4D : 0xA1B2C3D4);
  o.u16(2);
  o.u16(4);
  o.u32(0);
  o.u32(0);
  o.u32(65535);
  o.u32(linktype);
  for (const auto& p : pkts) {
    o.u32(static_cast<uint32_t>(p.ns / 1000000000));
    o.u32(static_cast<uint32_t>(nano ? p.ns % 1000000000 : p.ns % 1000000000 / 1000));
    o.u32(static_cast<uint32_t>(p.data.size()));
    o.u32(static_cast<uint32_t>(p.data.size()));
    o.raw(p.data);
  }
  return o.b;
}

// pcapng: SHB, one IDB (if_tsresol tsresol, optional if_fcslen), an EPB per packet with
// epb_flags dir (0: no option).
std::vector<uint8_t> pcapng(const std::vector<pkt>& pkts, bool big, uint8_t tsresol,
                            const std::vector<uint32_t>& dirs, int fcslen = -1) {
  bytes_out o{big, {}};
  o.u32(0x0A0D0D0A);
  o.u32(28);
  o.u32(0x1A2B3C4D);
  o.u16(1);
  o.u16(0);
  o.u32(0xFFFFFFFF);
  o.u32(0xFFFFFFFF);
  o.u32(28);
  const uint32_t idb_len = 20 + 8 + (fcslen >= 0 ? 8 : 0) + 4;
  o.u32(1);
  o.u32(idb_len);
  o.u16(1);
  o.u16(0);
  o.u32(0);
  o.u16(9);
  o.u16(1);
  o.b.push_back(tsresol);
  o.pad4();
  if (fcslen >= 0) {
    o.u16(13);
    o.u16(1);
    o.b.push_back(static_cast<uint8_t>(fcslen));
    o.pad4();
  }
  o.u32(0);  // opt_endofopt
  o.u32(idb_len);
  const uint64_t per_s = tsresol == 6 ? 1000000 : 1000000000;
  for (size_t i = 0; i < pkts.size(); ++i) {
    const auto& p = pkts[i];
    const uint64_t units = p.ns / 1000000000 * per_s + p.ns % 1000000000 / (1000000000 / per_s);
    const uint32_t padded = (static_cast<uint32_t>(p.data.size()) + 3) & ~3u;
    const uint32_t dir = i < dirs.size() ? dirs[i] : 0;
    const uint32_t len = 32 + padded + (dir ? 12 : 0);
    o.u32(6);
    o.u32(len);
    o.u32(0);
    o.u32(static_cast<uint32_t>(units >> 32));
    o.u32(static_cast<uint32_t>(units));
    o.u32(static_cast<uint32_t>(p.data.size()));
    o.u32(static_cast<uint32_t>(p.data.size()));
    o.raw(p.data);
    o.pad4();
    if (dir) {
      o.u16(2);
      o.u16(4);
      o.u32(dir);
      o.u32(0);
    }
    o.u32(len);
  }
  return o.b;
}

std::string write(const std::string& name, const std::vector<uint8_t>& b) {
  const auto path = scratch(name);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return path;
}

std::vector<uint8_t> udp_frame(uint32_t seq, size_t bytes = 128, uint16_t dst_port = 9000) {
  nicsim::proto::udp_flow flow;
  flow.dst_port = dst_port;
  nicsim::proto::payload_stamp st;
  st.seq = seq;
  return nicsim::proto::build_udp_frame(flow, bytes, st);
}

std::vector<pkt> sample() {
  return {{strip_fcs(udp_frame(0)), 1700000000000000000ull + 5000},
          {strip_fcs(udp_frame(1)), 1700000000000000000ull + 9000},
          {strip_fcs(udp_frame(2, 64)), 1700000001000000000ull}};
}

// Every variant of the same three frames reads as the same frames at the same times, each
// with an FCS added that checks.
TEST(pcap_replay, pcap_and_pcapng_in_both_byte_orders_and_resolutions_read_alike) {
  const auto pk = sample();
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> files{
      {"le_us.pcap", classic(pk, false, false)}, {"be_us.pcap", classic(pk, true, false)},
      {"le_ns.pcap", classic(pk, false, true)},  {"be_ns.pcap", classic(pk, true, true)},
      {"le6.pcapng", pcapng(pk, false, 6, {})},  {"be9.pcapng", pcapng(pk, true, 9, {1, 1, 1})}};
  for (const auto& [name, b] : files) {
    const auto cap = pcap_capture::load(write(name, b));
    ASSERT_EQ(cap->frames().size(), 3u) << name;
    EXPECT_EQ(cap->frames()[0].time_ps, 0u) << name;
    EXPECT_EQ(cap->frames()[1].time_ps, 4000000u) << name << ": 4 us after the first";
    EXPECT_EQ(cap->frames()[2].time_ps, 999995000000u) << name;
    for (size_t i = 0; i < 3; ++i) {
      std::vector<uint8_t> wire;
      cap->wire_bytes(i, wire);
      EXPECT_EQ(wire, udp_frame(static_cast<uint32_t>(i), i == 2 ? 64 : 128)) << name << " frame " << i;
    }
  }
}

// The FCS: present when the file says so (classic: the link-type field's FCS bits; pcapng:
// if_fcslen, or epb_flags), then sent as captured; short frames without one are padded.
TEST(pcap_replay, the_fcs_is_kept_when_the_capture_has_it_and_short_frames_are_padded) {
  const auto full = udp_frame(7);
  const std::vector<pkt> with_fcs{{full, 1000}};
  // LT_FCS_LENGTH_PRESENT with 2 16-bit words.
  auto c = pcap_capture::load(write("fcs.pcap", classic(with_fcs, false, true, 1u | 0x04000000u | 2u << 28)));
  std::vector<uint8_t> wire;
  c->wire_bytes(0, wire);
  EXPECT_EQ(wire, full);
  c = pcap_capture::load(write("fcs.pcapng", pcapng(with_fcs, false, 9, {}, 4)));
  c->wire_bytes(0, wire);
  EXPECT_EQ(wire, full);
  // epb_flags FCS length 4 (bits 5-8) with direction inbound.
  c = pcap_capture::load(write("fcs_epb.pcapng", pcapng(with_fcs, true, 9, {1u | 4u << 5})));
  c->wire_bytes(0, wire);
  EXPECT_EQ(wire, full);
  // A 42-byte ARP-sized frame without FCS: padded to 60 and sealed.
  std::vector<uint8_t> arp(42, 0xAB);
  c = pcap_capture::load(write("short.pcap", classic({{arp, 0}}, false, false)));
  c->wire_bytes(0, wire);
  ASSERT_EQ(wire.size(), 64u);
  EXPECT_TRUE(std::equal(arp.begin(), arp.end(), wire.begin()));
  EXPECT_TRUE(nicsim::proto::fcs_ok(wire.data(), wire.size()));
}

// Outbound packets (the host's own, in a two-way capture) are not replayed.
TEST(pcap_replay, outbound_packets_of_a_two_way_capture_are_skipped) {
  const auto pk = sample();
  const auto cap = pcap_capture::load(write("two_way.pcapng", pcapng(pk, false, 9, {1, 2, 0})));
  ASSERT_EQ(cap->frames().size(), 2u);
  EXPECT_EQ(cap->outbound_skipped(), 1u);
  std::vector<uint8_t> wire;
  cap->wire_bytes(1, wire);
  EXPECT_EQ(wire, udp_frame(2, 64)) << "the undirected third packet";
}

// Truncated or malformed: exit 2 naming the file and the byte offset, nothing written.
TEST(pcap_replay, a_truncated_or_malformed_capture_is_bad_input_with_its_offset) {
  const auto good = classic(sample(), false, true);
  auto cut = good;
  cut.resize(good.size() - 10);  // inside the last packet
  auto bad_len = pcapng(sample(), false, 9, {});
  bad_len[28 + 4] = 13;  // the IDB's length: not a multiple of 4
  auto snap = classic(sample(), false, true);
  snap[24 + 12] += 1;  // the first record's orig_len above its incl_len
  const std::vector<std::tuple<std::string, std::vector<uint8_t>, std::string>> cases{
      {"cut.pcap", cut, "byte offset 304: the file ends inside this packet record"},  // 24 + 2 * (16 + 124)
      {"bad_len.pcapng", bad_len, "byte offset 32"},
      {"snap.pcap", snap, "byte offset 24"},
      {"linktype.pcap", classic(sample(), false, true, 105), "byte offset 20"},
      {"garbage.pcap", std::vector<uint8_t>(100, 0x42), "byte offset 0"}};
  for (const auto& [name, b, where] : cases) {
    const auto path = write(name, b);
    const auto json = scratch(name + ".json");
    std::filesystem::remove(json);
    const auto o = nicsim_cli("run --quiet --json " + json + " --set traffic.pcap=" + path);
    EXPECT_EQ(o.status, 2) << name << ": " << o.output;
    EXPECT_NE(o.output.find(path), std::string::npos) << name << ": " << o.output;
    EXPECT_NE(o.output.find(where), std::string::npos) << name << ": want " << where << ": " << o.output;
    EXPECT_FALSE(std::filesystem::exists(json)) << name;
  }
}

// Frames not for the host meet the kernel's counters: another MAC (otherhost, dropped in
// ip_rcv_core), another IP (InAddrErrors), no socket on the port (NoPorts), no handler for
// the EtherType (rx_nohandler); a frame for the reader is delivered.
TEST(pcap_replay, frames_not_for_the_host_meet_the_kernels_counters) {
  auto other_mac = udp_frame(1);
  other_mac[5] = 0x99;
  auto other_ip = udp_frame(2);
  other_ip[nicsim::proto::ETH_HLEN + 19] = 0x63;  // 10.0.0.99: the header checksum is fixed below
  other_ip[nicsim::proto::ETH_HLEN + 10] = other_ip[nicsim::proto::ETH_HLEN + 11] = 0;
  const uint16_t csum = nicsim::proto::csum_fold(
      nicsim::proto::csum_partial(other_ip.data() + nicsim::proto::ETH_HLEN, nicsim::proto::IPV4_HLEN));
  nicsim::proto::put_be16(other_ip.data() + nicsim::proto::ETH_HLEN + 10, csum);
  std::vector<uint8_t> arp(42, 0);
  std::memcpy(arp.data(), other_mac.data(), 12);
  arp[0] = 0xFF, arp[1] = 0xFF, arp[2] = 0xFF, arp[3] = 0xFF, arp[4] = 0xFF, arp[5] = 0xFF;
  arp[12] = 0x08, arp[13] = 0x06;
  const std::vector<pkt> pk{{strip_fcs(udp_frame(0)), 0},
                            {strip_fcs(other_mac), 10000},
                            {strip_fcs(other_ip), 20000},
                            {strip_fcs(udp_frame(3, 128, 9999)), 30000},
                            {arp, 40000}};
  const auto path = write("mixed.pcap", classic(pk, false, true));
  const auto json = scratch("mixed.json");
  const auto o =
      nicsim_cli("run --quiet --json " + json + " --set sim.duration_us=200 --set traffic.pcap=" + path);
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = read_json(json);
  EXPECT_EQ(j.at("wire").at("frames"), 5);
  EXPECT_EQ(j.at("app").at("messages"), 1);
  EXPECT_EQ(j.at("drop_reasons").at("OTHERHOST"), 1);
  EXPECT_EQ(j.at("drop_reasons").at("IP_INADDRERRORS"), 1);
  EXPECT_EQ(j.at("drop_reasons").at("NO_SOCKET"), 1);
  EXPECT_EQ(j.at("drop_reasons").at("UNHANDLED_PROTO"), 1);
  EXPECT_EQ(j.at("ip").at("InAddrErrors"), 1);
  EXPECT_EQ(j.at("udp").at("NoPorts"), 1);
  EXPECT_EQ(j.at("ip").at("InReceives"), 3) << "the frame for another MAC is dropped before the IP MIB";
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
}

// The done-when of issue 16: a run's own two-way wire pcap (an echo server answering; every
// other frame to a port nobody listens on, answered with ICMP) replayed into the same
// configuration gives the same counters. traffic.flows is ignored under traffic.pcap, with
// a warning. The pcap's times are in ns, so the run is one whose times are whole ns.
TEST(pcap_replay, a_runs_own_wire_pcap_replayed_gives_the_same_counters) {
  const std::string config =
      " --set sim.duration_us=300 --set traffic.rate_gbps=2 --set app.role=echo --set traffic.flows=2"
      " --set link.delay_ns=100";
  const auto pcap = scratch("own.pcap"), a = scratch("own_a.json"), b = scratch("own_b.json");
  auto o = nicsim_cli("run --quiet --json " + a + " --pcap " + pcap + config);
  ASSERT_EQ(o.status, 0) << o.output;
  o = nicsim_cli("run --quiet --json " + b + config + " --set traffic.pcap=" + pcap);
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("ignored: traffic.flows=2"), std::string::npos) << o.output;
  const auto ja = read_json(a), jb = read_json(b);
  ASSERT_GT(ja.at("udp").at("NoPorts").get<uint64_t>(), 0u) << "the run must exercise NoPorts";
  ASSERT_GT(ja.at("app").at("sent").get<uint64_t>(), 0u) << "and the echo's responses";
  for (const char* section : {"wire", "nic", "udp", "app", "ip", "partner", "drop_reasons"})
    EXPECT_EQ(jb.at(section), ja.at(section)) << section;
  EXPECT_EQ(jb.at("latency_ns"), ja.at("latency_ns")) << "the stamps carry the same send times";
  EXPECT_TRUE(jb.at("conservation").at("ok").get<bool>());
}

// pcap_timing=rate re-times the frames back to back at traffic.rate_gbps; pcap_loop repeats.
TEST(pcap_replay, rate_timing_and_loops) {
  const auto path = write("rate.pcap", classic(sample(), false, true));
  const auto json = scratch("rate.json");
  const auto o =
      nicsim_cli("run --quiet --json " + json + " --set sim.duration_us=100 --set traffic.pcap=" + path +
                 " --set traffic.pcap_timing=rate --set traffic.pcap_loop=4");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = read_json(json);
  // By capture time the third frame would come a second later: at the rate all 15 fit in 100 us.
  EXPECT_EQ(j.at("wire").at("frames"), 15);
  EXPECT_EQ(j.at("app").at("messages"), 15);
}

}  // namespace
