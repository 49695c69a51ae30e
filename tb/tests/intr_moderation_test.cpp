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

using mode = intr_moderation_rtl::mode;

sc_time ns(double v) { return sc_time(v, sc_core::SC_NS); }

TEST(intr_moderation, e1000_rdtr_fires_when_packets_stop_for_rdtr) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_rdtr(2);  // 2.048 us, re-armed by every packet
    for (double t : {0.0, 1.0, 2.0}) {
      b.wait_until(us(t));
      b.dut.packet_done();
    }
  });
  sc_core::sc_start(us(50));

  EXPECT_EQ(bench.irqs, irq_times{us(2) + ns(2048)});
  EXPECT_EQ(bench.dut.pending(), 0u);
  EXPECT_FALSE(bench.dut.timer_armed());
}

TEST(intr_moderation, e1000_zero_rdtr_interrupts_per_packet) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    for (double t : {1.0, 2.0, 5.0}) {
      b.wait_until(us(t));
      b.dut.packet_done();
    }
  });
  sc_core::sc_start(us(50));

  EXPECT_EQ(bench.irqs, (irq_times{us(1), us(2), us(5)}));
}

TEST(intr_moderation, e1000_radv_caps_the_delay_of_a_steady_stream) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_rdtr(2);  // never runs out: a packet comes every 1 us
    b.dut.set_radv(4);  // 4.096 us from the first pending packet
    for (int t = 0; t <= 12; ++t) {
      b.wait_until(us(t));
      b.dut.packet_done();
    }
  });
  sc_core::sc_start(us(50));

  // RADV from the first pending packets at 0 and 5 us; then the packet timer after the last one,
  // at 12 us, runs out before RADV from 10 us would.
  EXPECT_EQ(bench.irqs, (irq_times{ns(4096), us(5) + ns(4096), us(12) + ns(2048)}));
}

TEST(intr_moderation, e1000_packet_timer_ends_a_burst_before_radv) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_rdtr(2);
    b.dut.set_radv(100);
    b.wait_until(us(1));
    b.dut.packet_done();
  });
  sc_core::sc_start(us(200));

  EXPECT_EQ(bench.irqs, irq_times{us(1) + ns(2048)});
}

TEST(intr_moderation, e1000_itr_spaces_interrupts_at_least_itr_apart) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_itr(40);  // 10.24 us
    for (int t = 0; t <= 30; ++t) {
      b.wait_until(us(t));
      b.dut.packet_done();
    }
  });
  sc_core::sc_start(us(100));

  // The first comes at once; each later one waits for the end of the gap.
  EXPECT_EQ(bench.irqs, (irq_times{us(0), ns(10240), ns(20480), ns(30720)}));
  EXPECT_EQ(bench.dut.pending(), 0u);
}

TEST(intr_moderation, e1000_itr_delays_a_packet_timer_that_runs_out_inside_the_gap) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_itr(40);  // 10.24 us
    b.dut.set_rdtr(1);  // 1.024 us
    b.dut.packet_done();
    b.wait_until(us(3));
    b.dut.packet_done();
    // The cause stays latched: a packet after the timer ran out does not re-arm it away.
    b.wait_until(us(6));
    b.dut.packet_done();
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, (irq_times{ns(1024), ns(1024 + 10240)}));
}

TEST(intr_moderation, e1000_itr_gap_alone_is_not_a_reason_to_interrupt) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_itr(4);    // 1.024 us
    b.dut.set_rdtr(10);  // 10.24 us
    b.wait_until(us(1));
    b.dut.packet_done();
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, irq_times{us(1) + ns(10240)});
}

TEST(intr_moderation, e1000_masked_block_fires_on_unmask_for_a_timer_that_ran_out) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_rdtr(2);
    b.dut.mask();
    b.wait_until(us(1));
    b.dut.packet_done();
    b.wait_until(us(20));
    EXPECT_TRUE(b.irqs.empty());
    b.dut.packet_done();  // after the 3.048 us deadline: the earlier cause still counts
    b.wait_until(us(21));
    b.dut.unmask();
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, irq_times{us(21)});
}

TEST(intr_moderation, arm_fires_first_packet_then_waits_for_unmask_and_min_interval) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::arm);
    b.dut.set_min_interval_ns(10000);
    b.wait_until(us(1));
    b.dut.packet_done();
    b.wait_until(us(2));
    EXPECT_TRUE(b.dut.masked());  // firing disarmed the vector
    b.dut.packet_done();
    b.wait_until(us(5));
    b.dut.packet_done();
    b.wait_until(us(6));
    EXPECT_EQ(b.irqs.size(), 1u);
    b.dut.unmask();  // re-armed 5 us after the interrupt: waits out the 10 us interval
    b.wait_until(us(20));
    b.dut.packet_done();  // disarmed again by the interrupt at 11 us
    b.wait_until(us(30));
    b.dut.unmask();  // interval long over: fires at once
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, (irq_times{us(1), us(11), us(30)}));
  EXPECT_TRUE(bench.dut.masked());
  EXPECT_EQ(bench.dut.pending(), 0u);
}

// EITR on the 82576 / 82599 (igb_write_itr, ixgbe_write_eitr, v6.6): the interval is a
// minimum gap between interrupts, not a delay: a lone packet after a quiet spell interrupts
// at once, and packets inside the gap wait for its end.
TEST(intr_moderation, itr_lone_packet_interrupts_at_once_and_later_ones_wait_out_the_gap) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::itr);
    b.dut.set_min_interval_ns(50000);  // igb's IGB_20K_ITR: 196 / 4 = 49 us; here 50 us
    b.wait_until(us(3));
    b.dut.packet_done();  // first ever: at once
    b.wait_until(us(10));
    b.dut.packet_done();  // inside the gap: at 53 us
    b.wait_until(us(20));
    b.dut.packet_done();  // joins the pending one
    b.wait_until(us(500));
    b.dut.packet_done();  // long after: at once
  });
  sc_core::sc_start(us(1000));

  EXPECT_EQ(bench.irqs, (irq_times{us(3), us(53), us(500)}));
  EXPECT_EQ(bench.dut.pending(), 0u);
}

// The timer mode (mode ethtool) delays the same lone packet by rx-usecs: the two modes differ.
TEST(intr_moderation, timer_mode_delays_the_lone_packet_that_itr_mode_sends_at_once) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::ethtool);
    b.dut.set_rx_usecs(50);
    b.wait_until(us(3));
    b.dut.packet_done();
  });
  sc_core::sc_start(us(1000));
  EXPECT_EQ(bench.irqs, (irq_times{us(53)}));
}

TEST(intr_moderation, itr_masked_block_fires_on_unmask_after_the_gap) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::itr);
    b.dut.set_min_interval_ns(20000);
    b.dut.packet_done();  // at 0
    b.wait_until(us(1));
    b.dut.mask();  // the driver's poll
    b.wait_until(us(2));
    b.dut.packet_done();
    b.wait_until(us(30));
    b.dut.unmask();  // gap over: fires at once
  });
  sc_core::sc_start(us(100));
  EXPECT_EQ(bench.irqs, (irq_times{us(0), us(30)}));
}

// 8254x ITR throttles every cause: a transmit write-back (cause) inside the gap waits for its
// end in e1000 mode, as a received packet does.
TEST(intr_moderation, e1000_itr_throttles_the_transmit_cause_too) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::e1000);
    b.dut.set_itr(40);  // 10.24 us
    b.dut.set_rdtr(8);  // a packet alone would wait 8.192 us for RDTR; a TX cause does not
    b.dut.cause();
    b.wait_until(us(2));
    b.dut.cause();
  });
  sc_core::sc_start(us(100));
  EXPECT_EQ(bench.irqs, (irq_times{us(0), ns(10240)}));
}

TEST(intr_moderation, arm_with_zero_interval_fires_on_each_unmask_with_work) {
  moderation_bench bench("bench", [](moderation_bench& b) {
    b.dut.set_mode(mode::arm);
    b.dut.packet_done(3);
    b.wait_until(us(1));
    b.dut.packet_done();
    b.wait_until(us(2));
    b.dut.unmask();
    b.wait_until(us(3));
    b.dut.unmask();  // nothing pending: stays armed, no interrupt
    b.wait_until(us(4));
    EXPECT_FALSE(b.dut.masked());
    b.dut.packet_done();
  });
  sc_core::sc_start(us(100));

  EXPECT_EQ(bench.irqs, (irq_times{us(0), us(2), us(4)}));
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
