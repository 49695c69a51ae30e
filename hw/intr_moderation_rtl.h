#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <systemc>

// Verilator's types stay out of this header so that users of the adapter do
// not need Verilator's include directories.
class Vintr_moderation;
class VerilatedContext;
class VerilatedFstC;

namespace nicsim::hw {

// SystemC adapter around the verilated rtl/intr_moderation.v: interrupt moderation
// in the ethtool/timer (rx-usecs / rx-frames from the first packet), e1000 (ITR / RDTR /
// RADV), arm (auto-mask with a minimum interval) or itr (82576/82599 EITR: a minimum gap
// between interrupts) mode; the RTL's header has the rules.
//
// The RTL is clocked only when something happens: packets complete, the driver
// writes the mask, or one of the block's timers runs out. Everything requested in
// one delta cycle is applied in a single clock cycle at the current time, so an
// idle block costs nothing however long the simulation runs.
class intr_moderation_rtl : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(intr_moderation_rtl);

  explicit intr_moderation_rtl(const sc_core::sc_module_name& name);
  ~intr_moderation_rtl() override;

  intr_moderation_rtl(const intr_moderation_rtl&) = delete;
  intr_moderation_rtl& operator=(const intr_moderation_rtl&) = delete;

  // ethtool -C rx-usecs / rx-frames. Applied from the next evaluation; a deadline
  // already armed keeps the rx-usecs it was armed with.
  void set_rx_usecs(uint16_t usecs);
  void set_rx_frames(uint16_t frames);

  enum class mode : uint8_t { ethtool = 0, e1000 = 1, arm = 2, itr = 3 };
  // Applied from the next evaluation; ethtool after reset.
  void set_mode(mode m);
  // e1000: minimum gap between interrupts in 256 ns units (0: no limit).
  void set_itr(uint16_t units_256ns);
  // e1000: packet timer, re-armed by every packet (0: interrupt per packet).
  void set_rdtr(uint16_t units_1024ns);
  // e1000: absolute timer from the first pending packet (0: off).
  void set_radv(uint16_t units_1024ns);
  // arm and itr: minimum gap between interrupts.
  void set_min_interval_ns(uint32_t ns);

  // Descriptors written back. Calls within one delta cycle are coalesced.
  void packet_done(unsigned n = 1);
  // A cause other than a received packet (the transmit write-back, TXDW): in e1000 mode it
  // latches the cause at once and waits out ITR only; elsewhere it counts as a packet.
  // Calls within one delta cycle are coalesced into one.
  void cause();
  // IMC / IMS writes. Within one delta cycle the last write wins.
  void mask();
  void unmask();

  // Raised from the evaluation (an SC_METHOD), so it must not wait(). It may call
  // mask(), unmask() or packet_done(); they take effect in the next delta cycle.
  std::function<void()> on_irq;
  // Called after every evaluation, for observers of the block's state.
  std::function<void()> on_evaluate;

  bool masked() const;
  unsigned pending() const;
  bool timer_armed() const;
  // Clock cycles evaluated since construction; stays flat while the block is idle.
  uint64_t evaluations() const;
  uint64_t interrupts() const;

  // Dump every evaluated cycle to an FST file until the adapter is destroyed.
  void trace_fst(const std::string& path);

  // rst_n asserted for a few clocks, every setting back to its reset value and requests not
  // yet evaluated dropped: the block as constructed. The counters above keep counting.
  void reset();

 private:
  void evaluate();
  void assert_reset();
  void clock_cycle(uint64_t now_ns, uint8_t pkt_done, bool cause_set, bool mask_set, bool mask_clr);
  void dump_trace(uint64_t time_ps);

  sc_core::sc_event m_wake;

  // Model time is kept in its own context rather than Verilator's global one.
  std::unique_ptr<VerilatedContext> m_context;
  std::unique_ptr<Vintr_moderation> m_model;
  std::unique_ptr<VerilatedFstC> m_trace;
  uint64_t m_last_dump_ps = 0;
  uint64_t m_dumps = 0;  // since the waves were last flushed to the file

  uint64_t m_ticks_per_ns;
  uint16_t m_rx_usecs = 0;
  uint16_t m_rx_frames = 0;
  mode m_mode = mode::ethtool;
  uint16_t m_itr = 0;
  uint16_t m_rdtr = 0;
  uint16_t m_radv = 0;
  uint32_t m_min_interval_ns = 0;
  uint64_t m_pkt_done = 0;
  bool m_cause = false;
  bool m_mask_set = false;
  bool m_mask_clr = false;

  uint64_t m_evaluations = 0;
  uint64_t m_interrupts = 0;
};

}  // namespace nicsim::hw
