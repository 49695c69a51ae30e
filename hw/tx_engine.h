#pragma once
// The NIC's transmit side: one descriptor ring per TX queue (hw/desc_ring), the TX DMA
// engine that fetches descriptors and reads the data they point at over PCIe, the TX FIFO
// (packet buffer) the assembled frames wait in, the MAC's transmit side that sends them
// through the port at line rate, and the e1000's transmit interrupt delay (TIDV/TADV).
//
// Modelled after the 8254x Software Developer's Manual, 3.3 "Packet Transmission" and
// 3.4 "Transmit Descriptor Ring Structure", 13.4.33-13.4.46 (TCTL, TIPG, TDBAL ... TADV),
// and gem5's TxDescCache / txStateMachine (src/dev/net/i8254xGBe.cc). How software uses
// it: e1000_configure_tx, e1000_xmit_frame / e1000_tx_queue and e1000_clean_tx_irq in
// drivers/net/ethernet/intel/e1000/e1000_main.c (v6.6).
//
// - Descriptors: legacy (struct e1000_tx_desc) on every queue. A packet is the data of
//   consecutive descriptors up to the one with EOP; IFCS on it appends the FCS, TCTL.PSP
//   pads a shorter frame to 60 bytes first. An extended descriptor (DEXT) of the advanced
//   data type has the same length and command bits and is treated alike (no offloads); an
//   advanced context descriptor carries no data and is consumed. IC, VLE and the
//   advanced offloads are not implemented: the stack computes its checksums itself.
// - Write-back: DD is written once the packet's data has been read into the TX FIFO, not
//   after the frame has left the wire (gem5's TxDescCache does the same, and the driver may
//   unmap the buffers then: the bytes are on chip). Only descriptors with RS (or RPS) get
//   DD. With TXDCTL.WTHRESH 0 or 1, each RS descriptor is written back on its own (the
//   whole 16 bytes, status in the upper dword); descriptors without RS move TDH with no
//   DMA. With WTHRESH > 1, once an RS descriptor opens a batch, the descriptors after it
//   join it until WTHRESH of them, the ring's end, or the engine has nothing more to do.
// - Interrupts: a write-back with RS raises the queue's TX cause at once when the RS
//   descriptor has no IDE or TIDV is 0; otherwise TIDV (re-armed by each such write-back)
//   or TADV (armed by the first, 0: off) delays it, whichever runs out first. TIDV.FPD
//   flushes a delayed cause. The cause is then the interrupt unit's (interrupts::tx_done).
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "abi/e1000_hw.h"
#include "hw/desc_ring.h"
#include "hw/nic_params.h"
#include "hw/nic_stats.h"
#include "hw/reg_file.h"
#include "proto/frame.h"
#include "waves/observer.h"

namespace nicsim::hw {

class interrupts;

// What the TX engine needs of the NIC besides the ring DMA: a non-posted read of packet
// data through the NIC's DMA socket, and the MAC's transmit through the port.
class tx_dma {
 public:
  virtual ~tx_dma() = default;
  virtual void read_tx_data(uint64_t addr, uint8_t* data, unsigned len, sc_core::sc_time& local) = 0;
  // Returns when the frame's last bit has reached the partner.
  virtual void transmit(const proto::wire_frame& frame) = 0;
  // The port's slot for a frame of `bytes`: preamble, frame and inter-frame gap.
  virtual sc_core::sc_time slot_time(size_t bytes) const = 0;
};

class tx_engine : public sc_core::sc_module {
 public:
  // Transmit control and inter-packet gap (8254x), the interrupt delay timers, and the
  // transmit statistics, read to clear.
  reg tctl, tipg, tidv, tadv, gptc, gotcl, gotch;

  tx_engine(const sc_core::sc_module_name& name, const nic_params& params, reg_file& regs,
            desc_ring_dma& ring_dma, tx_dma& dma, interrupts& irq, nic_stats& stats);
  ~tx_engine() override;

  unsigned queues() const { return static_cast<unsigned>(m_q.size()); }
  const nic_queue_stats& queue_stats(unsigned q) const { return m_q.at(q)->stats; }
  uint32_t tdh(unsigned q) const { return m_q.at(q)->ring.head; }
  uint32_t tdt(unsigned q) const { return m_q.at(q)->ring.tail; }
  // Frames in the TX FIFO (assembled, not yet fully on the wire) and their bytes.
  uint64_t fifo_frames() const { return m_fifo.size(); }
  uint64_t fifo_bytes() const { return m_fifo_bytes; }

  // Drops what the engine holds on chip: descriptor caches, write-back batches, armed
  // delay timers, frames in the TX FIFO that have not started on the wire. The registers
  // are the register file's to reset. Meant for an idle transmitter, as a driver resets.
  void reset();
  // Report waves and the tx_dma timeline track to o.
  void attach(waves::observer* o);
  // Sends the current ring and FIFO values to the waves (after a register write).
  void probe_queues();

 private:
  struct tx_queue {
    tx_queue(unsigned index, const nic_params& params, reg_file& regs, desc_ring_dma& dma,
             sc_core::sc_event& kick);
    desc_ring<abi::e1000_tx_desc> ring;
    reg txdctl;
    nic_queue_stats stats;
    // The delayed TX cause: TIDV's deadline (re-armed) and TADV's (from the first).
    bool delay_armed = false, abs_armed = false;
    sc_core::sc_time delay_deadline, abs_deadline;
    // RS descriptors in the write-back batch, and whether one of them has no IDE.
    unsigned batch_rs = 0;
    bool batch_immediate = false;
    struct {
      waves::probe tdh, tdt, hw_owned;
    } probe;
  };
  struct fifo_entry {
    proto::wire_frame frame;
    unsigned queue = 0;
    uint64_t data_bytes = 0;  // read from host memory (the frame less FCS and padding)
  };

  bool enabled() const { return (tctl & abi::TCTL_EN) != 0; }
  bool has_work(const tx_queue& q) const;
  tx_queue* pick();
  void dma_thread();
  void mac_thread();
  void timer_method();
  void send_packet(tx_queue& q, sc_core::sc_time& local);
  void write_back(tx_queue& q, sc_core::sc_time& local);
  bool flush_all(sc_core::sc_time& local);  // false: there was nothing to write back
  void report(tx_queue& q, bool delayed);
  void fire(tx_queue& q);
  void rearm_timer();

  const nic_params& m_params;
  tx_dma& m_dma;
  interrupts& m_irq;
  nic_stats& m_stats;
  std::vector<std::unique_ptr<tx_queue>> m_q;
  unsigned m_next = 0;  // round robin among queues, packet by packet

  sc_core::sc_event m_kick;        // TDT/TDH/TCTL written
  sc_core::sc_event m_fifo_ev;     // a frame entered the TX FIFO
  sc_core::sc_event m_drained_ev;  // a frame left it
  sc_core::sc_event m_timer_ev;    // the earliest delay deadline
  std::deque<fifo_entry> m_fifo;
  uint64_t m_fifo_bytes = 0;
  uint64_t m_next_id = 0;
  sc_core::sc_time m_port_free;             // the previous frame's slot (frame + IFG) ends here
  std::vector<abi::e1000_tx_desc> m_descs;  // the descriptors of the packet being assembled
  std::vector<uint8_t> m_frame;             // its bytes

  waves::observer* m_obs = nullptr;
  int m_track = -1;
  struct {
    waves::probe fifo_bytes, fifo_frames;
  } m_probe;
};

}  // namespace nicsim::hw
