// The wire and the link partner from the command line (issue 12): the new knobs' bad input,
// a UDP_RR run's report, and the two-way capture (pcapng with each packet's direction) read
// back block by block.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <systemc>
#include <vector>

#include "proto/frame.h"
#include "tb/tests/cli_harness.h"
#include "tb/trace_hub.h"

namespace {

using nicsim::test::nicsim_cli;
using nicsim::test::read_json;

std::string scratch(const std::string& name) { return nicsim::test::scratch_path("partner_cli", name); }

TEST(partner_cli, bad_wire_and_rr_knobs_are_bad_input_naming_the_key) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"link.delay_ns=-1", "link.delay_ns"},
      {"link.delay_ns=2e9", "link.delay_ns"},
      {"traffic.rr_outstanding=0", "traffic.rr_outstanding"},
      {"traffic.rr_outstanding=1025", "traffic.rr_outstanding"},
      {"traffic.rr_outstanding=1.5", "traffic.rr_outstanding"},
      {"traffic.response_bytes=63", "traffic.response_bytes"},
      {"traffic.response_bytes=1519", "traffic.response_bytes"},
      {"traffic.pattern=pingpong", "traffic.pattern"},
  };
  for (const auto& [set, key] : bad) {
    const auto o = nicsim_cli("run --quiet --set sim.duration_us=10 --set " + set);
    EXPECT_EQ(o.status, 2) << set << ": " << o.output;
    EXPECT_NE(o.output.find(key), std::string::npos) << set << ": " << o.output;
  }
}

// Against the host's echo server: every request is answered, or still open at the end
// (lost), or bad; the window bounds what is in flight; conservation holds both ways.
TEST(partner_cli, an_rr_run_reports_its_window_and_accounts_for_every_request) {
  const auto json = scratch("rr.json");
  const auto o = nicsim_cli("run --quiet --json " + json +
                            " --set sim.duration_us=200 --set app.role=echo --set traffic.pattern=rr"
                            " --set traffic.rr_outstanding=3 --set link.delay_ns=250");
  ASSERT_EQ(o.status, 0) << o.output;
  const auto j = read_json(json);
  const auto& rr = j.at("rr");
  EXPECT_EQ(rr.at("outstanding"), 3);
  EXPECT_EQ(rr.at("max_outstanding"), 3);
  const auto requests = rr.at("requests").get<uint64_t>();
  EXPECT_GT(rr.at("transactions").get<uint64_t>(), 0u);
  EXPECT_LE(rr.at("lost").get<uint64_t>(), 3u) << "only requests still open at the end";
  EXPECT_EQ(rr.at("bad_payload"), 0);
  EXPECT_EQ(rr.at("lost").get<uint64_t>() + rr.at("transactions").get<uint64_t>() +
                rr.at("bad_payload").get<uint64_t>(),
            requests);
  EXPECT_EQ(j.at("wire").at("frames").get<uint64_t>(), requests)
      << "the window, not the rate, paces requests";
  EXPECT_TRUE(j.at("conservation").at("ok").get<bool>());
  EXPECT_TRUE(j.at("conservation").at("tx").at("ok").get<bool>());
  EXPECT_EQ(j.at("conservation").at("tx").at("wire"), j.at("partner").at("rx_frames"));
  EXPECT_EQ(j.at("config").at("link.delay_ns"), "250");
}

// The host can always transmit (an ICMP error, an echo), so every capture is pcapng with
// directions, receive-only runs too.
TEST(partner_cli, receive_only_runs_write_pcapng_with_directions_too) {
  const auto pcap = scratch("rx_only.pcap");
  ASSERT_EQ(nicsim_cli("run --quiet --set sim.duration_us=100 --pcap " + pcap).status, 0);
  std::ifstream in(pcap, std::ios::binary);
  uint32_t magic = 0;
  in.read(reinterpret_cast<char*>(&magic), 4);
  EXPECT_EQ(magic, 0x0A0D0D0Au) << "a pcapng section header block";
  std::ifstream fates(pcap + ".fates.csv");
  std::string header, first;
  std::getline(fates, header);
  std::getline(fates, first);
  EXPECT_EQ(header, "packet,direction,seq,fate");
  EXPECT_EQ(first.substr(0, 5), "1,in,");
}

struct block {
  uint32_t type;
  std::vector<uint8_t> body;  // between the two lengths
};

std::vector<block> read_pcapng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<block> blocks;
  size_t at = 0;
  auto u32 = [&bytes](size_t k) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + k, 4);
    return v;
  };
  while (at + 12 <= bytes.size()) {
    const uint32_t type = u32(at), len = u32(at + 4);
    EXPECT_EQ(len % 4, 0u);
    EXPECT_LE(at + len, bytes.size());
    if (len < 12 || len % 4 != 0 || at + len > bytes.size()) break;
    EXPECT_EQ(u32(at + len - 4), len) << "the trailing length repeats the leading one";
    blocks.push_back({type, std::vector<uint8_t>(bytes.begin() + static_cast<long>(at) + 8,
                                                 bytes.begin() + static_cast<long>(at + len) - 4)});
    at += len;
  }
  EXPECT_EQ(at, bytes.size()) << "the file ends with a whole block";
  return blocks;
}

// The epb_flags option (code 2) of an Enhanced Packet Block; ~0u when it has none.
uint32_t epb_flags(const block& b) {
  uint32_t caplen;
  std::memcpy(&caplen, b.body.data() + 12, 4);
  size_t at = 20 + ((caplen + 3) & ~3u);
  while (at + 4 <= b.body.size()) {
    uint16_t code, len;
    std::memcpy(&code, b.body.data() + at, 2);
    std::memcpy(&len, b.body.data() + at + 2, 2);
    if (code == 0) break;
    if (code == 2 && len == 4) {
      uint32_t v;
      std::memcpy(&v, b.body.data() + at + 4, 4);
      return v;
    }
    at += 4 + ((len + 3u) & ~3u);
  }
  return ~0u;
}

// The hub writes what crosses the NIC's port both ways: pcapng, inbound frames flagged 01,
// outbound 10, and the fates CSV names each packet's direction and id, and TX frames that
// never reached the wire.
TEST(partner_cli, a_two_way_capture_is_pcapng_with_each_packets_direction) {
  const auto pcap = scratch("two_way.pcapng"), fates = scratch("two_way.fates.csv");
  {
    nicsim::tb::trace_options opt;
    opt.pcap = pcap;
    opt.fates = fates;
    nicsim::tb::trace_hub hub(opt);
    nicsim::proto::wire_frame rx, tx;
    rx.id = 0;
    rx.bytes = nicsim::proto::build_udp_frame({}, 128, {});
    tx.id = 0;
    tx.bytes = nicsim::proto::build_udp_frame({}, 200, {});
    sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_US));
    hub.wire_frame(rx);
    sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_US));
    hub.wire_tx_frame(tx);
    hub.tx_frame_fate(1, "qdisc_drop");  // a TX frame that never reached the wire
    rx.id = 1;
    hub.wire_frame(rx);
    hub.frame_dropped(1, "nic.rx_missed_errors");
    hub.finish(sc_core::sc_time_stamp().value());
  }
  const auto blocks = read_pcapng(pcap);
  ASSERT_EQ(blocks.size(), 5u);
  EXPECT_EQ(blocks[0].type, 0x0A0D0D0Au);  // Section Header Block
  EXPECT_EQ(blocks[1].type, 1u);           // Interface Description Block
  std::vector<uint32_t> flags, caplens;
  std::vector<uint64_t> ts;
  for (size_t k = 2; k < blocks.size(); ++k) {
    EXPECT_EQ(blocks[k].type, 6u);  // Enhanced Packet Block
    flags.push_back(epb_flags(blocks[k]));
    uint32_t hi, lo, caplen;
    std::memcpy(&hi, blocks[k].body.data() + 4, 4);
    std::memcpy(&lo, blocks[k].body.data() + 8, 4);
    std::memcpy(&caplen, blocks[k].body.data() + 12, 4);
    ts.push_back(uint64_t{hi} << 32 | lo);
    caplens.push_back(caplen);
  }
  EXPECT_EQ(flags, (std::vector<uint32_t>{1, 2, 1}));          // inbound, outbound, inbound
  EXPECT_EQ(ts, (std::vector<uint64_t>{1000, 2000, 2000}));    // ns (if_tsresol 9)
  EXPECT_EQ(caplens, (std::vector<uint32_t>{124, 196, 124}));  // the FCS stripped
  // libpcap reads it too, with nanosecond times.
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(pcap.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  pcap_pkthdr* h;
  const u_char* data;
  int n = 0;
  while (pcap_next_ex(p, &h, &data) == 1) ++n;
  pcap_close(p);
  EXPECT_EQ(n, 3);
  EXPECT_EQ(nicsim::test::read_file(fates),
            "packet,direction,seq,fate\n1,in,0,in_flight\n2,out,0,sent\n3,in,1,nic.rx_missed_errors\n"
            ",out,1,qdisc_drop\n");
}

}  // namespace
