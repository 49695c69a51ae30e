// The NIC's transmit path (issue 12): descriptors posted in host memory as e1000_tx_queue /
// igb_tx_map post them, frames out of the port, write-back, TX interrupts.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

#include "abi/e1000_hw.h"
#include "hw/nic.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/tests/nic_bench_map.h"
#include "tlm/address_router.h"
#include "tlm/eth_port.h"
#include "tlm/host_memory.h"
#include "tlm/payload.h"
#include "tlm/pcie_link.h"

namespace {

namespace abi = nicsim::abi;
namespace proto = nicsim::proto;
using nicsim::hw::nic;
using nicsim::hw::nic_params;
using sc_core::sc_time;

using namespace nicsim::test::nic_bench_map;  // ns, us, bytes, the memory map
constexpr unsigned RING = 8;
constexpr double LINE_GBPS = 1.0;
const sc_time MEM_LATENCY = ns(60);

struct record {
  sc_time at;
  uint64_t address;
  bytes data;
};

// Records every write that reaches it (the MSI target).
class msi_target : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<msi_target> socket;
  std::vector<record> log;
  explicit msi_target(const sc_core::sc_module_name& name) : sc_core::sc_module(name), socket("socket") {
    socket.register_b_transport(this, &msi_target::b_transport);
  }

 private:
  void b_transport(::tlm::tlm_generic_payload& t, sc_time& /*delay*/) {
    log.push_back({sc_core::sc_time_stamp(), t.get_address(),
                   bytes(t.get_data_ptr(), t.get_data_ptr() + t.get_data_length())});
    t.set_response_status(::tlm::TLM_OK_RESPONSE);
  }
};

// Logs every upstream TLP (reads and writes) as it arrives at the root complex.
class upstream_tap : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<upstream_tap> in;
  tlm_utils::simple_initiator_socket<upstream_tap> out;
  std::vector<record> writes, reads;
  explicit upstream_tap(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name), in("in"), out("out") {
    in.register_b_transport(this, &upstream_tap::b_transport);
  }

 private:
  void b_transport(::tlm::tlm_generic_payload& t, sc_time& delay) {
    out->b_transport(t, delay);
    const uint8_t* d = t.get_data_ptr();
    (t.is_write() ? writes : reads)
        .push_back({sc_core::sc_time_stamp(), t.get_address(), bytes(d, d + t.get_data_length())});
  }
};

struct arrival {
  sc_time last_bit;
  proto::wire_frame frame;
};

// The NIC with host memory and MSI behind a PCIe link, its port bound to a link partner
// that records what arrives; the testbench thread plays the driver.
class tx_bench : public sc_core::sc_module {
 public:
  using stimulus_fn = std::function<void(tx_bench&)>;
  SC_HAS_PROCESS(tx_bench);

  tx_bench(const sc_core::sc_module_name& name, const nic_params& params, stimulus_fn stimulus)
      : sc_core::sc_module(name),
        mem("mem", 1 << 20, MEM_LATENCY),
        link("link", link_params()),
        tap("tap"),
        root_complex("root_complex"),
        msi("msi"),
        dut("nic", params),
        peer("peer", LINE_GBPS),
        bar_sink("bar_sink"),
        mmio("mmio"),
        cpu_link("cpu_link"),
        m_stimulus(std::move(stimulus)) {
    dut.dma.bind(link.up_in);
    link.up_out.bind(tap.in);
    tap.out.bind(root_complex.in);
    root_complex.map(mem.socket, 0, mem.size(), "host memory");
    root_complex.map(msi.socket, MSI_BASE, MSI_SIZE, "MSI");
    mmio.bind(dut.mmio);
    cpu_link.bind(link.down_in);  // unused: the testbench writes BAR0 directly
    link.down_out.bind(bar_sink.socket);
    dut.port.bind(peer);
    peer.register_receive([this](const proto::wire_frame& f) {
      received.push_back({sc_core::sc_time_stamp(), f});
    });
    SC_THREAD(run);
  }

  static nicsim::tlm::link_params link_params() {
    nicsim::tlm::link_params p;
    p.gbps = 8.0;
    p.latency = ns(100);
    return p;
  }

  void write_reg(uint32_t offset, uint32_t v) {
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, offset, &v, 4);
    sc_time delay = sc_core::SC_ZERO_TIME;
    mmio->b_transport(t, delay);
    ASSERT_TRUE(t.is_response_ok()) << std::hex << offset;
  }
  uint32_t read_reg(uint32_t offset) {
    uint32_t v = 0;
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, offset, &v, 4);
    sc_time delay = sc_core::SC_ZERO_TIME;
    mmio->b_transport(t, delay);
    EXPECT_TRUE(t.is_response_ok()) << std::hex << offset;
    return v;
  }

  uint8_t* ring(unsigned q) { return mem.ptr(RING_BASE + 0x100 * q, RING * sizeof(abi::e1000_tx_desc)); }
  abi::e1000_tx_desc desc(unsigned q, unsigned i) { return abi::read_desc<abi::e1000_tx_desc>(ring(q), i); }
  uint64_t buffer_addr(unsigned q, unsigned i) { return BUFFER_BASE + (RING * q + i) * BUFFER_SIZE; }

  // Programs queue q's TX ring as e1000_configure_tx does (TDH = TDT = start).
  void setup_ring(unsigned q, unsigned start = 0) {
    const uint32_t base = abi::TXQ_BASE(q);
    write_reg(base + abi::TDBAL_OFF, static_cast<uint32_t>(RING_BASE + 0x100 * q));
    write_reg(base + abi::TDBAH_OFF, 0);
    write_reg(base + abi::TDLEN_OFF, RING * sizeof(abi::e1000_tx_desc));
    write_reg(base + abi::TDH_OFF, start);
    write_reg(base + abi::TDT_OFF, start);
  }
  // One queue, MSI, TXDW enabled, the transmitter on (or not).
  void setup(uint32_t tctl = abi::TCTL_EN | abi::TCTL_PSP) {
    setup_ring(0);
    write_reg(abi::MSI_ADDR_LO, static_cast<uint32_t>(MSI_BASE));
    write_reg(abi::MSI_ADDR_HI, 0);
    write_reg(abi::MSI_DATA, MSI_VECTOR);
    write_reg(abi::IMS, abi::IMS_ENABLE_MASK);
    write_reg(abi::TCTL, tctl);
  }
  // Writes data into descriptor i's buffer and the descriptor itself (not handed over yet).
  void post(unsigned q, unsigned i, const uint8_t* data, size_t len, uint32_t cmd) {
    std::memcpy(mem.ptr(buffer_addr(q, i), len), data, len);
    abi::e1000_tx_desc d{};
    d.buffer_addr = buffer_addr(q, i);
    d.lower.data = cmd | static_cast<uint32_t>(len);
    abi::write_desc(ring(q), i, d);
  }
  void set_tail(unsigned q, unsigned tdt) { write_reg(abi::TXQ_BASE(q) + abi::TDT_OFF, tdt); }

  // Write-backs that landed in queue q's ring, and MSI-X messages for vector v.
  std::vector<record> ring_writes(unsigned q) {
    std::vector<record> out;
    for (const auto& w : tap.writes)
      if (w.address >= RING_BASE + 0x100 * q && w.address < RING_BASE + 0x100 * q + 0x100) out.push_back(w);
    return out;
  }
  unsigned msix_count(unsigned v) {
    return static_cast<unsigned>(std::count_if(msi.log.begin(), msi.log.end(), [v](const record& m) {
      uint32_t data = 0;
      std::memcpy(&data, m.data.data(), 4);
      return m.address == uint64_t{v} << 12 && data == MSI_VECTOR + v;  // the router passes the offset
    }));
  }

  nicsim::tlm::host_memory mem;
  nicsim::tlm::pcie_link link;
  upstream_tap tap;
  nicsim::tlm::address_router root_complex;
  msi_target msi;
  nic dut;
  nicsim::tlm::eth_port peer;
  msi_target bar_sink;
  tlm_utils::simple_initiator_socket<tx_bench> mmio;
  tlm_utils::simple_initiator_socket<tx_bench> cpu_link;
  std::vector<arrival> received;

 private:
  void run() { m_stimulus(*this); }
  stimulus_fn m_stimulus;
};

// A UDP frame's bytes as the stack hands them to the driver: no FCS.
bytes packet(uint32_t seq, size_t frame_bytes) {
  bytes f = proto::build_udp_frame({}, frame_bytes, {seq, 0});
  f.resize(f.size() - proto::ETH_FCS_LEN);
  return f;
}
bytes with_fcs(bytes f) {
  const uint32_t fcs = proto::crc32(f.data(), f.size());
  for (unsigned b = 0; b < 4; ++b) f.push_back(static_cast<uint8_t>(fcs >> (8 * b)));
  return f;
}

constexpr uint32_t EOP_IFCS_RS = abi::TXD_CMD_EOP | abi::TXD_CMD_IFCS | abi::TXD_CMD_RS;

TEST(nic_tx_test, one_descriptor_frame_leaves_with_fcs_and_dd_is_written_back) {
  const bytes p = packet(1, 200);
  uint32_t gptc = 0, gotcl = 0, tdh = 0, icr = 0;
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    b.post(0, 0, p.data(), p.size(), EOP_IFCS_RS);
    b.set_tail(0, 1);
    sc_core::wait(us(20));
    tdh = b.read_reg(abi::TDH);
    gptc = b.read_reg(abi::GPTC);
    gotcl = b.read_reg(abi::GOTCL);
    icr = b.read_reg(abi::ICR);
  });
  sc_core::sc_start(us(30));

  ASSERT_EQ(bench.received.size(), 1u);
  const bytes& wire = bench.received[0].frame.bytes;
  EXPECT_EQ(wire, proto::build_udp_frame({}, 200, {1, 0})) << "the data as posted, FCS appended";
  EXPECT_TRUE(proto::fcs_ok(wire.data(), wire.size()));
  EXPECT_EQ(bench.desc(0, 0).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD);
  EXPECT_EQ(tdh, 1u);
  EXPECT_EQ(gptc, 1u);
  EXPECT_EQ(gotcl, 200u) << "GOTC counts DA to FCS";
  EXPECT_EQ(icr & (abi::ICR_TXDW | abi::ICR_TXQE), abi::ICR_TXDW | abi::ICR_TXQE);
  EXPECT_EQ(bench.dut.stats().tx_packets, 1u);
  EXPECT_EQ(bench.dut.stats().tx_bytes, p.size());
  EXPECT_EQ(bench.dut.tx_queue_stats(0).packets, 1u);
  EXPECT_EQ(bench.dut.tx_queue_stats(0).bytes, p.size());
  EXPECT_EQ(bench.dut.stats().rx_packets, 0u);
  EXPECT_EQ(bench.dut.tx_frames_held(), 0u);
}

TEST(nic_tx_test, frame_over_two_descriptors_ends_at_eop) {
  const bytes p = packet(2, 300);
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    b.post(0, 0, p.data(), 42, abi::TXD_CMD_IFCS);  // headers: no EOP, no RS (as e1000_tx_queue)
    b.post(0, 1, p.data() + 42, p.size() - 42, EOP_IFCS_RS);
    b.set_tail(0, 2);
    sc_core::wait(us(20));
  });
  sc_core::sc_start(us(30));

  ASSERT_EQ(bench.received.size(), 1u);
  EXPECT_EQ(bench.received[0].frame.bytes, with_fcs(p));
  EXPECT_EQ(bench.desc(0, 0).upper.data, 0u) << "no RS: nothing written back";
  EXPECT_EQ(bench.desc(0, 1).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD);
  EXPECT_EQ(bench.ring_writes(0).size(), 1u) << "one write-back, of the RS descriptor";
  EXPECT_EQ(bench.dut.tdh(0), 2u);
}

TEST(nic_tx_test, dd_only_on_descriptors_with_rs_and_tdh_moves_past_all) {
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    for (unsigned i = 0; i < 3; ++i) {
      const bytes p = packet(i, 100);
      b.post(0, i, p.data(), p.size(), abi::TXD_CMD_EOP | abi::TXD_CMD_IFCS | (i == 1 ? 0 : abi::TXD_CMD_RS));
    }
    b.set_tail(0, 3);
    sc_core::wait(us(30));
  });
  sc_core::sc_start(us(40));

  ASSERT_EQ(bench.received.size(), 3u);
  EXPECT_EQ(bench.desc(0, 0).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD);
  EXPECT_EQ(bench.desc(0, 1).upper.data & abi::TXD_STAT_DD, 0u);
  EXPECT_EQ(bench.desc(0, 2).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD);
  EXPECT_EQ(bench.dut.tdh(0), 3u);
  EXPECT_EQ(bench.ring_writes(0).size(), 2u);
}

TEST(nic_tx_test, ring_wraps_at_its_end) {
  std::vector<bytes> sent;
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup_ring(0, 6);  // TDH = TDT = 6: two descriptors before the end
    b.write_reg(abi::TCTL, abi::TCTL_EN);
    for (unsigned k = 0; k < 4; ++k) {
      sent.push_back(packet(k, 128));
      b.post(0, (6 + k) % RING, sent.back().data(), sent.back().size(), EOP_IFCS_RS);
    }
    b.set_tail(0, 2);
    sc_core::wait(us(40));
  });
  sc_core::sc_start(us(50));

  ASSERT_EQ(bench.received.size(), 4u);
  for (unsigned k = 0; k < 4; ++k) {
    EXPECT_EQ(bench.received[k].frame.bytes, with_fcs(sent[k])) << k;
    EXPECT_EQ(bench.desc(0, (6 + k) % RING).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD) << k;
  }
  EXPECT_EQ(bench.dut.tdh(0), 2u);
  for (const auto& r : bench.tap.reads) {
    if (r.address >= BUFFER_BASE) continue;  // data, not descriptors
    EXPECT_LE(r.address + r.data.size(), RING_BASE + RING * sizeof(abi::e1000_tx_desc))
        << "no descriptor read crosses the ring's end";
  }
}

TEST(nic_tx_test, last_bit_leaves_after_fetch_and_read_round_trips_and_wire_time) {
  const bytes p = packet(3, 1000);
  sc_time tail_written;
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    b.post(0, 0, p.data(), p.size(), EOP_IFCS_RS);
    sc_core::wait(us(1));
    tail_written = sc_core::sc_time_stamp();
    b.set_tail(0, 1);
    sc_core::wait(us(30));
  });
  sc_core::sc_start(us(40));

  ASSERT_EQ(bench.received.size(), 1u);
  const auto& lp = bench.link.params();
  // A non-posted read: request out, completion (with its data) back, memory in between.
  const sc_time desc_rtt =
      2 * lp.latency + MEM_LATENCY + bench.link.serialization(sizeof(abi::e1000_tx_desc));
  const sc_time data_rtt =
      2 * lp.latency + MEM_LATENCY + bench.link.serialization(static_cast<unsigned>(p.size()));
  const sc_time wire = bench.peer.frame_time(p.size() + proto::ETH_FCS_LEN);
  const sc_time lower = tail_written + desc_rtt + data_rtt + wire;
  EXPECT_GE(bench.received[0].last_bit, lower);
  // And not much later: the request TLPs' own serialization is all that is left out.
  EXPECT_LE(bench.received[0].last_bit, lower + 2 * bench.link.serialization(0) + ns(1));
  ASSERT_EQ(bench.tap.reads.size(), 2u) << "one descriptor fetch, one data read";
  EXPECT_EQ(bench.tap.reads[1].address, bench.buffer_addr(0, 0));
  EXPECT_EQ(bench.dut.stats().tx_desc_fetches, 1u);
}

TEST(nic_tx_test, back_to_back_frames_are_one_slot_apart_at_line_rate) {
  constexpr unsigned N = 5;
  constexpr size_t FRAME = 512;
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    for (unsigned i = 0; i < N; ++i) {
      const bytes p = packet(i, FRAME);
      b.post(0, i, p.data(), p.size(), EOP_IFCS_RS);
    }
    b.set_tail(0, N);
    sc_core::wait(us(60));
  });
  sc_core::sc_start(us(80));

  ASSERT_EQ(bench.received.size(), N);
  // 512 B take 4.2 us on the wire at 1 Gb/s and far less to read over the link, so the
  // frames queue in the TX FIFO and leave back to back: a slot (preamble, frame, IFG) apart.
  const sc_time slot = bench.peer.slot_time(FRAME);
  for (unsigned i = 1; i < N; ++i) {
    EXPECT_EQ(bench.received[i].last_bit - bench.received[i - 1].last_bit, slot) << i;
    EXPECT_EQ(bench.received[i].frame.first_bit_ps - bench.received[i - 1].frame.first_bit_ps,
              slot.value() / sc_time(1, sc_core::SC_PS).value())
        << i;
  }
  EXPECT_GT(bench.dut.stats().tx_packets, 0u);
}

// The MSI's time and the RS write-back's time for one frame, with TIDV / TADV as given.
struct irq_timing {
  std::vector<sc_time> writebacks;
  std::vector<sc_time> messages;
};
irq_timing run_irq(uint32_t tidv, uint32_t tadv, unsigned frames, sc_time gap, uint32_t extra_cmd) {
  irq_timing out;
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    b.write_reg(abi::TIDV, tidv);
    b.write_reg(abi::TADV, tadv);
    for (unsigned i = 0; i < frames; ++i) {
      const bytes p = packet(i, 128);
      b.post(0, i, p.data(), p.size(), EOP_IFCS_RS | extra_cmd);
      b.set_tail(0, i + 1);
      sc_core::wait(gap);
    }
    sc_core::wait(us(300));
  });
  sc_core::sc_start(us(400) + frames * gap);
  for (const auto& w : bench.ring_writes(0)) out.writebacks.push_back(w.at);
  for (const auto& m : bench.msi.log) out.messages.push_back(m.at);
  return out;
}

// The MSI is posted right behind the write-back on the same link: its arrival is one 4-byte
// TLP later.
void expect_at_once(const irq_timing& t) {
  ASSERT_EQ(t.writebacks.size(), 1u);
  ASSERT_EQ(t.messages.size(), 1u);
  EXPECT_GE(t.messages[0], t.writebacks[0]);
  EXPECT_LT(t.messages[0] - t.writebacks[0], ns(50));
}

TEST(nic_tx_test, txdw_interrupt_at_once_with_tidv_zero) {
  expect_at_once(run_irq(0, 0, 1, us(1), abi::TXD_CMD_IDE));
}

TEST(nic_tx_test, txdw_interrupt_at_once_without_ide) { expect_at_once(run_irq(50, 0, 1, us(1), 0)); }

TEST(nic_tx_test, txdw_interrupt_waits_for_tidv) {
  constexpr uint32_t TIDV = 50;  // 51.2 us
  const irq_timing t = run_irq(TIDV, 0, 1, us(1), abi::TXD_CMD_IDE);
  ASSERT_EQ(t.writebacks.size(), 1u);
  ASSERT_EQ(t.messages.size(), 1u);
  const sc_time delay = ns(1024.0 * TIDV);
  EXPECT_GE(t.messages[0], t.writebacks[0] + delay);
  EXPECT_LT(t.messages[0], t.writebacks[0] + delay + ns(50));
}

TEST(nic_tx_test, tidv_rearmed_by_each_packet_is_bounded_by_tadv) {
  constexpr uint32_t TIDV = 10, TADV = 40;  // 10.24 us re-armed; 40.96 us absolute
  // A frame every 8 us keeps re-arming TIDV before it runs out.
  const irq_timing t = run_irq(TIDV, TADV, 10, us(8), abi::TXD_CMD_IDE);
  ASSERT_EQ(t.writebacks.size(), 10u);
  ASSERT_GE(t.messages.size(), 2u);
  const sc_time abs = ns(1024.0 * TADV);
  EXPECT_GE(t.messages[0], t.writebacks[0] + abs);
  EXPECT_LT(t.messages[0], t.writebacks[0] + abs + ns(50)) << "TADV, not TIDV, ended the wait";
  // The last packet's TIDV runs out after the stream stops.
  EXPECT_GE(t.messages.back(), t.writebacks.back() + ns(1024.0 * TIDV));
}

TEST(nic_tx_test, tctl_en_clear_sends_nothing_until_set) {
  size_t sent_while_off = ~size_t{0};
  uint64_t reads_while_off = ~uint64_t{0};
  uint32_t tdh_while_off = ~0u;
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup(abi::TCTL_PSP);  // EN clear
    const bytes p = packet(4, 128);
    b.post(0, 0, p.data(), p.size(), EOP_IFCS_RS);
    b.set_tail(0, 1);
    sc_core::wait(us(20));
    sent_while_off = b.received.size();
    reads_while_off = b.tap.reads.size();
    tdh_while_off = b.read_reg(abi::TDH);
    b.write_reg(abi::TCTL, abi::TCTL_EN | abi::TCTL_PSP);
    sc_core::wait(us(20));
  });
  sc_core::sc_start(us(50));

  EXPECT_EQ(sent_while_off, 0u);
  EXPECT_EQ(reads_while_off, 0u);
  EXPECT_EQ(tdh_while_off, 0u);
  EXPECT_EQ(bench.received.size(), 1u) << "enabling the transmitter sends what was posted";
}

TEST(nic_tx_test, short_frame_is_padded_with_psp) {
  bytes p = packet(5, 64);
  p.resize(40);  // shorter than ETH_ZLEN
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup(abi::TCTL_EN | abi::TCTL_PSP);
    b.post(0, 0, p.data(), p.size(), EOP_IFCS_RS);
    b.set_tail(0, 1);
    sc_core::wait(us(20));
  });
  sc_core::sc_start(us(30));

  ASSERT_EQ(bench.received.size(), 1u);
  bytes padded = p;
  padded.resize(proto::ETH_ZLEN, 0);
  EXPECT_EQ(bench.received[0].frame.bytes, with_fcs(padded));
  EXPECT_EQ(bench.dut.stats().tx_bytes, p.size()) << "tx_bytes counts the data read, not the padding";
}

TEST(nic_tx_test, wthresh_batches_write_backs) {
  tx_bench bench("bench", {}, [&](tx_bench& b) {
    b.setup();
    b.write_reg(abi::TXDCTL, 4u << abi::TXDCTL_WTHRESH_SHIFT);
    for (unsigned i = 0; i < 6; ++i) {
      const bytes p = packet(i, 128);
      b.post(0, i, p.data(), p.size(), EOP_IFCS_RS);
    }
    b.set_tail(0, 6);
    sc_core::wait(us(40));
  });
  sc_core::sc_start(us(50));

  ASSERT_EQ(bench.received.size(), 6u);
  const auto wb = bench.ring_writes(0);
  ASSERT_EQ(wb.size(), 2u) << "four at WTHRESH, the last two when the ring ran dry";
  EXPECT_EQ(wb[0].data.size(), 4 * sizeof(abi::e1000_tx_desc));
  EXPECT_EQ(wb[1].data.size(), 2 * sizeof(abi::e1000_tx_desc));
  for (unsigned i = 0; i < 6; ++i)
    EXPECT_EQ(bench.desc(0, i).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD);
}

TEST(nic_tx_test, queue_one_tx_cause_raises_queue_one_msix_vector) {
  nic_params params;
  params.rx_queues = 2;
  unsigned eicr = ~0u;
  tx_bench bench("bench", params, [&](tx_bench& b) {
    for (unsigned q = 0; q < 2; ++q) {
      b.setup_ring(q);
      const uint32_t entry = abi::MSIX_TABLE + abi::MSIX_ENTRY_SIZE * q;
      b.write_reg(entry + 0, static_cast<uint32_t>(MSI_BASE | q << 12));
      b.write_reg(entry + 4, 0);
      b.write_reg(entry + 8, MSI_VECTOR + q);
      b.write_reg(entry + 12, 0);
    }
    b.write_reg(abi::GPIE, abi::GPIE_MSIX_MODE | abi::GPIE_EIAME);
    b.write_reg(abi::EIAM, 0x3);  // auto-mask, no auto-clear: EICR shows the cause
    b.write_reg(abi::RXC_USECS, 0);
    b.write_reg(abi::EIMS, 0x3);
    b.write_reg(abi::TCTL, abi::TCTL_EN);
    const bytes p = packet(6, 128);
    b.post(1, 0, p.data(), p.size(), EOP_IFCS_RS);
    b.set_tail(1, 1);
    sc_core::wait(us(20));
    eicr = b.read_reg(abi::EICR);
  });
  sc_core::sc_start(us(30));

  ASSERT_EQ(bench.received.size(), 1u);
  EXPECT_EQ(bench.msix_count(1), 1u);
  EXPECT_EQ(bench.msix_count(0), 0u);
  EXPECT_EQ(eicr, 0x2u);
  EXPECT_EQ(bench.dut.tx_queue_stats(1).packets, 1u);
  EXPECT_EQ(bench.dut.tx_queue_stats(0).packets, 0u);
  EXPECT_EQ(bench.desc(1, 0).upper.data & abi::TXD_STAT_DD, abi::TXD_STAT_DD);
}

TEST(nic_tx_test, tx_fifo_below_a_maximum_frame_is_refused) {
  nic_params params;
  params.tx_fifo_bytes = 1000;
  EXPECT_THROW(nic("nic", params), std::invalid_argument);
}

}  // namespace
