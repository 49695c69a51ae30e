// The descriptor ring engine on its own, driven with transmit descriptor types: it fetches,
// prefetches, writes back and wraps the same whatever the direction.
#include "hw/desc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

#include "abi/e1000_hw.h"
#include "hw/reg_file.h"
#include "tlm/payload.h"

namespace {

namespace abi = nicsim::abi;
using nicsim::hw::desc_ring;
using nicsim::hw::desc_ring_params;
using nicsim::hw::reg_file;
using nicsim::hw::ring_dir;
using sc_core::sc_time;

sc_time ns(double v) { return sc_time(v, sc_core::SC_NS); }

constexpr uint64_t RING_BASE = 0x1000;
constexpr unsigned RING = 8;
constexpr sc_time::value_type DMA_NS = 100;  // each descriptor read or write takes this long

struct dma_access {
  ring_dir dir;
  bool write;
  uint64_t addr;
  unsigned len;
};

// Host memory as bytes behind the ring's DMA port, logging every access.
class memory_port : public nicsim::hw::desc_ring_dma {
 public:
  std::vector<uint8_t> bytes = std::vector<uint8_t>(0x4000, 0);
  std::vector<dma_access> log;

  void read_descriptors(ring_dir dir, uint64_t addr, uint8_t* data, unsigned len, sc_time& local) override {
    log.push_back({dir, false, addr, len});
    sc_core::wait(local + ns(DMA_NS));  // a non-posted read: the caller waits for the completion
    local = sc_core::SC_ZERO_TIME;
    std::memcpy(data, bytes.data() + addr, len);
  }
  void write_descriptors(ring_dir dir, uint64_t addr, const uint8_t* data, unsigned len,
                         sc_time& local) override {
    log.push_back({dir, true, addr, len});
    std::memcpy(bytes.data() + addr, data, len);
    local += ns(DMA_NS);
  }
};

// A TX ring of Desc on queue 1's registers, with the driver's MMIO and its view of memory.
template <class Desc>
class ring_bench : public sc_core::sc_module {
 public:
  using stimulus_fn = std::function<void(ring_bench&)>;
  SC_HAS_PROCESS(ring_bench);

  ring_bench(const sc_core::sc_module_name& name, const desc_ring_params& params, stimulus_fn stimulus)
      : sc_core::sc_module(name),
        ring(ring_dir::tx, 1, abi::TXQ_BASE(1), params, regs, port, kick),
        m_stimulus(std::move(stimulus)) {
    SC_THREAD(run);
  }

  void write_reg(uint32_t offset, uint32_t v) {
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, offset, &v, 4);
    sc_time delay = sc_core::SC_ZERO_TIME;
    regs.b_transport(t, delay);
    ASSERT_TRUE(t.is_response_ok()) << std::hex << offset;
  }
  uint32_t read_reg(uint32_t offset) {
    uint32_t v = 0;
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, offset, &v, 4);
    sc_time delay = sc_core::SC_ZERO_TIME;
    regs.b_transport(t, delay);
    EXPECT_TRUE(t.is_response_ok()) << std::hex << offset;
    return v;
  }
  // The driver's open: ring base and length, head and tail at 0.
  void setup() {
    write_reg(abi::TXQ_BASE(1) + abi::TDBAL_OFF, static_cast<uint32_t>(RING_BASE));
    write_reg(abi::TXQ_BASE(1) + abi::TDBAH_OFF, 0);
    write_reg(abi::TXQ_BASE(1) + abi::TDLEN_OFF, RING * sizeof(Desc));
    write_reg(abi::TXQ_BASE(1) + abi::TDH_OFF, 0);
    write_reg(abi::TXQ_BASE(1) + abi::TDT_OFF, 0);
  }
  void post(unsigned i, const Desc& d) { abi::write_desc(port.bytes.data() + RING_BASE, i, d); }
  Desc in_memory(unsigned i) { return abi::read_desc<Desc>(port.bytes.data() + RING_BASE, i); }
  void set_tail(unsigned t) { write_reg(abi::TXQ_BASE(1) + abi::TDT_OFF, t); }

  memory_port port;
  reg_file regs;
  sc_core::sc_event kick;
  desc_ring<Desc> ring;

 private:
  void run() { m_stimulus(*this); }
  stimulus_fn m_stimulus;
};

// An advanced data descriptor for a frame of len bytes in buffer i.
abi::e1000_adv_tx_desc adv_tx(unsigned i, uint32_t len) {
  abi::e1000_adv_tx_desc d{};
  d.read.buffer_addr = 0x100000 + 0x800 * i;
  d.read.cmd_type_len = abi::ADVTXD_DTYP_DATA | abi::ADVTXD_DCMD_DEXT | abi::ADVTXD_DCMD_EOP |
                        abi::ADVTXD_DCMD_IFCS | abi::ADVTXD_DCMD_RS | len;
  d.read.olinfo_status = len << abi::ADVTXD_PAYLEN_SHIFT;
  return d;
}

// What the device writes back for a sent frame: DD in the write-back format.
abi::e1000_adv_tx_desc adv_tx_done() {
  abi::e1000_adv_tx_desc d{};
  d.wb.status = abi::TXD_STAT_DD;
  return d;
}

desc_ring_params params(unsigned fetch_batch, unsigned pthresh, unsigned wthresh) {
  desc_ring_params p;
  p.fetch_batch = fetch_batch;
  p.prefetch_threshold = pthresh;
  p.writeback_threshold = wthresh;
  return p;
}

TEST(desc_ring_test, tx_ring_registers_carry_the_82576_names_and_offsets) {
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", {}, [](auto&) {});
  EXPECT_EQ(bench.regs.name_of(abi::TXQ_BASE(1) + abi::TDBAL_OFF), "TDBAL(1)");
  EXPECT_EQ(bench.regs.name_of(abi::TXQ_BASE(1) + abi::TDLEN_OFF), "TDLEN(1)");
  EXPECT_EQ(bench.regs.name_of(abi::TXQ_BASE(1) + abi::TDH_OFF), "TDH(1)");
  EXPECT_EQ(bench.regs.name_of(abi::TXQ_BASE(1) + abi::TDT_OFF), "TDT(1)");
  EXPECT_EQ(bench.ring.direction(), ring_dir::tx);
}

TEST(desc_ring_test, tx_ring_fetches_posted_descriptors_in_batches_in_order) {
  std::vector<abi::e1000_adv_tx_desc> taken;
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", params(4, 0, 1), [&](auto& b) {
    b.setup();
    for (unsigned i = 0; i < 6; ++i) b.post(i, adv_tx(i, 60 + i));
    b.set_tail(6);
    EXPECT_EQ(b.ring.size(), RING);
    EXPECT_EQ(b.ring.unfetched(), 6u);
    sc_time local = sc_core::SC_ZERO_TIME;
    const sc_time start = sc_core::sc_time_stamp();
    EXPECT_TRUE(b.ring.fetch(local));
    EXPECT_EQ(sc_core::sc_time_stamp() - start, ns(DMA_NS)) << "the read took its time";
    EXPECT_EQ(b.ring.cached(), 4u) << "one batch";
    EXPECT_TRUE(b.ring.fetch(local));
    EXPECT_EQ(b.ring.cached(), 6u);
    EXPECT_FALSE(b.ring.fetch(local)) << "nothing left to fetch";
    while (b.ring.cached() != 0) taken.push_back(b.ring.take());
  });
  sc_core::sc_start(ns(1000));

  ASSERT_EQ(bench.port.log.size(), 2u);
  EXPECT_EQ(bench.port.log[0].dir, ring_dir::tx);
  EXPECT_FALSE(bench.port.log[0].write);
  EXPECT_EQ(bench.port.log[0].addr, RING_BASE);
  EXPECT_EQ(bench.port.log[0].len, 4 * sizeof(abi::e1000_adv_tx_desc));
  EXPECT_EQ(bench.port.log[1].addr, RING_BASE + 4 * sizeof(abi::e1000_adv_tx_desc));
  EXPECT_EQ(bench.port.log[1].len, 2 * sizeof(abi::e1000_adv_tx_desc));
  ASSERT_EQ(taken.size(), 6u);
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(taken[i].read.buffer_addr, adv_tx(i, 60 + i).read.buffer_addr) << i;
    EXPECT_EQ(taken[i].read.cmd_type_len, adv_tx(i, 60 + i).read.cmd_type_len) << i;
    EXPECT_EQ(taken[i].read.olinfo_status, adv_tx(i, 60 + i).read.olinfo_status) << i;
  }
}

TEST(desc_ring_test, tx_ring_fetch_stops_at_the_end_of_the_ring_and_wraps) {
  std::vector<uint64_t> buffers;
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", params(4, 0, 1), [&](auto& b) {
    b.setup();
    b.write_reg(abi::TXQ_BASE(1) + abi::TDH_OFF, 6);  // the ring starts near its end
    for (unsigned i : {6u, 7u, 0u, 1u}) b.post(i, adv_tx(i, 100));
    b.set_tail(2);
    EXPECT_EQ(b.ring.unfetched(), 4u);
    sc_time local = sc_core::SC_ZERO_TIME;
    EXPECT_TRUE(b.ring.fetch(local));
    EXPECT_EQ(b.ring.cached(), 2u) << "slots 6 and 7 only: one read never crosses the end";
    EXPECT_TRUE(b.ring.fetch(local));
    EXPECT_EQ(b.ring.cached(), 4u);
    while (b.ring.cached() != 0) buffers.push_back(b.ring.take().read.buffer_addr);
  });
  sc_core::sc_start(ns(1000));

  ASSERT_EQ(bench.port.log.size(), 2u);
  EXPECT_EQ(bench.port.log[0].addr, RING_BASE + 6 * 16);
  EXPECT_EQ(bench.port.log[1].addr, RING_BASE);
  EXPECT_EQ(buffers, (std::vector<uint64_t>{adv_tx(6, 0).read.buffer_addr, adv_tx(7, 0).read.buffer_addr,
                                            adv_tx(0, 0).read.buffer_addr, adv_tx(1, 0).read.buffer_addr}));
}

TEST(desc_ring_test, tx_ring_writes_back_wthresh_descriptors_at_head_in_one_burst) {
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", params(8, 0, 3), [&](auto& b) {
    b.setup();
    for (unsigned i = 0; i < 7; ++i) b.post(i, adv_tx(i, 64));
    b.set_tail(7);
    sc_time local = sc_core::SC_ZERO_TIME;
    b.ring.fetch(local);
    for (unsigned k = 0; k < 3; ++k) {
      EXPECT_FALSE(b.ring.write_back_due()) << k;
      b.ring.take();
      b.ring.complete(adv_tx_done());
    }
    EXPECT_TRUE(b.ring.write_back_due()) << "WTHRESH reached";
    EXPECT_EQ(b.ring.write_back(local), 3u);
    EXPECT_EQ(b.ring.batched(), 0u);
    EXPECT_EQ(b.read_reg(abi::TXQ_BASE(1) + abi::TDH_OFF), 3u) << "head moved past the batch";
    for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(b.in_memory(i).wb.status, abi::TXD_STAT_DD) << i;
    EXPECT_EQ(b.in_memory(3).read.cmd_type_len, adv_tx(3, 64).read.cmd_type_len) << "not written back yet";
  });
  sc_core::sc_start(ns(1000));

  ASSERT_EQ(bench.port.log.size(), 2u);
  EXPECT_TRUE(bench.port.log[1].write);
  EXPECT_EQ(bench.port.log[1].dir, ring_dir::tx);
  EXPECT_EQ(bench.port.log[1].addr, RING_BASE);
  EXPECT_EQ(bench.port.log[1].len, 3 * sizeof(abi::e1000_adv_tx_desc));
}

TEST(desc_ring_test, a_write_back_batch_never_wraps_and_head_wraps_to_zero) {
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", params(8, 0, 8), [&](auto& b) {
    b.setup();
    b.write_reg(abi::TXQ_BASE(1) + abi::TDH_OFF, 5);
    for (unsigned i : {5u, 6u, 7u, 0u}) b.post(i, adv_tx(i, 64));
    b.set_tail(1);
    sc_time local = sc_core::SC_ZERO_TIME;
    b.ring.fetch(local);  // slots 5..7
    for (unsigned k = 0; k < 3; ++k) {
      b.ring.take();
      b.ring.complete(adv_tx_done());
    }
    EXPECT_TRUE(b.ring.write_back_due()) << "the batch ends at the ring's end, far below WTHRESH";
    b.ring.write_back(local);
    EXPECT_EQ(b.read_reg(abi::TXQ_BASE(1) + abi::TDH_OFF), 0u);
  });
  sc_core::sc_start(ns(1000));

  ASSERT_EQ(bench.port.log.size(), 2u);
  EXPECT_EQ(bench.port.log[1].addr, RING_BASE + 5 * 16);
  EXPECT_EQ(bench.port.log[1].len, 3 * 16u);
}

TEST(desc_ring_test, tx_ring_wants_a_prefetch_below_pthresh_while_the_driver_has_more) {
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", params(2, 3, 1), [&](auto& b) {
    b.setup();
    EXPECT_FALSE(b.ring.wants_prefetch()) << "nothing posted";
    for (unsigned i = 0; i < 5; ++i) b.post(i, adv_tx(i, 64));
    b.set_tail(5);
    EXPECT_TRUE(b.ring.wants_prefetch());
    sc_time local = sc_core::SC_ZERO_TIME;
    b.ring.fetch(local);
    EXPECT_TRUE(b.ring.wants_prefetch()) << "2 cached, PTHRESH 3";
    b.ring.fetch(local);
    EXPECT_FALSE(b.ring.wants_prefetch()) << "4 cached";
    b.ring.take();
    b.ring.take();
    EXPECT_TRUE(b.ring.wants_prefetch()) << "2 cached again, one still posted";
    b.ring.fetch(local);
    EXPECT_EQ(b.ring.cached(), 3u);
    EXPECT_FALSE(b.ring.wants_prefetch()) << "the driver has no more";
  });
  sc_core::sc_start(ns(1000));
}

TEST(desc_ring_test, a_head_write_during_a_fetch_drops_what_it_brings) {
  bool fetched = true;
  ring_bench<abi::e1000_adv_tx_desc> bench("bench", params(4, 0, 1), [&](auto& b) {
    b.setup();
    for (unsigned i = 0; i < 4; ++i) b.post(i, adv_tx(i, 64));
    b.set_tail(4);
    sc_core::sc_spawn([&b] {
      sc_core::wait(ns(DMA_NS / 2));  // while the read is in flight
      b.write_reg(abi::TXQ_BASE(1) + abi::TDH_OFF, 2);
    });
    sc_time local = sc_core::SC_ZERO_TIME;
    fetched = b.ring.fetch(local);
    EXPECT_EQ(b.ring.cached(), 0u);
    EXPECT_EQ(b.ring.unfetched(), 2u) << "fetching restarts at the new head";
  });
  sc_core::sc_start(ns(1000));
  EXPECT_FALSE(fetched);
}

TEST(desc_ring_test, a_legacy_tx_ring_runs_through_fetch_and_write_back) {
  ring_bench<abi::e1000_tx_desc> bench("bench", params(4, 0, 2), [&](auto& b) {
    b.setup();
    for (unsigned i = 0; i < 2; ++i) {
      abi::e1000_tx_desc d{};
      d.buffer_addr = 0x200000 + 0x800 * i;
      d.lower.data = abi::TXD_CMD_EOP | abi::TXD_CMD_IFCS | abi::TXD_CMD_RS | (100 + i);
      b.post(i, d);
    }
    b.set_tail(2);
    sc_time local = sc_core::SC_ZERO_TIME;
    ASSERT_TRUE(b.ring.fetch(local));
    for (unsigned i = 0; i < 2; ++i) {
      abi::e1000_tx_desc d = b.ring.take();
      EXPECT_EQ(d.lower.flags.length, 100 + i);
      EXPECT_EQ(d.buffer_addr, 0x200000 + 0x800 * i);
      d.upper.data = abi::TXD_STAT_DD;
      b.ring.complete(d);
    }
    ASSERT_TRUE(b.ring.write_back_due());
    b.ring.write_back(local);
    for (unsigned i = 0; i < 2; ++i) {
      EXPECT_EQ(b.in_memory(i).upper.fields.status, abi::TXD_STAT_DD) << i;
      EXPECT_EQ(b.in_memory(i).lower.flags.length, 100 + i) << "written back whole";
    }
    EXPECT_EQ(b.read_reg(abi::TXQ_BASE(1) + abi::TDH_OFF), 2u);
  });
  sc_core::sc_start(ns(1000));
}

}  // namespace
