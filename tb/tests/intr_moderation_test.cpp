#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "hw/intr_moderation_rtl.h"

namespace {

using nicsim::hw::intr_moderation_rtl;
using sc_core::sc_time;

sc_time us(double v) { return sc_time(v, sc_core::SC_US); }
sc_time ms(double v) { return sc_time(v, sc_core::SC_MS); }

using irq_times = std::vector<sc_time>;

// Drives the adapter from one thread, the way a NIC and its driver would, and
// records when each interrupt was raised.
class moderation_bench : public sc_core::sc_module {
 public:
  using stimulus_fn = std::function<void(moderation_bench&)>;

  SC_HAS_PROCESS(moderation_bench);

  moderation_bench(const sc_core::sc_module_name& name, stimulus_fn stimulus)
      : sc_core::sc_module(name), m_stimulus(std::move(stimulus)) {
    dut.on_irq = [this] { irqs.push_back(sc_core::sc_time_stamp()); };
    SC_THREAD(run);
  }

  void wait_until(const sc_time& t) {
    ASSERT_GE(t, sc_core::sc_time_stamp());
    sc_core::wait(t - sc_core::sc_time_stamp());
  }

  intr_moderation_rtl dut{"dut"};
  irq_times irqs;

 private:
  void run() { m_stimulus(*this); }

  stimulus_fn m_stimulus;
};

TEST(intr_moderation, rx_usecs_delays_interrupt_from_first_packet) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.dut.packet_done();
    b.wait_until(us(3));
    b.dut.packet_done();
    b.wait_until(us(6));
    b.dut.packet_done();
    b.wait_until(us(9.999));
    EXPECT_EQ(b.dut.pending(), 3u);
    EXPECT_TRUE(b.dut.timer_armed());
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, irq_times{us(10)});
  EXPECT_EQ(bench.dut.interrupts(), 1u);
  EXPECT_EQ(bench.dut.pending(), 0u);
  EXPECT_FALSE(bench.dut.timer_armed());
}

TEST(intr_moderation, rx_frames_fires_on_count_before_timer) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(100);
    b.dut.set_rx_frames(4);
    for (int t = 0; t < 4; ++t) {
      b.wait_until(us(t));
      b.dut.packet_done();
    }
  });
  sc_core::sc_start(us(300));

  // The frame count disarms the timer: nothing more at the 100 us deadline.
  EXPECT_EQ(bench.irqs, irq_times{us(3)});
  EXPECT_FALSE(bench.dut.timer_armed());
}

TEST(intr_moderation, rx_frames_batch_in_one_cycle_fires_at_once) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(100);
    b.dut.set_rx_frames(4);
    b.wait_until(us(2));
    b.dut.packet_done(3);
    b.wait_until(us(5));
    b.dut.packet_done(6);
  });
  sc_core::sc_start(us(50));

  EXPECT_EQ(bench.irqs, irq_times{us(5)});
  EXPECT_EQ(bench.dut.pending(), 0u);
}

TEST(intr_moderation, zero_rx_usecs_interrupts_per_packet) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(0);
    for (double t : {1.0, 2.0, 5.0}) {
      b.wait_until(us(t));
      b.dut.packet_done();
    }
  });
  sc_core::sc_start(us(50));

  EXPECT_EQ(bench.irqs, (irq_times{us(1), us(2), us(5)}));
  EXPECT_EQ(bench.dut.interrupts(), 3u);
}

TEST(intr_moderation, switching_to_zero_rx_usecs_fires_at_next_packet) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(100);
    b.dut.packet_done();
    b.wait_until(us(5));
    b.dut.set_rx_usecs(0);
    b.wait_until(us(6));
    b.dut.packet_done();
  });
  sc_core::sc_start(us(200));

  // Not at the 100 us deadline armed before the switch.
  EXPECT_EQ(bench.irqs, irq_times{us(6)});
}

TEST(intr_moderation, masked_block_holds_interrupt_until_unmask) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.dut.mask();
    b.wait_until(us(1));
    b.dut.packet_done();
    b.wait_until(us(2));
    b.dut.packet_done();
    b.wait_until(us(20));
    EXPECT_TRUE(b.dut.masked());
    EXPECT_EQ(b.dut.pending(), 2u);
    EXPECT_TRUE(b.irqs.empty());
    b.wait_until(us(30));
    b.dut.unmask();
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, irq_times{us(30)});
  EXPECT_FALSE(bench.dut.masked());
  EXPECT_EQ(bench.dut.pending(), 0u);
}

TEST(intr_moderation, unmask_before_deadline_fires_at_deadline) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.dut.mask();
    b.wait_until(us(1));
    b.dut.packet_done();
    b.wait_until(us(5));
    b.dut.unmask();
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, irq_times{us(11)});
}

TEST(intr_moderation, mask_from_interrupt_handler_defers_next_interrupt_to_unmask) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.dut.packet_done();
    b.wait_until(us(12));
    EXPECT_TRUE(b.dut.masked());
    b.dut.packet_done();
    b.wait_until(us(13));
    b.dut.packet_done();
    // The 22 us deadline passes while masked; the unmask (NAPI done) raises it.
    b.wait_until(us(30));
    b.dut.unmask();
  });
  // e1000_intr writes IMC before scheduling NAPI.
  bench.dut.on_irq = [&bench] {
    bench.irqs.push_back(sc_core::sc_time_stamp());
    bench.dut.mask();
  };
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, (irq_times{us(10), us(30)}));
  EXPECT_TRUE(bench.dut.masked());
}

TEST(intr_moderation, timer_rearms_from_next_first_packet_after_interrupt) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.dut.packet_done();
    b.wait_until(us(15));
    b.dut.packet_done();
    b.wait_until(us(17));
    b.dut.packet_done();
  });
  sc_core::sc_start(us(100));

  // Armed at 15 us by the first packet after the interrupt, not at 10 us or 17 us.
  EXPECT_EQ(bench.irqs, (irq_times{us(10), us(25)}));
}

TEST(intr_moderation, last_mask_write_in_a_delta_wins) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.unmask();
    b.dut.mask();
    b.wait_until(us(1));
    EXPECT_TRUE(b.dut.masked());
    b.dut.mask();
    b.dut.unmask();
    b.wait_until(us(2));
    EXPECT_FALSE(b.dut.masked());
  });
  sc_core::sc_start(us(10));

  EXPECT_EQ(bench.dut.evaluations(), 2u);
}

TEST(intr_moderation, packets_in_one_delta_take_one_evaluation) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.wait_until(us(1));
    b.dut.packet_done();
    b.dut.packet_done(2);
    b.dut.packet_done();
    b.wait_until(us(2));
    EXPECT_EQ(b.dut.pending(), 4u);
    EXPECT_EQ(b.dut.evaluations(), 1u);
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, irq_times{us(11)});
}

TEST(intr_moderation, pending_saturates_instead_of_wrapping) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(1000);
    b.dut.packet_done(70000);
    b.wait_until(us(1));
    EXPECT_EQ(b.dut.pending(), 65535u);
    EXPECT_TRUE(b.irqs.empty());
  });
  sc_core::sc_start(ms(2));

  EXPECT_EQ(bench.irqs, irq_times{ms(1)});
  EXPECT_EQ(bench.dut.pending(), 0u);
}

TEST(intr_moderation, idle_block_is_not_clocked) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_rx_usecs(10);
    b.wait_until(ms(500));
    EXPECT_EQ(b.dut.evaluations(), 0u);
    b.dut.packet_done();
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_SEC));

  // One cycle for the packet, one at its deadline, none for the idle second.
  EXPECT_EQ(bench.irqs, irq_times{ms(500) + us(10)});
  EXPECT_EQ(bench.dut.evaluations(), 2u);
}

TEST(intr_moderation, trace_fst_writes_waves) {
  const std::string path = ::testing::TempDir() + "intr_moderation_test.fst";
  std::filesystem::remove(path);
  {
    moderation_bench bench("bench", [](moderation_bench& b) {
      b.dut.set_rx_usecs(10);
      b.dut.packet_done();
    });
    bench.dut.trace_fst(path);
    sc_core::sc_start(us(20));
    EXPECT_EQ(bench.irqs, irq_times{us(10)});
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_GT(std::filesystem::file_size(path), 0u);
  std::filesystem::remove(path);
}

}  // namespace
