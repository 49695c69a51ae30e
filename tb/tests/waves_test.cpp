// Waves, timeline and pcap read back the way a user would: FST through
// fst2vcd, the timeline JSON through a parser, the pcap through libpcap and
// tshark. The assertions are the co-analysis story, not file sizes.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tb/tests/cli_harness.h"

namespace {

using nicsim::test::nicsim_bin;
using nicsim::test::outcome;
using nicsim::test::read_json;
using nicsim::test::sh;
std::string scratch(const std::string& name) { return nicsim::test::scratch_path("waves", name); }

// A VCD as (signal path → [(time_ps, value)]), values as text ("hardirq", "101", "1").
using changes = std::map<std::string, std::vector<std::pair<uint64_t, std::string>>>;
changes parse_vcd(const std::string& text) {
  changes out;
  std::map<std::string, std::string> code_to_path;
  std::vector<std::string> scope;
  std::istringstream in(text);
  std::string line;
  uint64_t t = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tok;
    ls >> tok;
    if (tok == "$scope") {
      std::string kind, name;
      ls >> kind >> name;
      scope.push_back(name);
    } else if (tok == "$upscope") {
      scope.pop_back();
    } else if (tok == "$var") {
      std::string type, width, code, name;
      ls >> type >> width >> code >> name;
      std::string path;
      for (const auto& s : scope) path += s + ".";
      code_to_path.emplace(code, path + name);  // aliases keep their first (outermost) name
    } else if (!tok.empty() && tok[0] == '#') {
      t = std::stoull(tok.substr(1));
    } else if (!tok.empty() && (tok[0] == 'b' || tok[0] == 's')) {
      std::string code;
      ls >> code;
      if (code_to_path.count(code)) out[code_to_path[code]].emplace_back(t, tok.substr(1));
    } else if (!tok.empty() && (tok[0] == '0' || tok[0] == '1' || tok[0] == 'x')) {
      const std::string code = tok.substr(1);
      if (code_to_path.count(code)) out[code_to_path[code]].emplace_back(t, tok.substr(0, 1));
    }
  }
  return out;
}

uint64_t first_time(const changes& c, const std::string& path, uint64_t after,
                    const std::function<bool(const std::string&)>& pred) {
  auto it = c.find(path);
  if (it == c.end()) return UINT64_MAX;
  for (const auto& [t, v] : it->second)
    if (t >= after && pred(v)) return t;
  return UINT64_MAX;
}

bool nonzero_bits(const std::string& v) { return v.find('1') != std::string::npos; }

const std::string burst =
    " --set traffic.pattern=burst --set traffic.burst_frames=16 --set traffic.rate_gbps=0.4"
    " --set traffic.frame_bytes=1024 --set nic.coalesce.rx_usecs=20 --set sim.duration_us=300";

}  // namespace

TEST(waves, fst_shows_timer_then_irq_then_hardirq_then_softirq) {
  const auto fst = scratch("story.fst");
  ASSERT_EQ(sh(nicsim_bin() + " run --quiet --waves " + fst + burst).status, 0);
  const auto vcd = sh("fst2vcd " + fst);
  ASSERT_EQ(vcd.status, 0) << vcd.output;
  const auto c = parse_vcd(vcd.output);
  const uint64_t pending = first_time(c, "nic.moderation.pending", 0, nonzero_bits);
  ASSERT_NE(pending, UINT64_MAX);
  const uint64_t msi = first_time(c, "nic.msi.count", pending, nonzero_bits);
  ASSERT_NE(msi, UINT64_MAX);
  EXPECT_GE(msi, pending + 20'000'000u);  // rx-usecs after the first pending packet
  EXPECT_LT(msi, pending + 21'000'000u);
  const uint64_t hardirq =
      first_time(c, "cpu0.context", msi, [](const std::string& v) { return v == "hardirq"; });
  ASSERT_NE(hardirq, UINT64_MAX);
  EXPECT_GE(hardirq, msi + 250'000u);  // the MSI's flight over the link
  const uint64_t softirq =
      first_time(c, "cpu0.context", hardirq, [](const std::string& v) { return v == "softirq"; });
  ASSERT_NE(softirq, UINT64_MAX);
  EXPECT_GT(softirq, hardirq);
  // The reader wakes after that, and the queue it drains was filled by the softirq.
  const uint64_t queued = first_time(c, "host.sock.udp_9000.rx_queue", softirq, nonzero_bits);
  const uint64_t running = first_time(c, "host.task_state.udp_reader_0", queued,
                                      [](const std::string& v) { return v == "running"; });
  EXPECT_NE(queued, UINT64_MAX);
  EXPECT_NE(running, UINT64_MAX);
  // The verilated block's own signals sit next to it, on the same time base.
  const auto rtl = sh("fst2vcd " + scratch("story.rtl.fst"));
  ASSERT_EQ(rtl.status, 0) << rtl.output;
  const auto r = parse_vcd(rtl.output);
  const uint64_t rtl_irq = first_time(r, "top.nic.moderation.irq", 0, nonzero_bits);
  EXPECT_NE(rtl_irq, UINT64_MAX);
  EXPECT_LE(rtl_irq >= msi ? rtl_irq - msi : msi - rtl_irq, 2u);  // same instant, up to the clock's ps
}

TEST(waves, each_queue_has_its_ring_moderation_vector_cpu_and_napi) {
  // Two queues, their vectors on CPUs 0 and 1; flows 0 and 1 hash to different queues.
  const auto fst = scratch("queues.fst");
  ASSERT_EQ(sh(nicsim_bin() + " run --quiet --waves " + fst + burst +
               " --set host.cpus=2 --set nic.rx_queues=2 --set nic.rx_flow_hash_udp4=sdfn"
               " --set traffic.flows=2 --set app.sockets=2")
                .status,
            0);
  const auto vcd = sh("fst2vcd " + fst);
  ASSERT_EQ(vcd.status, 0) << vcd.output;
  const auto c = parse_vcd(vcd.output);
  for (const std::string q : {"", "1"}) {
    const std::string cpu = q.empty() ? "cpu0" : "cpu1", napi = q.empty() ? "eth0-rx-0" : "eth0-rx-1";
    const uint64_t pending = first_time(c, "nic.moderation" + q + ".pending", 0, nonzero_bits);
    ASSERT_NE(pending, UINT64_MAX) << q;
    const uint64_t hardirq =
        first_time(c, cpu + ".context", pending, [](const std::string& v) { return v == "hardirq"; });
    ASSERT_NE(hardirq, UINT64_MAX) << q;
    EXPECT_GE(hardirq, pending + 20'000'000u) << "rx-usecs, then the vector's flight";
    EXPECT_NE(first_time(c, "host.napi." + napi, hardirq, nonzero_bits), UINT64_MAX) << q;
    EXPECT_NE(first_time(c, "nic.ring" + q + ".rdh", 0, nonzero_bits), UINT64_MAX) << q;
  }
}

TEST(waves, vcd_window_and_groups_keep_only_what_was_asked) {
  const auto vcd = scratch("window.vcd");
  ASSERT_EQ(sh(nicsim_bin() + " run --quiet --waves " + vcd +
               " --waves-from 40 --waves-to 60 --waves-groups nic,wire" + burst)
                .status,
            0);
  std::ifstream in(vcd);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto c = parse_vcd(ss.str());
  ASSERT_FALSE(c.empty());
  for (const auto& [path, v] : c) {
    EXPECT_TRUE(path.rfind("nic.", 0) == 0 || path.rfind("wire.", 0) == 0) << path;
    for (const auto& [t, value] : v) {
      EXPECT_GE(t, 40'000'000u) << path;
      EXPECT_LT(t, 60'000'000u) << path;
    }
  }
  // The window opens with every signal's value, so nothing starts unknown.
  EXPECT_EQ(c.at("nic.ring.rdt").front().first, 40'000'000u);
}

TEST(waves, recording_does_not_change_the_results) {
  const auto plain = scratch("plain.json"), traced = scratch("traced.json");
  const std::string args =
      " --quiet --set traffic.pattern=poisson --set traffic.rate_gbps=2 --set sim.duration_us=1000";
  ASSERT_EQ(sh(nicsim_bin() + " run --json " + plain + args).status, 0);
  ASSERT_EQ(sh(nicsim_bin() + " run --json " + traced + args + " --waves " + scratch("same.fst") +
               " --timeline " + scratch("same.trace.json") + " --pcap " + scratch("same.pcap"))
                .status,
            0);
  EXPECT_EQ(nicsim::test::simulated_results(plain), nicsim::test::simulated_results(traced));
}

// The transmit side (issue 12) in the waves of a UDP_RR run: a response enters the qdisc,
// the driver moves TDT, the NIC fetches the descriptor and reads the data (DMA kinds), the
// frame passes the TX FIFO, and TDH follows; recording it changes no result.
TEST(waves, transmit_side_shows_qdisc_ring_dma_and_fifo_and_changes_no_result) {
  const auto plain = scratch("rr_plain.json"), traced = scratch("rr_traced.json"), vcd = scratch("rr.vcd");
  const std::string args =
      " --quiet --set app.role=echo --set traffic.pattern=rr --set traffic.rr_outstanding=2 --set "
      "sim.duration_us=300";
  ASSERT_EQ(sh(nicsim_bin() + " run --json " + plain + args).status, 0);
  ASSERT_EQ(sh(nicsim_bin() + " run --json " + traced + args + " --waves " + vcd + " --timeline " +
               scratch("rr.trace.json") + " --pcap " + scratch("rr.pcap"))
                .status,
            0);
  EXPECT_EQ(nicsim::test::simulated_results(plain), nicsim::test::simulated_results(traced));
  std::ifstream in(vcd);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto c = parse_vcd(ss.str());
  const uint64_t queued = first_time(c, "host.qdisc.eth0", 0, nonzero_bits);
  const uint64_t tdt = first_time(c, "nic.tx_ring.tdt", 0, nonzero_bits);
  const uint64_t desc_read =
      first_time(c, "nic.dma.kind", 0, [](const std::string& v) { return v == "tx_desc_read"; });
  const uint64_t data = first_time(c, "nic.dma.kind", 0, [](const std::string& v) { return v == "tx_data"; });
  const uint64_t fifo = first_time(c, "nic.tx_fifo.frames", 0, nonzero_bits);
  const uint64_t tdh = first_time(c, "nic.tx_ring.tdh", 0, nonzero_bits);
  for (uint64_t t : {tdt, desc_read, data, fifo, tdh}) ASSERT_NE(t, UINT64_MAX);
  // With two requests in flight a response finds the other one's in the qdisc (an empty
  // qdisc is bypassed) and waits there; a tail write follows once it reaches the driver.
  ASSERT_NE(queued, UINT64_MAX) << "the backlog never showed";
  EXPECT_GT(queued, tdt) << "the first response bypasses the empty qdisc";
  EXPECT_NE(first_time(c, "nic.tx_ring.tdt", queued, nonzero_bits), UINT64_MAX);
  EXPECT_LE(tdt, desc_read);  // the tail write kicks the fetch at once
  EXPECT_LT(desc_read, data);
  EXPECT_LE(data, fifo);
  EXPECT_LE(fifo, tdh);
}

TEST(waves, timeline_flows_end_in_the_reader_and_slices_balance) {
  const auto trace = scratch("timeline.json"), stats = scratch("timeline_stats.json");
  ASSERT_EQ(sh(nicsim_bin() + " run --quiet --json " + stats + " --timeline " + trace +
               " --set sim.duration_us=300")
                .status,
            0);
  const auto t = read_json(trace);
  const auto s = read_json(stats);
  std::map<int, std::string> thread_names;
  std::map<int, int> depth;
  std::map<std::string, int> slice_names;
  int flow_ends = 0, flow_ends_in_reader = 0;
  for (const auto& e : t.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "M" && e.at("name") == "thread_name")
      thread_names[e.at("tid").get<int>()] = e.at("args").at("name");
    if (ph == "B") {
      ++depth[e.at("tid").get<int>()];
      ++slice_names[e.at("name").get<std::string>()];
    }
    if (ph == "E") {
      EXPECT_GE(--depth[e.at("tid").get<int>()], 0);
    }
    if (ph == "f") {
      ++flow_ends;
      if (thread_names[e.at("tid").get<int>()] == "udp_reader/0") ++flow_ends_in_reader;
    }
  }
  for (const auto& [tid, d] : depth) EXPECT_EQ(d, 0) << thread_names[tid];
  EXPECT_EQ(flow_ends, s.at("app").at("messages").get<int>());
  EXPECT_EQ(flow_ends_in_reader, flow_ends);
  for (const char* fn : {"do_IRQ", "e1000_intr", "__do_softirq", "net_rx_action", "e1000_clean", "ip_rcv",
                         "udp_rcv", "recvfrom", "__schedule"})
    EXPECT_GT(slice_names[fn], 0) << fn;
  // Stage latencies add up to the end-to-end mean.
  EXPECT_EQ(s.at("latency_stages_ns").at("frames"), s.at("app").at("messages"));
  double sum = 0;
  for (const auto& [k, v] : s.at("latency_stages_ns").items()) {
    if (k != "frames") sum += v.at("mean").get<double>();
  }
  EXPECT_GT(sum, 0);
}

TEST(waves, pcap_holds_every_wire_frame_with_ns_times_and_fates) {
  const auto pcap_path = scratch("wire.pcap"), stats = scratch("wire_stats.json");
  ASSERT_EQ(sh(nicsim_bin() + " run --quiet --json " + stats + " --pcap " + pcap_path +
               " --set sim.duration_us=300 --set traffic.count=40 --set traffic.dst_port=7777")
                .status,
            0);
  const auto s = read_json(stats);
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(pcap_path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
  pcap_pkthdr* h;
  const u_char* data;
  std::vector<uint64_t> ts;
  std::vector<uint32_t> len;
  while (pcap_next_ex(p, &h, &data) == 1) {
    ts.push_back(static_cast<uint64_t>(h->ts.tv_sec) * 1000000000u + static_cast<uint64_t>(h->ts.tv_usec));
    len.push_back(h->len);
  }
  pcap_close(p);
  // The capture holds both directions (pcapng); the fates CSV says which packet went which way.
  std::ifstream fates(pcap_path + ".fates.csv");
  std::string line;
  std::getline(fates, line);
  EXPECT_EQ(line, "packet,direction,seq,fate");
  std::map<std::string, int> count;
  std::vector<uint64_t> in_ts;
  size_t out = 0;
  while (std::getline(fates, line)) {
    ++count[line.substr(line.rfind(',') + 1)];
    const size_t packet = std::stoul(line.substr(0, line.find(','))) - 1;
    ASSERT_LT(packet, ts.size()) << line;
    if (line.find(",in,") != std::string::npos) {
      EXPECT_EQ(len[packet], 512u - 4u) << line;  // FCS stripped, as captures show frames
      in_ts.push_back(ts[packet]);
    } else {
      ++out;
    }
  }
  ASSERT_EQ(in_ts.size(), s.at("wire").at("frames").get<size_t>());
  ASSERT_EQ(in_ts.size() + out, ts.size());
  // Constant 1 Gb/s of 512-byte frames: 4256 ns apart, to the nanosecond.
  for (size_t i = 1; i < in_ts.size(); ++i) EXPECT_EQ(in_ts[i] - in_ts[i - 1], 4256u) << i;
  EXPECT_EQ(count.at("udp.NoPorts"), s.at("udp").at("NoPorts").get<int>());
  EXPECT_EQ(count.at("udp.NoPorts"), 40);
  // What went out are the host's ICMP port unreachables, each one sent.
  EXPECT_EQ(out, s.at("icmp").at("OutDestUnreachs").get<size_t>());
  EXPECT_EQ(count["sent"], static_cast<int>(out));
  // tshark agrees: the frames are real UDP to the closed port (not the copies ICMP quotes).
  const auto tshark =
      sh("tshark -r " + pcap_path + " -Y 'udp.dstport==7777 && !icmp' -T fields -e frame.number | wc -l");
  ASSERT_EQ(tshark.status, 0);
  EXPECT_EQ(std::stoi(tshark.output.substr(tshark.output.find_last_of('\n', tshark.output.size() - 2) + 1)),
            40);
}

TEST(waves, unwritable_wave_file_is_bad_input_naming_it) {
  const auto o = sh(nicsim_bin() + " run --waves /nonexistent/dir/x.fst");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("/nonexistent/dir/x.fst"), std::string::npos) << o.output;
  const auto bad_ext = sh(nicsim_bin() + " run --waves " + scratch("x.txt"));
  EXPECT_EQ(bad_ext.status, 2);
}

// ---- A full disk (issue 10, item 7): every writer checks its writes and its
// close, and a failed run removes everything it started.

TEST(waves, a_full_disk_fails_the_run_and_leaves_no_output) {
  const auto dir = nicsim::test::scratch_dir("waves", "full_disk");
  for (const char* args : {
           "--waves w.vcd",
           "--waves w.fst --set sim.duration_us=20000",
           "--timeline t.json",
           "--pcap p.pcap",
           "--waves w.fst --timeline t.json --pcap p.pcap --json j.json",
       }) {
    const auto o = nicsim::test::on_small_disk(
        dir, nicsim_bin() + " run --quiet " + std::string(args) + "; echo rc=$?; ls -A");
    if (o.output.rfind(nicsim::test::SMALL_DISK, 0) != 0)
      GTEST_SKIP() << "no tmpfs in a mount namespace here";
    EXPECT_NE(o.output.find("write failed"), std::string::npos) << args << ": " << o.output;
    // The exit status, then what ls found: nothing.
    EXPECT_EQ(o.output.substr(o.output.size() - 5), "rc=1\n") << args << ": " << o.output;
  }
}

// ---- Output size (issue 10, item 15).

TEST(waves, a_large_recording_is_announced_before_it_starts) {
  const auto dir = nicsim::test::scratch_dir("waves", "large");
  // 10 s at 10 Gb/s would take tens of GB; the warning comes before the run, which
  // is stopped (as a user would) and leaves nothing behind.
  const auto o = sh("timeout -s INT 3 " + nicsim_bin() + " run --quiet --set sim.duration_us=10000000" +
                    " --set traffic.rate_gbps=10 --timeline " + dir + "/t.json --pcap " + dir + "/p.pcap");
  EXPECT_NE(o.output.find("nicsim: warning: the trace outputs may take about"), std::string::npos)
      << o.output;
  EXPECT_NE(o.output.find(" GB (timeline "), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("--max-output-mb"), std::string::npos) << o.output;
  EXPECT_EQ(nicsim::test::joined(nicsim::test::dir_entries(dir)), "") << "an interrupted run leaves nothing";
  // Where the disk is smaller than the estimate, the warning says so.
  const auto small = nicsim::test::on_small_disk(dir, nicsim_bin() + " run --quiet --timeline t.json");
  if (small.output.rfind(nicsim::test::SMALL_DISK, 0) != 0)
    GTEST_SKIP() << "no tmpfs in a mount namespace here";
  const auto warned = small.output.find("free in");
  EXPECT_NE(warned, std::string::npos) << small.output;
  EXPECT_LT(warned, small.output.find("write failed")) << small.output;
}

TEST(waves, max_output_mb_stops_recording_cleanly_and_keeps_the_results) {
  const auto dir = nicsim::test::scratch_dir("waves", "cap");
  const std::string args = " --quiet --set sim.duration_us=20000";
  ASSERT_EQ(sh(nicsim_bin() + " run --json " + dir + "/plain.json" + args).status, 0);
  const auto o =
      sh(nicsim_bin() + " run --json " + dir + "/capped.json --waves " + dir + "/w.fst --timeline " + dir +
         "/t.json --pcap " + dir + "/p.pcap --max-output-mb 1" + args);
  ASSERT_EQ(o.status, 0) << o.output;
  auto capped = nicsim::test::simulated_results(dir + "/capped.json");
  const auto rec = capped.at("recording");
  ASSERT_TRUE(rec.at("stopped").get<bool>());
  const uint64_t stopped_ns = rec.at("stopped_at_ns");
  EXPECT_GT(stopped_ns, 0u);
  EXPECT_LT(stopped_ns, 20'000'000u);
  EXPECT_NE(o.output.find("recording stopped at " + std::to_string(stopped_ns / 1000) + " us"),
            std::string::npos)
      << o.output;
  // The simulation itself is the same as without any recording.
  capped.erase("recording");
  EXPECT_EQ(capped, nicsim::test::simulated_results(dir + "/plain.json"));
  // Within the cap, and every file whole: the timeline parses with its slices closed,
  // the pcap reads to its end, the FST converts, all ending where recording stopped.
  uint64_t total = 0;
  for (const char* f : {"w.fst", "t.json", "p.pcap", "p.pcap.fates.csv"})
    total += std::filesystem::file_size(dir + "/" + f);
  EXPECT_LE(total, 1'000'000u);
  EXPECT_GT(total, 500'000u) << "recording went on until near the cap";
  const auto t = read_json(dir + "/t.json");
  std::map<int, int> depth;
  double last_ts = 0;
  for (const auto& e : t.at("traceEvents")) {
    if (e.at("ph") == "B") ++depth[e.at("tid").get<int>()];
    if (e.at("ph") == "E") --depth[e.at("tid").get<int>()];
    if (e.contains("ts")) last_ts = std::max(last_ts, e.at("ts").get<double>());
  }
  for (const auto& [tid, d] : depth) EXPECT_EQ(d, 0) << tid;
  EXPECT_LE(last_ts * 1000, static_cast<double>(stopped_ns) + 1);
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision((dir + "/p.pcap").c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  pcap_pkthdr* h;
  const u_char* data;
  int packets = 0, rc;
  uint64_t last_ns = 0;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    ++packets;
    last_ns = static_cast<uint64_t>(h->ts.tv_sec) * 1000000000u + static_cast<uint64_t>(h->ts.tv_usec);
  }
  pcap_close(p);
  EXPECT_EQ(rc, PCAP_ERROR_BREAK) << "the pcap ends cleanly";
  EXPECT_GT(packets, 0);
  EXPECT_LE(last_ns, stopped_ns);
  std::ifstream fates(dir + "/p.pcap.fates.csv");
  int lines = -1;
  for (std::string line; std::getline(fates, line);) ++lines;
  EXPECT_EQ(lines, packets) << "a fate for each packet recorded";
  const auto vcd = sh("fst2vcd " + dir + "/w.fst | grep '^#' | tail -1");
  ASSERT_EQ(vcd.status, 0) << vcd.output;
  EXPECT_LE(std::stoull(vcd.output.substr(1)), (stopped_ns + 1) * 1000) << vcd.output;  // ns, truncated
}
