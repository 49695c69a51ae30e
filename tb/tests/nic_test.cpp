#include "hw/nic.h"

#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

#include "abi/e1000_hw.h"
#include "hw/intr_moderation_rtl.h"
#include "hw/rx_frontend_rtl.h"
#include "proto/frame.h"
#include "tb/tests/nic_bench_map.h"
#include "tb/tests/rss_reference.h"
#include "tlm/address_router.h"
#include "tlm/host_memory.h"
#include "tlm/payload.h"
#include "tlm/pcie_link.h"

namespace {

namespace regs = nicsim::abi;
namespace proto = nicsim::proto;
using nicsim::hw::nic;
using nicsim::hw::nic_params;
using sc_core::sc_time;

using namespace nicsim::test::nic_bench_map;  // ns, us, bytes, the memory map
constexpr uint8_t UNTOUCHED = 0xEE;           // fill of every buffer before the test

struct transaction_record {
  sc_time at;
  ::tlm::tlm_command cmd;
  uint64_t address;
  bytes data;
  bool dmi_hint = false;  // what the payload said of DMI as it arrived (the tap records it)
};

// A target that records every write; the bench's probe runs at each arrival to
// look at host memory at that instant.
class recording_target : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<recording_target> socket;
  std::vector<transaction_record> log;
  std::function<void()> probe;

  explicit recording_target(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name), socket("socket") {
    socket.register_b_transport(this, &recording_target::b_transport);
  }

 private:
  void b_transport(::tlm::tlm_generic_payload& trans, sc_time& /*delay*/) {
    const uint8_t* data = trans.get_data_ptr();
    log.push_back({sc_core::sc_time_stamp(), trans.get_command(), trans.get_address(),
                   bytes(data, data + trans.get_data_length())});
    if (probe) probe();
    trans.set_response_status(::tlm::TLM_OK_RESPONSE);
  }
};

// Sits between the link and the root complex and logs every upstream TLP in
// arrival order, memory and MSI alike.
class upstream_tap : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<upstream_tap> in;
  tlm_utils::simple_initiator_socket<upstream_tap> out;
  std::vector<transaction_record> log;

  explicit upstream_tap(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name), in("in"), out("out") {
    in.register_b_transport(this, &upstream_tap::b_transport);
  }

 private:
  void b_transport(::tlm::tlm_generic_payload& trans, sc_time& delay) {
    const uint8_t* data = trans.get_data_ptr();
    log.push_back({sc_core::sc_time_stamp(), trans.get_command(), trans.get_address(),
                   trans.is_write() ? bytes(data, data + trans.get_data_length()) : bytes{},
                   trans.is_dmi_allowed()});
    out->b_transport(trans, delay);
  }
};

// The NIC with host memory and an MSI target behind a PCIe link, its BAR0
// driven straight from the testbench thread, which plays the driver.
class nic_bench : public sc_core::sc_module {
 public:
  using stimulus_fn = std::function<void(nic_bench&)>;

  SC_HAS_PROCESS(nic_bench);

  nic_bench(const sc_core::sc_module_name& name, const nic_params& params, stimulus_fn stimulus)
      : sc_core::sc_module(name),
        mem("mem", 1 << 20, ns(60)),
        link("link", test_link()),
        tap("tap"),
        root_complex("root_complex"),
        msi("msi"),
        bar_sink("bar_sink"),
        dut("nic", params),
        mmio("mmio"),
        cpu_link("cpu_link"),
        m_stimulus(std::move(stimulus)) {
    dut.dma.bind(link.up_in);
    link.up_out.bind(tap.in);
    tap.out.bind(root_complex.in);
    root_complex.map(mem.socket, 0, mem.size(), "host memory");
    root_complex.map(msi.socket, MSI_BASE, MSI_SIZE, "MSI");
    mmio.bind(dut.mmio);
    cpu_link.bind(link.down_in);
    link.down_out.bind(bar_sink.socket);
    std::fill_n(mem.ptr(BUFFER_BASE, 64 * BUFFER_SIZE), 64 * BUFFER_SIZE, UNTOUCHED);
    SC_THREAD(run);
  }

  static nicsim::tlm::link_params test_link() {
    nicsim::tlm::link_params p;
    p.gbps = 8.0;
    p.latency = ns(100);
    return p;
  }

  ::tlm::tlm_response_status access(::tlm::tlm_command cmd, uint64_t offset, uint8_t* data, unsigned len) {
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, cmd, offset, data, len);
    sc_time delay = sc_core::SC_ZERO_TIME;
    mmio->b_transport(t, delay);
    return t.get_response_status();
  }
  void write_reg(uint32_t offset, uint32_t v) {
    uint8_t data[4];
    std::memcpy(data, &v, 4);
    ASSERT_EQ(access(::tlm::TLM_WRITE_COMMAND, offset, data, 4), ::tlm::TLM_OK_RESPONSE) << offset;
  }
  uint32_t read_reg(uint32_t offset) {
    uint8_t data[4] = {};
    EXPECT_EQ(access(::tlm::TLM_READ_COMMAND, offset, data, 4), ::tlm::TLM_OK_RESPONSE) << offset;
    uint32_t v = 0;
    std::memcpy(&v, data, 4);
    return v;
  }
  // The debug path: no time passes and no side effects; returns the bytes transferred.
  unsigned debug(::tlm::tlm_command cmd, uint64_t offset, void* data, unsigned len) {
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, cmd, offset, data, len);
    return mmio->transport_dbg(t);
  }
  uint32_t peek(uint32_t offset) {
    uint32_t v = 0;
    EXPECT_EQ(debug(::tlm::TLM_READ_COMMAND, offset, &v, 4), 4u) << offset;
    return v;
  }
  // Every register of BAR0 as the debug path reads it.
  std::map<uint32_t, uint32_t> snapshot() {
    std::map<uint32_t, uint32_t> words;
    for (uint32_t offset = 0; offset < regs::BAR0_SIZE; offset += 4) {
      uint32_t v = 0;
      if (debug(::tlm::TLM_READ_COMMAND, offset, &v, 4) == 4) words[offset] = v;
    }
    return words;
  }

  uint8_t* ring(unsigned q = 0) { return mem.ptr(RING_BASE + 0x100 * q, 0x1000); }
  regs::e1000_rx_desc desc(unsigned i) { return regs::read_desc<regs::e1000_rx_desc>(ring(), i); }
  uint8_t* buffer(unsigned i) { return mem.ptr(BUFFER_BASE + i * BUFFER_SIZE, BUFFER_SIZE); }
  uint8_t status(unsigned i) { return desc(i).status; }
  uint16_t length(unsigned i) { return desc(i).length; }
  uint64_t buffer_addr(unsigned i) { return desc(i).buffer_addr; }
  // The driver's refill: a fresh descriptor pointing at buffer i.
  void give(unsigned i) {
    regs::e1000_rx_desc d{};
    d.buffer_addr = BUFFER_BASE + i * BUFFER_SIZE;
    regs::write_desc(ring(), i, d);
  }

  // Programs a ring of n descriptors as the driver's open does, leaving RDT at 0
  // (no descriptor handed to the NIC yet).
  void setup(unsigned n, uint32_t rctl = regs::RCTL_EN | regs::RCTL_SECRC) {
    for (unsigned i = 0; i < n; ++i) give(i);
    write_reg(regs::RDBAL, static_cast<uint32_t>(RING_BASE));
    write_reg(regs::RDBAH, 0);
    write_reg(regs::RDLEN, n * regs::RX_DESC_SIZE);
    write_reg(regs::RDH, 0);
    write_reg(regs::RDT, 0);
    write_reg(regs::MSI_ADDR_LO, static_cast<uint32_t>(MSI_BASE));
    write_reg(regs::MSI_ADDR_HI, 0);
    write_reg(regs::MSI_DATA, MSI_VECTOR);
    write_reg(regs::RXC_USECS, 0);
    write_reg(regs::IMS, regs::IMS_ENABLE_MASK);
    write_reg(regs::RCTL, rctl);
  }

  // ---- multi-queue: queue q's ring of up to 8 descriptors at RING_BASE + q * 0x100,
  // over buffers 8q .. 8q + 7.
  static constexpr unsigned Q_RING = 8;
  regs::e1000_rx_desc qdesc(unsigned q, unsigned i) {
    return regs::read_desc<regs::e1000_rx_desc>(ring(q), i);
  }
  uint8_t* qbuffer(unsigned q, unsigned i) { return buffer(Q_RING * q + i); }
  // Programs queues as igb's open does: rings (no descriptor handed over yet), MSI-X
  // vector q at APIC q with vector MSI_VECTOR + q, auto-clear and auto-mask, RSS with
  // the default key and RETA[i] = i % queues, all causes enabled.
  void setup_queues(unsigned queues, uint32_t mrqc, uint32_t eims = ~0u) {
    for (unsigned q = 0; q < queues; ++q) {
      const uint32_t base = regs::RXQ_BASE(q);
      for (unsigned i = 0; i < Q_RING; ++i) {
        regs::e1000_rx_desc d{};
        d.buffer_addr = BUFFER_BASE + (Q_RING * q + i) * BUFFER_SIZE;
        regs::write_desc(ring(q), i, d);
      }
      write_reg(base + regs::RDBAL_OFF, static_cast<uint32_t>(RING_BASE + 0x100 * q));
      write_reg(base + regs::RDBAH_OFF, 0);
      write_reg(base + regs::RDLEN_OFF, Q_RING * regs::RX_DESC_SIZE);
      write_reg(base + regs::RDH_OFF, 0);
      write_reg(base + regs::RDT_OFF, 0);
      const uint32_t entry = regs::MSIX_TABLE + regs::MSIX_ENTRY_SIZE * q;
      write_reg(entry + 0, static_cast<uint32_t>(MSI_BASE | q << 12));
      write_reg(entry + 4, 0);
      write_reg(entry + 8, MSI_VECTOR + q);
      write_reg(entry + 12, 0);
    }
    const uint32_t all = (1u << queues) - 1;
    write_reg(regs::GPIE, regs::GPIE_MSIX_MODE | regs::GPIE_EIAME);
    write_reg(regs::EIAC, all);
    write_reg(regs::EIAM, all);
    write_key(nicsim::hw::rss_default_key);
    for (unsigned i = 0; i < regs::RETA_ENTRIES; ++i) set_reta(i, i % queues);
    write_reg(regs::MRQC, mrqc);
    write_reg(regs::RXC_USECS, 0);
    write_reg(regs::EIMS, all & eims);
    write_reg(regs::RCTL, regs::RCTL_EN | regs::RCTL_SECRC);
  }
  void write_key(const std::array<uint8_t, 40>& key) {
    for (unsigned i = 0; i < 10; ++i) {
      uint32_t v = 0;
      for (unsigned b = 0; b < 4; ++b) v |= uint32_t{key[4 * i + b]} << (8 * b);
      write_reg(regs::RSSRK_BASE + 4 * i, v);
    }
  }
  void set_reta(unsigned entry, unsigned queue) {
    const uint32_t off = regs::RETA_BASE + 4 * (entry / 4);
    const unsigned shift = 8 * (entry % 4);
    write_reg(off, (read_reg(off) & ~(0xFFu << shift)) | queue << shift);
  }
  void hand_over(unsigned q, unsigned rdt) { write_reg(regs::RXQ_BASE(q) + regs::RDT_OFF, rdt); }
  // Every queue gets all but one of its descriptors.
  void hand_over_all(unsigned queues) {
    for (unsigned q = 0; q < queues; ++q) hand_over(q, Q_RING - 1);
  }
  // Messages that arrived for queue q's vector (address APIC q, data MSI_VECTOR + q).
  unsigned msix_count(unsigned q) {
    unsigned n = 0;
    for (const auto& m : msi.log) {
      uint32_t data = 0;
      std::memcpy(&data, m.data.data(), 4);
      if (m.address == uint64_t{q} << 12 && data == MSI_VECTOR + q) ++n;
    }
    return n;
  }
  static proto::wire_frame flow_frame(uint32_t seq, uint16_t sport, uint16_t dport,
                                      size_t frame_bytes = 128) {
    proto::udp_flow flow;
    flow.src_port = sport;
    flow.dst_port = dport;
    proto::wire_frame f;
    f.id = seq;
    f.bytes = proto::build_udp_frame(flow, frame_bytes, {seq, 0});
    return f;
  }

  static proto::wire_frame frame(uint32_t seq, size_t frame_bytes) {
    proto::wire_frame f;
    f.id = seq;
    f.bytes = proto::build_udp_frame({}, frame_bytes, {seq, 0});
    return f;
  }

  void wait_for(sc_time t) { sc_core::wait(t); }

  nicsim::tlm::host_memory mem;
  nicsim::tlm::pcie_link link;
  upstream_tap tap;
  nicsim::tlm::address_router root_complex;
  recording_target msi;
  recording_target bar_sink;
  nic dut;
  tlm_utils::simple_initiator_socket<nic_bench> mmio;
  tlm_utils::simple_initiator_socket<nic_bench> cpu_link;  // unused: the testbench bypasses the link for MMIO

 private:
  void run() { m_stimulus(*this); }

  stimulus_fn m_stimulus;
};

bytes span(const uint8_t* p, size_t len) { return bytes(p, p + len); }

// --------------------------------------------------------------- receive path

TEST(nic_test, received_frame_lands_in_buffer_without_fcs) {
  const proto::wire_frame f = nic_bench::frame(1, 200);
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    b.dut.mac_rx(f);
    b.wait_for(us(10));

    EXPECT_EQ(span(b.buffer(0), 196), span(f.bytes.data(), 196));
    EXPECT_EQ(b.buffer(0)[196], UNTOUCHED) << "the FCS is stripped with SECRC";
    EXPECT_EQ(b.length(0), 196);
    EXPECT_EQ(b.status(0) & (regs::RXD_STAT_DD | regs::RXD_STAT_EOP), regs::RXD_STAT_DD | regs::RXD_STAT_EOP);
    EXPECT_EQ(b.buffer_addr(0), BUFFER_BASE);
    EXPECT_EQ(b.status(1), 0) << "only one descriptor is used";
    EXPECT_EQ(b.buffer(1)[0], UNTOUCHED);
    EXPECT_EQ(b.read_reg(regs::RDH), 1u);
    EXPECT_EQ(b.read_reg(regs::GPRC), 1u);
    EXPECT_EQ(b.read_reg(regs::GPRC), 0u) << "GPRC is read to clear";
  });
  sc_core::sc_start(us(20));

  EXPECT_EQ(bench.dut.stats().rx_packets, 1u);
  EXPECT_EQ(bench.dut.stats().rx_bytes, 196u);
  EXPECT_EQ(bench.dut.stats().frames_in, 1u);
  EXPECT_EQ(bench.dut.frames_held(), 0u);
  EXPECT_EQ(bench.dut.fifo_bytes_used(), 0u);
}

TEST(nic_test, frame_keeps_fcs_without_secrc) {
  const proto::wire_frame f = nic_bench::frame(2, 100);
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8, regs::RCTL_EN);
    b.write_reg(regs::RDT, 1);
    b.dut.mac_rx(f);
    b.wait_for(us(10));

    EXPECT_EQ(b.length(0), 100);
    EXPECT_EQ(span(b.buffer(0), 100), f.bytes);
    EXPECT_EQ(b.buffer(0)[100], UNTOUCHED);
  });
  sc_core::sc_start(us(20));
  EXPECT_EQ(bench.dut.stats().rx_bytes, 100u);
}

TEST(nic_test, frame_above_mps_lands_whole) {
  const proto::wire_frame f = nic_bench::frame(3, 1518);
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 1);
    b.dut.mac_rx(f);
    b.wait_for(us(20));

    EXPECT_EQ(b.length(0), 1514);
    EXPECT_EQ(span(b.buffer(0), 1514), span(f.bytes.data(), 1514));
    EXPECT_EQ(b.buffer(0)[1514], UNTOUCHED);
  });
  sc_core::sc_start(us(30));
  EXPECT_EQ(bench.dut.stats().rx_packets, 1u);
}

TEST(nic_test, frames_fill_consecutive_descriptors_in_order) {
  std::vector<proto::wire_frame> frames;
  for (uint32_t k = 0; k < 5; ++k) frames.push_back(nic_bench::frame(k, 64 + 50 * k));
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    for (const auto& f : frames) b.dut.mac_rx(f);  // back to back
    b.wait_for(us(20));

    for (unsigned k = 0; k < 5; ++k) {
      const size_t len = frames[k].bytes.size() - proto::ETH_FCS_LEN;
      EXPECT_EQ(b.length(k), len) << k;
      EXPECT_TRUE(b.status(k) & regs::RXD_STAT_DD) << k;
      EXPECT_EQ(span(b.buffer(k), len), span(frames[k].bytes.data(), len)) << k;
    }
    EXPECT_EQ(b.status(5), 0);
    EXPECT_EQ(b.read_reg(regs::RDH), 5u);
  });
  sc_core::sc_start(us(30));
  EXPECT_EQ(bench.dut.stats().rx_packets, 5u);
  // Batches of desc_fetch_batch = 4: descriptors 0-3, then 4-6 (RDT = 7).
  EXPECT_EQ(bench.dut.stats().rx_desc_fetches, 2u);
}

// The DMA engine reuses its generic payloads: each descriptor fetch still reaches the host as
// a new transaction, without the DMI hint host memory gave the last one.
TEST(nic_test, descriptor_fetches_arrive_without_the_last_answers_dmi_hint) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    for (uint32_t k = 0; k < 6; ++k) b.dut.mac_rx(nic_bench::frame(k, 64));
    b.wait_for(us(20));
  });
  sc_core::sc_start(us(30));
  unsigned reads = 0;
  for (const auto& t : bench.tap.log) {
    if (t.cmd != ::tlm::TLM_READ_COMMAND) continue;
    ++reads;
    EXPECT_FALSE(t.dmi_hint) << "read at " << t.at;
  }
  EXPECT_EQ(reads, bench.dut.stats().rx_desc_fetches);
  EXPECT_GE(reads, 2u);
}

TEST(nic_test, ring_wraps_while_driver_returns_descriptors) {
  constexpr unsigned ring = 8;
  constexpr uint32_t count = 20;
  std::vector<uint32_t> seen;        // frame seq found at each clean, in order
  std::vector<unsigned> cleaned_at;  // ring index of each clean
  bool all_bytes_right = true;
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(ring);
    b.write_reg(regs::RDT, ring - 1);
    sc_core::sc_spawn([&b] {
      for (uint32_t k = 0; k < count; ++k) {
        b.dut.mac_rx(nic_bench::frame(k, 128 + k));
        sc_core::wait(us(1));
      }
    });
    unsigned next_to_clean = 0;
    for (int polls = 0; polls < 10000 && seen.size() < count; ++polls) {
      b.wait_for(ns(200));
      while (b.status(next_to_clean) & regs::RXD_STAT_DD) {
        const auto seq = static_cast<uint32_t>(seen.size());
        const size_t len = 128 + seq - proto::ETH_FCS_LEN;
        const proto::wire_frame want = nic_bench::frame(seq, 128 + seq);
        all_bytes_right = all_bytes_right && b.length(next_to_clean) == len &&
                          span(b.buffer(next_to_clean), len) == span(want.bytes.data(), len);
        proto::payload_stamp stamp;
        if (proto::read_payload_stamp(b.buffer(next_to_clean) + 42, len - 42, &stamp))
          seen.push_back(stamp.seq);
        else
          seen.push_back(~0u);
        cleaned_at.push_back(next_to_clean);
        // Refill the cleaned slot and hand it back: it becomes the ring's one empty slot.
        b.give(next_to_clean);
        b.write_reg(regs::RDT, next_to_clean);
        next_to_clean = (next_to_clean + 1) % ring;
      }
    }
    EXPECT_EQ(b.read_reg(regs::RDH), count % ring);
  });
  sc_core::sc_start(us(100));

  std::vector<uint32_t> want_seq(count);
  std::vector<unsigned> want_index(count);
  for (uint32_t k = 0; k < count; ++k) {
    want_seq[k] = k;
    want_index[k] = k % ring;
  }
  EXPECT_EQ(seen, want_seq);
  EXPECT_EQ(cleaned_at, want_index);
  EXPECT_TRUE(all_bytes_right);
  EXPECT_EQ(bench.dut.stats().rx_packets, count);
  EXPECT_EQ(bench.dut.rdh(), count % ring);
  EXPECT_EQ(bench.dut.stats().rx_missed_errors, 0u);
}

TEST(nic_test, frame_without_free_descriptor_waits_in_fifo_until_tail_write) {
  const proto::wire_frame f = nic_bench::frame(4, 300);
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);  // RDT = RDH: nothing for the NIC
    b.dut.mac_rx(f);
    b.wait_for(us(10));

    EXPECT_EQ(b.status(0), 0);
    EXPECT_EQ(b.buffer(0)[0], UNTOUCHED);
    EXPECT_EQ(b.dut.frames_held(), 1u);
    EXPECT_EQ(b.dut.fifo_bytes_used(), 300u);
    EXPECT_EQ(b.dut.stats().rx_no_buffer_count, 1u);
    EXPECT_EQ(b.read_reg(regs::RNBC), 1u);
    EXPECT_EQ(b.read_reg(regs::RNBC), 0u);

    b.write_reg(regs::RDT, 1);
    b.wait_for(us(10));
    EXPECT_TRUE(b.status(0) & regs::RXD_STAT_DD);
    EXPECT_EQ(span(b.buffer(0), 296), span(f.bytes.data(), 296));
    EXPECT_EQ(b.dut.frames_held(), 0u);
    EXPECT_EQ(b.dut.fifo_bytes_used(), 0u);
  });
  sc_core::sc_start(us(30));

  EXPECT_EQ(bench.dut.stats().rx_packets, 1u);
  EXPECT_EQ(bench.dut.stats().rx_no_buffer_count, 1u) << "one frame, counted once however long it waits";
  EXPECT_EQ(bench.dut.stats().rx_missed_errors, 0u);
}

TEST(nic_test, receiver_disabled_holds_frames_until_enabled) {
  const proto::wire_frame f = nic_bench::frame(5, 64);
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8, 0);
    b.write_reg(regs::RDT, 7);
    b.dut.mac_rx(f);
    b.wait_for(us(10));
    EXPECT_EQ(b.status(0), 0);

    b.write_reg(regs::RCTL, regs::RCTL_EN | regs::RCTL_SECRC);
    b.wait_for(us(10));
    EXPECT_TRUE(b.status(0) & regs::RXD_STAT_DD);
  });
  sc_core::sc_start(us(30));
  EXPECT_EQ(bench.dut.stats().rx_packets, 1u);
}

TEST(nic_test, fifo_overflow_counts_exactly_the_frames_that_do_not_fit) {
  constexpr size_t frame_bytes = 128;
  constexpr uint64_t fifo = 1000;  // room for 7 frames of 128
  constexpr uint32_t sent = 12;
  nic_params params;
  params.rx_fifo_bytes = fifo;
  nic_bench bench("bench", params, [&](nic_bench& b) {
    b.setup(8);  // no descriptors: nothing drains
    for (uint32_t k = 0; k < sent; ++k) b.dut.mac_rx(nic_bench::frame(k, frame_bytes));
    b.wait_for(us(10));

    EXPECT_EQ(b.read_reg(regs::MPC), sent - fifo / frame_bytes);
    EXPECT_EQ(b.read_reg(regs::MPC), 0u) << "MPC is read to clear";
    EXPECT_TRUE(b.read_reg(regs::ICR) & regs::ICR_RXO);

    // The frames that fit all land once descriptors come.
    b.write_reg(regs::RDT, 7);
    b.wait_for(us(20));
    for (unsigned k = 0; k < 7; ++k) EXPECT_TRUE(b.status(k) & regs::RXD_STAT_DD) << k;
  });
  sc_core::sc_start(us(50));

  EXPECT_EQ(bench.dut.stats().rx_missed_errors, sent - fifo / frame_bytes);
  EXPECT_EQ(bench.dut.stats().rx_packets, fifo / frame_bytes);
  EXPECT_EQ(bench.dut.stats().frames_in, sent);
}

TEST(nic_test, bad_fcs_frame_is_counted_and_never_dma_written) {
  proto::wire_frame bad = nic_bench::frame(6, 128);
  bad.bytes[50] ^= 0x04;
  const proto::wire_frame good = nic_bench::frame(7, 128);
  uint64_t memory_writes_after_bad = ~uint64_t{0};
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    b.dut.mac_rx(bad);
    b.wait_for(us(10));

    memory_writes_after_bad = b.mem.writes();
    EXPECT_EQ(b.status(0), 0);
    EXPECT_EQ(b.buffer(0)[0], UNTOUCHED);
    EXPECT_EQ(b.dut.frames_held(), 0u);
    EXPECT_EQ(b.read_reg(regs::CRCERRS), 1u);
    EXPECT_EQ(b.read_reg(regs::CRCERRS), 0u);
    EXPECT_EQ(b.read_reg(regs::RDH), 0u);

    b.dut.mac_rx(good);  // takes the descriptor the bad frame did not
    b.wait_for(us(10));
    EXPECT_EQ(span(b.buffer(0), 124), span(good.bytes.data(), 124));
  });
  sc_core::sc_start(us(30));

  EXPECT_EQ(memory_writes_after_bad, 0u);
  EXPECT_EQ(bench.dut.stats().rx_crc_errors, 1u);
  EXPECT_EQ(bench.dut.stats().rx_packets, 1u);
  EXPECT_EQ(bench.dut.stats().frames_in, 2u);
}

// ------------------------------------------------------------------ registers

TEST(nic_test, icr_read_clears_causes) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.write_reg(regs::ICS, regs::ICR_RXO | regs::ICR_RXDMT0);
    EXPECT_EQ(b.read_reg(regs::ICR), regs::ICR_RXO | regs::ICR_RXDMT0);
    EXPECT_EQ(b.read_reg(regs::ICR), 0u);

    b.write_reg(regs::ICS, regs::ICR_RXO | regs::ICR_RXDMT0);
    b.write_reg(regs::ICR, regs::ICR_RXO);  // write one to clear
    EXPECT_EQ(b.read_reg(regs::ICS), regs::ICR_RXDMT0);
  });
  sc_core::sc_start(us(1));
}

TEST(nic_test, icr_reports_receive_after_write_back) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    EXPECT_EQ(b.read_reg(regs::ICR), 0u);
    b.dut.mac_rx(nic_bench::frame(1, 64));
    b.wait_for(us(10));
    EXPECT_EQ(b.read_reg(regs::ICR), regs::ICR_RXT0);
    EXPECT_EQ(b.read_reg(regs::ICR), 0u);
  });
  sc_core::sc_start(us(20));
}

TEST(nic_test, registers_read_back_with_reserved_bits_dropped) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.write_reg(regs::RDBAL, 0x1234567F);
    EXPECT_EQ(b.read_reg(regs::RDBAL), 0x12345670u);
    b.write_reg(regs::RDBAH, 0xABCD);
    EXPECT_EQ(b.read_reg(regs::RDBAH), 0xABCDu);
    b.write_reg(regs::RDLEN, 0x0000107F);
    EXPECT_EQ(b.read_reg(regs::RDLEN), 0x1000u);
    b.write_reg(regs::RXC_USECS, 0x12345);
    EXPECT_EQ(b.read_reg(regs::RXC_USECS), 0x2345u);
    b.write_reg(regs::MSI_DATA, 0x4455);
    EXPECT_EQ(b.read_reg(regs::MSI_DATA), 0x4455u);
    b.write_reg(regs::CTRL, 0xCAFE);
    EXPECT_EQ(b.read_reg(regs::CTRL), 0xCAFEu);
    EXPECT_EQ(b.read_reg(regs::STATUS) & 0x2, 0x2u) << "link up";
    b.write_reg(regs::IMS, regs::ICR_RXT0);
    b.write_reg(regs::IMS, regs::ICR_RXO);
    EXPECT_EQ(b.read_reg(regs::IMS), regs::ICR_RXT0 | regs::ICR_RXO);
    b.write_reg(regs::IMC, regs::ICR_RXT0);
    EXPECT_EQ(b.read_reg(regs::IMS), regs::ICR_RXO);
  });
  sc_core::sc_start(us(1));
}

TEST(nic_test, rdt_wraps_modulo_ring_size) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 9);
    EXPECT_EQ(b.read_reg(regs::RDT), 1u);
  });
  sc_core::sc_start(us(1));
}

TEST(nic_test, unmapped_register_answers_address_error) {
  std::vector<::tlm::tlm_response_status> results;
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    uint8_t data[4] = {};
    results.push_back(b.access(::tlm::TLM_READ_COMMAND, 0x0004, data, 4));
    results.push_back(b.access(::tlm::TLM_WRITE_COMMAND, 0x2824, data, 4));
    results.push_back(b.access(::tlm::TLM_READ_COMMAND, regs::BAR0_SIZE - 4, data, 4));
  });
  sc_core::sc_start(us(1));

  EXPECT_EQ(results, std::vector<::tlm::tlm_response_status>(3, ::tlm::TLM_ADDRESS_ERROR_RESPONSE));
}

TEST(nic_test, misaligned_or_narrow_register_access_answers_burst_error) {
  std::vector<::tlm::tlm_response_status> results;
  uint32_t rctl_after = ~0u;
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    uint8_t data[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    results.push_back(b.access(::tlm::TLM_WRITE_COMMAND, regs::RCTL + 2, data, 4));
    results.push_back(b.access(::tlm::TLM_WRITE_COMMAND, regs::RCTL, data, 2));
    results.push_back(b.access(::tlm::TLM_READ_COMMAND, regs::RCTL, data, 1));
    results.push_back(b.access(::tlm::TLM_WRITE_COMMAND, regs::RCTL, data, 8));
    rctl_after = b.read_reg(regs::RCTL);
  });
  sc_core::sc_start(us(1));

  EXPECT_EQ(results, std::vector<::tlm::tlm_response_status>(4, ::tlm::TLM_BURST_ERROR_RESPONSE));
  EXPECT_EQ(rctl_after, 0u) << "a refused write changes nothing";
}

// ------------------------------------------------------------------ interrupt

TEST(nic_test, msi_arrives_after_descriptor_write_back) {
  std::vector<uint8_t> status_at_msi;
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.msi.probe = [&b, &status_at_msi] { status_at_msi.push_back(b.status(0)); };
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    b.dut.mac_rx(nic_bench::frame(9, 256));
    b.wait_for(us(10));
  });
  sc_core::sc_start(us(20));

  ASSERT_EQ(bench.msi.log.size(), 1u);
  const auto& msi = bench.msi.log[0];
  EXPECT_EQ(msi.address, 0u) << "the root complex makes the address relative to the MSI window";
  ASSERT_EQ(msi.data.size(), 4u);
  uint32_t vector = 0;
  std::memcpy(&vector, msi.data.data(), 4);
  EXPECT_EQ(vector, MSI_VECTOR);
  ASSERT_EQ(status_at_msi.size(), 1u);
  EXPECT_TRUE(status_at_msi[0] & regs::RXD_STAT_DD) << "the MSI must not overtake the write-back";
  EXPECT_EQ(bench.dut.stats().interrupts, 1u);

  // Upstream order: descriptor fetch, frame data, descriptor write-back, MSI.
  const auto& up = bench.tap.log;
  ASSERT_GE(up.size(), 4u);
  EXPECT_EQ(up.front().cmd, ::tlm::TLM_READ_COMMAND);
  EXPECT_EQ(up.front().address, RING_BASE);
  EXPECT_EQ(up.back().address, MSI_BASE);
  const auto& write_back = up[up.size() - 2];
  EXPECT_EQ(write_back.cmd, ::tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(write_back.address, RING_BASE);
  EXPECT_LE(write_back.at, msi.at);
  for (size_t k = 1; k + 2 < up.size(); ++k) {
    EXPECT_EQ(up[k].cmd, ::tlm::TLM_WRITE_COMMAND) << k;
    EXPECT_GE(up[k].address, BUFFER_BASE) << k;
    EXPECT_LT(up[k].address, BUFFER_BASE + BUFFER_SIZE) << k;
  }
}

TEST(nic_test, msi_per_frame_with_zero_rx_usecs) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    for (uint32_t k = 0; k < 3; ++k) {
      b.dut.mac_rx(nic_bench::frame(k, 64));
      b.wait_for(us(5));
    }
  });
  sc_core::sc_start(us(20));

  EXPECT_EQ(bench.msi.log.size(), 3u);
  EXPECT_EQ(bench.dut.stats().interrupts, 3u);
}

TEST(nic_test, rx_usecs_delays_msi_from_first_write_back) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RXC_USECS, 10);
    b.write_reg(regs::RDT, 7);
    for (uint32_t k = 0; k < 3; ++k) {
      b.dut.mac_rx(nic_bench::frame(k, 64));
      b.wait_for(us(1));
    }
  });
  sc_core::sc_start(us(30));

  ASSERT_EQ(bench.msi.log.size(), 1u);
  sc_time first_write_back = sc_core::SC_ZERO_TIME;
  for (const auto& t : bench.tap.log) {
    if (t.cmd == ::tlm::TLM_WRITE_COMMAND && t.address == RING_BASE) {
      first_write_back = t.at;
      break;
    }
  }
  ASSERT_GT(first_write_back, sc_core::SC_ZERO_TIME);
  // The timer starts when the write-back has left (its arrival less the flight);
  // the MSI then takes its own 4 + 24 bytes and the flight.
  EXPECT_EQ(bench.msi.log[0].at, first_write_back - ns(100) + us(10) + ns(28 + 100));
  EXPECT_EQ(bench.dut.stats().rx_packets, 3u);
}

TEST(nic_test, rx_frames_sends_msi_at_frame_count) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RXC_USECS, 1000);
    b.write_reg(regs::RXC_FRAMES, 2);
    b.write_reg(regs::RDT, 7);
    b.dut.mac_rx(nic_bench::frame(0, 64));
    b.wait_for(us(5));
    EXPECT_TRUE(b.msi.log.empty()) << "one frame of two";
    b.dut.mac_rx(nic_bench::frame(1, 64));
    b.wait_for(us(5));
    EXPECT_EQ(b.msi.log.size(), 1u);
  });
  sc_core::sc_start(us(20));
  EXPECT_EQ(bench.dut.stats().interrupts, 1u);
}

TEST(nic_test, masked_receive_interrupt_fires_on_unmask) {
  sc_time unmasked_at;
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::IMC, regs::ICR_RXT0);
    b.write_reg(regs::RDT, 7);
    b.dut.mac_rx(nic_bench::frame(1, 64));
    b.wait_for(us(10));
    EXPECT_TRUE(b.status(0) & regs::RXD_STAT_DD);
    EXPECT_TRUE(b.msi.log.empty()) << "masked";

    unmasked_at = sc_core::sc_time_stamp();
    b.write_reg(regs::IMS, regs::ICR_RXT0);
  });
  sc_core::sc_start(us(20));

  ASSERT_EQ(bench.msi.log.size(), 1u);
  EXPECT_GT(bench.msi.log[0].at, unmasked_at);
}

TEST(nic_test, ics_with_enabled_cause_sends_msi) {
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::IMC, ~0u);
    b.write_reg(regs::ICS, regs::ICR_RXO);
    b.wait_for(us(1));
    EXPECT_TRUE(b.msi.log.empty()) << "cause not enabled";
    b.write_reg(regs::IMS, regs::ICR_RXO);
    b.write_reg(regs::ICS, regs::ICR_RXO);
  });
  sc_core::sc_start(us(5));

  EXPECT_EQ(bench.msi.log.size(), 1u);
}

// ---------------------------------------------------------------- multi-queue

constexpr uint32_t MRQC_RSS_ALL = regs::MRQC_ENABLE_RSS | regs::MRQC_RSS_FIELD_IPV4 |
                                  regs::MRQC_RSS_FIELD_IPV4_TCP | regs::MRQC_RSS_FIELD_IPV4_UDP;

// Where RSS must send a UDP flow from the default udp_flow addresses: RETA[hash & 127].
unsigned expected_queue(const std::array<uint8_t, 40>& key, uint16_t sport, uint16_t dport, unsigned queues,
                        bool l4 = true) {
  const proto::udp_flow flow;
  const auto input = l4 ? nicsim::test::rss_input(flow.src_ip, flow.dst_ip, sport, dport)
                        : nicsim::test::rss_input(flow.src_ip, flow.dst_ip);
  return (nicsim::test::toeplitz(key, input) & 127) % queues;
}

nic_params queues(unsigned n) {
  nic_params p;
  p.rx_queues = n;
  return p;
}

// Queue q's ring holds exactly these frames, in order (FCS stripped), and nothing after them.
void expect_ring_holds(nic_bench& b, unsigned q, const std::vector<proto::wire_frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto slot = static_cast<unsigned>(i);
    const size_t len = frames[i].bytes.size() - proto::ETH_FCS_LEN;
    EXPECT_TRUE(b.qdesc(q, slot).status & regs::RXD_STAT_DD) << q << "/" << i;
    EXPECT_EQ(span(b.qbuffer(q, slot), len), span(frames[i].bytes.data(), len)) << q << "/" << i;
  }
  EXPECT_EQ(b.qdesc(q, static_cast<unsigned>(frames.size())).status, 0) << q;
  EXPECT_EQ(b.read_reg(regs::RXQ_BASE(q) + regs::RDH_OFF), frames.size()) << q;
}

TEST(nic_test, rss_sends_each_flow_to_the_queue_reta_names_and_its_vector) {
  constexpr unsigned Q = 4;
  constexpr unsigned N = 16;
  // Source ports picked by the reference hash so that each queue gets four flows.
  std::vector<uint16_t> sport;
  std::vector<std::vector<uint32_t>> per_queue(Q);
  for (uint16_t p = 40000; sport.size() < N; ++p) {
    const unsigned q = expected_queue(nicsim::hw::rss_default_key, p, 9000, Q);
    if (per_queue[q].size() == N / Q) continue;
    per_queue[q].push_back(static_cast<uint32_t>(sport.size()));
    sport.push_back(p);
  }

  nic_bench bench("bench", queues(Q), [&](nic_bench& b) {
    b.setup_queues(Q, MRQC_RSS_ALL);
    b.hand_over_all(Q);
    for (uint32_t k = 0; k < N; ++k) {
      b.dut.mac_rx(nic_bench::flow_frame(k, sport[k], 9000));
      b.wait_for(us(2));
    }
    b.wait_for(us(10));
    // Each queue's ring holds exactly its flows' frames, in arrival order.
    for (unsigned q = 0; q < Q; ++q) {
      std::vector<proto::wire_frame> want;
      for (const uint32_t k : per_queue[q]) want.push_back(nic_bench::flow_frame(k, sport[k], 9000));
      expect_ring_holds(b, q, want);
    }
  });
  sc_core::sc_start(us(80));

  for (unsigned q = 0; q < Q; ++q) {
    EXPECT_EQ(bench.dut.queue_stats(q).packets, per_queue[q].size()) << q;
    // Each vector fires once, to its own APIC and vector, then stays masked (EIAM)
    // because no driver re-enables it.
    EXPECT_EQ(bench.msix_count(q), 1u) << q;
    EXPECT_EQ(bench.dut.queue_stats(q).interrupts, 1u) << q;
  }
  EXPECT_EQ(bench.msi.log.size(), Q) << "no message anywhere else";
  EXPECT_EQ(bench.dut.stats().rx_packets, N);
}

TEST(nic_test, rss_key_written_through_rssrk_moves_flows) {
  std::array<uint8_t, 40> key{};
  for (unsigned i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x3b * i + 0x11);
  constexpr unsigned Q = 4;
  constexpr unsigned N = 6;
  unsigned moved = 0;
  std::vector<std::vector<proto::wire_frame>> per_queue(Q);
  for (uint32_t k = 0; k < N; ++k) {
    const auto sport = static_cast<uint16_t>(1000 + 3 * k);
    const unsigned q = expected_queue(key, sport, 7000, Q);
    moved += q != expected_queue(nicsim::hw::rss_default_key, sport, 7000, Q);
    per_queue[q].push_back(nic_bench::flow_frame(k, sport, 7000));
  }
  ASSERT_GT(moved, 0u) << "the flows must tell the two keys apart";

  nic_bench bench("bench", queues(Q), [&](nic_bench& b) {
    b.setup_queues(Q, MRQC_RSS_ALL);
    b.write_key(key);
    EXPECT_EQ(b.read_reg(regs::RSSRK_BASE), 0xC287'4C11u) << "key bytes 0..3, byte 0 lowest";
    b.hand_over_all(Q);
    for (uint32_t k = 0; k < N; ++k) {
      b.dut.mac_rx(nic_bench::flow_frame(k, static_cast<uint16_t>(1000 + 3 * k), 7000));
      b.wait_for(us(2));
    }
    b.wait_for(us(10));
    for (unsigned q = 0; q < Q; ++q)
      expect_ring_holds(b, q, per_queue[q]);  // each flow where the new key puts it
  });
  sc_core::sc_start(us(40));
  for (unsigned q = 0; q < Q; ++q) EXPECT_EQ(bench.dut.queue_stats(q).packets, per_queue[q].size()) << q;
}

TEST(nic_test, udp_without_the_udp4_field_hashes_addresses_only) {
  constexpr unsigned Q = 4;
  const unsigned q2 = expected_queue(nicsim::hw::rss_default_key, 0, 0, Q, false);
  std::set<unsigned> spread;
  for (uint32_t k = 0; k < 8; ++k)
    spread.insert(
        expected_queue(nicsim::hw::rss_default_key, static_cast<uint16_t>(40000 + 17 * k), 9000, Q));
  ASSERT_GT(spread.size(), 1u) << "with the ports these flows would spread";

  nic_bench bench("bench", queues(Q), [&](nic_bench& b) {
    b.setup_queues(Q, regs::MRQC_ENABLE_RSS | regs::MRQC_RSS_FIELD_IPV4 | regs::MRQC_RSS_FIELD_IPV4_TCP);
    b.hand_over_all(Q);
    for (uint32_t k = 0; k < 6; ++k) {
      b.dut.mac_rx(nic_bench::flow_frame(k, static_cast<uint16_t>(40000 + 17 * k), 9000));
      b.wait_for(us(2));
    }
  });
  sc_core::sc_start(us(30));
  for (unsigned q = 0; q < Q; ++q) EXPECT_EQ(bench.dut.queue_stats(q).packets, q == q2 ? 6u : 0u) << q;
}

TEST(nic_test, rss_off_keeps_every_frame_on_queue_0) {
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, 0);
    b.hand_over_all(2);
    for (uint32_t k = 0; k < 6; ++k) {
      b.dut.mac_rx(nic_bench::flow_frame(k, static_cast<uint16_t>(40000 + 17 * k), 9000));
      b.wait_for(us(2));
    }
  });
  sc_core::sc_start(us(30));
  EXPECT_EQ(bench.dut.queue_stats(0).packets, 6u);
  EXPECT_EQ(bench.dut.queue_stats(1).packets, 0u);
}

// Two flows: port[q] is a source port whose flow RSS sends to queue q.
std::array<uint16_t, 2> one_port_per_queue() {
  std::array<uint16_t, 2> to{};
  for (uint16_t sport = 1000; sport < 2000 && (to[0] == 0 || to[1] == 0); ++sport) {
    const unsigned q = expected_queue(nicsim::hw::rss_default_key, sport, 9000, 2);
    if (to[q] == 0) to[q] = sport;
  }
  return to;
}

TEST(nic_test, queue_out_of_descriptors_drops_with_drop_en_and_the_other_keeps_flowing) {
  const auto port = one_port_per_queue();
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    b.write_reg(regs::RXQ_BASE(1) + regs::SRRCTL_OFF, regs::SRRCTL_DROP_EN);
    b.hand_over(0, nic_bench::Q_RING - 1);  // queue 1 gets no descriptor
    for (uint32_t k = 0; k < 6; ++k) {
      b.dut.mac_rx(nic_bench::flow_frame(k, k % 2 ? port[1] : port[0], 9000));
      b.wait_for(us(2));
    }
  });
  sc_core::sc_start(us(40));
  const auto& s = bench.dut.stats();
  EXPECT_EQ(bench.dut.queue_stats(0).packets, 3u);
  EXPECT_EQ(bench.dut.queue_stats(1).drops, 3u);
  EXPECT_EQ(s.rx_no_dma_resources, 3u);
  EXPECT_EQ(s.rx_missed_errors, 0u);
  EXPECT_EQ(bench.dut.frames_held(), 0u);
}

TEST(nic_test, queue_out_of_descriptors_without_drop_en_blocks_every_queue) {
  const auto port = one_port_per_queue();
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    b.hand_over(0, nic_bench::Q_RING - 1);
    for (uint32_t k = 0; k < 6; ++k) {
      b.dut.mac_rx(nic_bench::flow_frame(k, k % 2 ? port[1] : port[0], 9000));
      b.wait_for(us(2));
    }
    // Frame 1 (queue 1) holds the head of the packet buffer, and frames 2-5 behind it.
    EXPECT_EQ(b.dut.queue_stats(0).packets, 1u);
    EXPECT_EQ(b.dut.frames_held(), 5u);
    b.hand_over(1, nic_bench::Q_RING - 1);
    b.wait_for(us(10));
  });
  sc_core::sc_start(us(40));
  EXPECT_EQ(bench.dut.queue_stats(0).packets, 3u);
  EXPECT_EQ(bench.dut.queue_stats(1).packets, 3u);
  EXPECT_EQ(bench.dut.stats().rx_no_dma_resources, 0u);
  EXPECT_EQ(bench.dut.stats().rx_no_buffer_count, 1u);
}

TEST(nic_test, msix_vector_masks_itself_until_the_driver_writes_eims) {
  const auto port = one_port_per_queue();
  sc_time unmasked_at;
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    b.hand_over_all(2);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[1], 9000));
    b.wait_for(us(3));
    EXPECT_EQ(b.msix_count(1), 1u);
    EXPECT_EQ(b.read_reg(regs::EIMS), 0x1u) << "EIAM cleared queue 1's enable";
    EXPECT_EQ(b.read_reg(regs::EICR), 0u) << "EIAC cleared its cause";
    b.dut.mac_rx(nic_bench::flow_frame(1, port[1], 9000));
    b.dut.mac_rx(nic_bench::flow_frame(2, port[0], 9000));
    b.wait_for(us(5));
    EXPECT_EQ(b.msix_count(1), 1u) << "queue 1 is masked";
    EXPECT_EQ(b.msix_count(0), 1u) << "queue 0 is not";
    unmasked_at = sc_core::sc_time_stamp();
    b.write_reg(regs::EIMS, 0x2);  // igb_ring_irq_enable
    b.wait_for(us(3));
  });
  sc_core::sc_start(us(20));
  ASSERT_EQ(bench.msix_count(1), 2u);
  EXPECT_GT(bench.msi.log.back().at, unmasked_at);
}

TEST(nic_test, masked_msix_table_entry_holds_its_message_until_unmasked) {
  const auto port = one_port_per_queue();
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    const uint32_t ctrl = regs::MSIX_TABLE + regs::MSIX_ENTRY_SIZE * 1 + 12;
    b.write_reg(ctrl, regs::MSIX_VECTOR_CTRL_MASKED);
    b.hand_over_all(2);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[1], 9000));
    b.wait_for(us(5));
    EXPECT_EQ(b.msi.log.size(), 0u) << "the vector is masked: the message waits (its PBA bit)";
    b.write_reg(ctrl, 0);
    b.wait_for(us(2));
    EXPECT_EQ(b.msix_count(1), 1u);
  });
  sc_core::sc_start(us(20));
}

TEST(nic_test, a_write_back_batch_is_flushed_when_the_next_frame_must_wait_for_descriptors) {
  // WTHRESH 8 on a ring where the driver can post only 7: the batch never fills, and the
  // waiting frame needs exactly the descriptors it holds back, so it must be written back.
  nic_params p;
  p.desc_wb_batch = 8;
  nic_bench bench("bench", p, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::RDT, 7);
    for (uint32_t k = 0; k < 9; ++k) b.dut.mac_rx(nic_bench::frame(k, 128));
    b.wait_for(us(20));
    for (unsigned i = 0; i < 7; ++i) EXPECT_TRUE(b.status(i) & regs::RXD_STAT_DD) << i;
    EXPECT_EQ(b.read_reg(regs::RDH), 7u);
    EXPECT_EQ(b.dut.frames_held(), 2u) << "two frames wait for the driver";
  });
  sc_core::sc_start(us(40));
  EXPECT_EQ(bench.dut.stats().rx_desc_writebacks, 1u);
}

TEST(nic_test, a_drop_leaves_no_write_back_batch_behind) {
  // Queue 0 has one descriptor: its first frame fills the batch (WTHRESH 8), its second is
  // dropped (DROP_EN), and with no frame left for the queue the batch must go out.
  const auto port = one_port_per_queue();
  nic_params p = queues(2);
  p.desc_wb_batch = 8;
  nic_bench bench("bench", p, [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    b.write_reg(regs::RXQ_BASE(0) + regs::SRRCTL_OFF, regs::SRRCTL_DROP_EN);
    b.hand_over(0, 1);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[0], 9000));
    b.dut.mac_rx(nic_bench::flow_frame(1, port[0], 9000));
    b.wait_for(us(20));
    EXPECT_TRUE(b.qdesc(0, 0).status & regs::RXD_STAT_DD);
    EXPECT_EQ(b.msix_count(0), 1u);
  });
  sc_core::sc_start(us(40));
  EXPECT_EQ(bench.dut.queue_stats(0).packets, 1u);
  EXPECT_EQ(bench.dut.queue_stats(0).drops, 1u);
}

TEST(nic_test, msix_mode_keeps_a_queue_quiet_until_its_eims_bit_is_set) {
  const auto port = one_port_per_queue();
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL, 0x1);  // EIMS: queue 0 only; queue 1's bit never set since reset
    b.hand_over_all(2);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[1], 9000));
    b.dut.mac_rx(nic_bench::flow_frame(1, port[0], 9000));
    b.wait_for(us(5));
    EXPECT_EQ(b.msix_count(0), 1u);
    EXPECT_EQ(b.msix_count(1), 0u) << "EIMS bit 1 was never set";
    b.write_reg(regs::EIMS, 0x2);
    b.wait_for(us(5));
    EXPECT_EQ(b.msix_count(1), 1u) << "its pending frame interrupts once enabled";
  });
  sc_core::sc_start(us(20));
}

TEST(nic_test, receiver_off_holds_frames_even_with_drop_en) {
  const auto port = one_port_per_queue();
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    b.write_reg(regs::RXQ_BASE(0) + regs::SRRCTL_OFF, regs::SRRCTL_DROP_EN);
    b.hand_over(0, nic_bench::Q_RING - 1);
    b.write_reg(regs::RCTL, 0);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[0], 9000));
    b.wait_for(us(5));
    EXPECT_EQ(b.dut.frames_held(), 1u);
    b.write_reg(regs::RCTL, regs::RCTL_EN | regs::RCTL_SECRC);
    b.wait_for(us(5));
  });
  sc_core::sc_start(us(20));
  EXPECT_EQ(bench.dut.stats().rx_no_dma_resources, 0u);
  EXPECT_EQ(bench.dut.queue_stats(0).packets, 1u);
}

// ---------------------------------------------------------- debug and reset

TEST(nic_test, debug_reads_of_read_to_clear_registers_clear_nothing) {
  nic_params p;
  p.rx_fifo_bytes = 200;  // one 128-byte frame fits, the next is missed
  std::map<uint32_t, uint32_t> seen;
  nic_bench bench("bench", p, [&](nic_bench& b) {
    b.setup(8);
    b.write_reg(regs::IMC, ~0u);
    b.write_reg(regs::ICS, regs::ICR_RXDMT0);
    proto::wire_frame bad = nic_bench::frame(0, 128);
    bad.bytes[40] ^= 1;
    b.dut.mac_rx(bad);                       // CRCERRS
    b.dut.mac_rx(nic_bench::frame(1, 128));  // waits for a descriptor: RNBC
    b.dut.mac_rx(nic_bench::frame(2, 128));  // no room: MPC, ICR.RXO
    b.wait_for(us(5));
    b.write_reg(regs::RDT, 1);
    b.wait_for(us(5));  // GPRC
    for (uint32_t r : {regs::ICR, regs::CRCERRS, regs::MPC, regs::GPRC, regs::RNBC}) {
      seen[r] = b.peek(r);
      EXPECT_EQ(b.peek(r), seen[r]) << std::hex << r << ": a second debug read sees the same";
      EXPECT_EQ(b.read_reg(r), seen[r]) << std::hex << r << ": the bus read still finds it";
      EXPECT_EQ(b.peek(r), 0u) << std::hex << r << ": the bus read cleared it";
    }
  });
  sc_core::sc_start(us(20));
  EXPECT_EQ(seen[regs::ICR], regs::ICR_RXDMT0 | regs::ICR_RXO | regs::ICR_RXT0);
  EXPECT_EQ(seen[regs::CRCERRS], 1u);
  EXPECT_EQ(seen[regs::MPC], 1u);
  EXPECT_EQ(seen[regs::GPRC], 1u);
  EXPECT_EQ(seen[regs::RNBC], 1u);
}

TEST(nic_test, debug_read_of_eicr_clears_nothing) {
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.write_reg(regs::EICS, 0x3);  // EIMS is 0: causes latch, no message
    EXPECT_EQ(b.peek(regs::EICR), 0x3u);
    EXPECT_EQ(b.read_reg(regs::EICR), 0x3u);
    EXPECT_EQ(b.peek(regs::EICR), 0u);
  });
  sc_core::sc_start(us(1));
  EXPECT_TRUE(bench.msi.log.empty());
}

TEST(nic_test, debug_writes_store_without_acting) {
  const proto::wire_frame f = nic_bench::frame(1, 128);
  sc_time before, after;
  size_t upstream_after_debug_writes = ~size_t{0};
  uint64_t held_after_debug_writes = 0;
  nic_bench bench("bench", {}, [&](nic_bench& b) {
    b.setup(8);  // MSI programmed, every cause enabled, receiver on, no descriptor yet
    b.dut.mac_rx(f);
    b.wait_for(us(1));  // the frame waits for a descriptor
    uint32_t v = regs::ICR_RXO;
    before = sc_core::sc_time_stamp();
    EXPECT_EQ(b.debug(::tlm::TLM_WRITE_COMMAND, regs::ICS, &v, 4), 4u);
    EXPECT_EQ(b.peek(regs::ICR), 0u) << "ICS's action (set ICR, send an MSI) does not run";
    v = 7;
    EXPECT_EQ(b.debug(::tlm::TLM_WRITE_COMMAND, regs::RDT, &v, 4), 4u);
    EXPECT_EQ(b.peek(regs::RDT), 7u);
    v = 0xCAFE;
    EXPECT_EQ(b.debug(::tlm::TLM_WRITE_COMMAND, regs::CTRL, &v, 4), 4u);
    EXPECT_EQ(b.read_reg(regs::CTRL), 0xCAFEu);
    v = static_cast<uint32_t>(RING_BASE) | 0xF;
    EXPECT_EQ(b.debug(::tlm::TLM_WRITE_COMMAND, regs::RDBAL, &v, 4), 4u);
    EXPECT_EQ(b.peek(regs::RDBAL), RING_BASE) << "reserved bits stay 0";
    v = 0;
    EXPECT_EQ(b.debug(::tlm::TLM_WRITE_COMMAND, regs::STATUS, &v, 4), 0u) << "read-only";
    EXPECT_EQ(b.debug(::tlm::TLM_WRITE_COMMAND, regs::GPRC, &v, 4), 0u) << "read-only";
    EXPECT_EQ(b.peek(regs::STATUS), 0x2u);
    after = sc_core::sc_time_stamp();
    b.wait_for(us(10));
    upstream_after_debug_writes = b.tap.log.size();
    held_after_debug_writes = b.dut.frames_held();
    b.write_reg(regs::RDT, 7);  // the same tail through the bus
    b.wait_for(us(10));
  });
  sc_core::sc_start(us(30));
  EXPECT_EQ(after, before) << "no time passes";
  EXPECT_EQ(upstream_after_debug_writes, 0u) << "the tail written through the debug path woke no DMA";
  EXPECT_EQ(held_after_debug_writes, 1u);
  EXPECT_EQ(bench.dut.stats().rx_packets, 1u) << "the bus write did";
  EXPECT_EQ(bench.msi.log.size(), 1u) << "the frame's, and none from the debug ICS write";
}

TEST(nic_test, debug_access_spans_registers_and_stops_at_a_hole) {
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    const uint32_t entry = regs::MSIX_TABLE + regs::MSIX_ENTRY_SIZE;
    b.write_reg(entry + 0, 0xFEE01000);
    b.write_reg(entry + 8, 0x42);
    uint32_t words[4] = {};
    EXPECT_EQ(b.debug(::tlm::TLM_READ_COMMAND, entry, words, 16), 16u);
    EXPECT_EQ(words[0], 0xFEE01000u);
    EXPECT_EQ(words[1], 0u);
    EXPECT_EQ(words[2], 0x42u);
    EXPECT_EQ(words[3], regs::MSIX_VECTOR_CTRL_MASKED);
    // CTRL at 0x0, then no register at 0x4.
    EXPECT_EQ(b.debug(::tlm::TLM_READ_COMMAND, regs::CTRL, words, 8), 4u);
    EXPECT_EQ(b.debug(::tlm::TLM_READ_COMMAND, regs::CTRL + 2, words, 4), 0u) << "misaligned";
    EXPECT_EQ(b.debug(::tlm::TLM_READ_COMMAND, regs::CTRL, words, 3), 0u) << "not whole registers";
  });
  sc_core::sc_start(us(1));
}

TEST(nic_test, reset_restores_every_register) {
  std::map<uint32_t, uint32_t> at_power_on, programmed, after_reset;
  const auto port = one_port_per_queue();
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    at_power_on = b.snapshot();
    b.setup_queues(2, MRQC_RSS_ALL);
    b.write_reg(regs::RXQ_BASE(1) + regs::SRRCTL_OFF, regs::SRRCTL_DROP_EN);
    b.write_reg(regs::CTRL, 0xCAFE);
    b.write_reg(regs::RXCSUM, regs::RXCSUM_TUOFL | regs::RXCSUM_IPOFL);
    b.write_reg(regs::ITR, 10);
    b.write_reg(regs::MSI_ADDR_LO, static_cast<uint32_t>(MSI_BASE));
    b.write_reg(regs::IMS, regs::IMS_ENABLE_MASK);
    b.hand_over_all(2);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[0], 9000));
    b.dut.mac_rx(nic_bench::flow_frame(1, port[1], 9000));
    b.wait_for(us(10));
    programmed = b.snapshot();
    b.dut.reset();
    after_reset = b.snapshot();
  });
  sc_core::sc_start(us(20));

  ASSERT_FALSE(at_power_on.empty());
  EXPECT_NE(programmed, at_power_on);
  EXPECT_EQ(after_reset, at_power_on);
  EXPECT_EQ(after_reset.at(regs::STATUS), 0x2u);
  EXPECT_EQ(after_reset.at(regs::MSIX_TABLE + 12), regs::MSIX_VECTOR_CTRL_MASKED);
}

TEST(nic_test, after_reset_the_nic_receives_as_if_new) {
  const auto port = one_port_per_queue();
  unsigned pending_after_reset = ~0u;
  nic_bench bench("bench", queues(2), [&](nic_bench& b) {
    b.setup_queues(2, MRQC_RSS_ALL);
    b.write_reg(regs::RXC_USECS, 1000);  // queue 0's frame waits in its moderation block
    b.write_reg(regs::MSIX_TABLE + regs::MSIX_ENTRY_SIZE + 12, regs::MSIX_VECTOR_CTRL_MASKED);
    b.write_reg(regs::EICS, 0x2);  // queue 1's vector is masked: its message is held (PBA)
    b.hand_over_all(2);
    b.dut.mac_rx(nic_bench::flow_frame(0, port[0], 9000));
    b.wait_for(us(10));
    EXPECT_EQ(b.msi.log.size(), 0u);
    EXPECT_EQ(b.dut.moderation(0).pending(), 1u);
    b.dut.reset();
    pending_after_reset = b.dut.moderation(0).pending();
    // The driver's open again, over fresh descriptors: rings restart at slot 0.
    b.setup_queues(2, MRQC_RSS_ALL);
    b.hand_over_all(2);
    b.wait_for(us(10));
    EXPECT_EQ(b.msi.log.size(), 0u) << "no message survived the reset, and none was pending";
    b.dut.mac_rx(nic_bench::flow_frame(2, port[1], 9000));
    b.wait_for(us(10));
    EXPECT_TRUE(b.qdesc(1, 0).status & regs::RXD_STAT_DD);
    EXPECT_EQ(b.read_reg(regs::RXQ_BASE(1) + regs::RDH_OFF), 1u);
    EXPECT_EQ(b.msix_count(1), 1u);
  });
  sc_core::sc_start(us(40));
  EXPECT_EQ(pending_after_reset, 0u);
  EXPECT_EQ(bench.msi.log.size(), 1u);
  EXPECT_EQ(bench.dut.queue_stats(0).packets, 1u) << "counters are not registers: they keep counting";
  EXPECT_EQ(bench.dut.queue_stats(1).packets, 1u);
}

}  // namespace
