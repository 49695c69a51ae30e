#pragma once
// The NIC: a register file on BAR0, an Ethernet port to the link partner (tlm/eth_port),
// the receive side of the MAC with its packet buffer (hw/rx_mac), one descriptor ring per
// RX queue (hw/desc_ring), the RX DMA engine that moves frames from the packet buffer into
// those rings, and the interrupt unit (hw/interrupts) with a verilated moderation block per
// queue, and the transmit side (hw/tx_engine: TX rings, TX DMA, TX FIFO, the MAC's
// transmit). Offsets, bits and descriptor layouts are the ABI the driver shares (abi/e1000_hw.h).
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "abi/e1000_hw.h"
#include "hw/desc_ring.h"
#include "hw/nic_params.h"
#include "hw/nic_stats.h"
#include "hw/reg_file.h"
#include "hw/tx_engine.h"
#include "proto/frame.h"
#include "tlm/eth_port.h"
#include "tlm/payload.h"
#include "waves/observer.h"

namespace nicsim::hw {

class interrupts;
class intr_moderation_rtl;
class rx_frontend_rtl;
class rx_mac;

class nic : public sc_core::sc_module, private desc_ring_dma, private tx_dma {
 public:
  // Device control and status, receive control and the receive statistics the DMA engine
  // counts. The other registers belong to the units that act on them.
  reg ctrl, status, rctl, gprc, rnbc;

  tlm_utils::simple_target_socket<nic> mmio;    // BAR0
  tlm_utils::simple_initiator_socket<nic> dma;  // toward the PCIe link
  // The MAC's Ethernet port toward the link partner: frames arriving here go to mac_rx, and
  // mac_tx sends through it. Its line rate is the partner's (autonegotiated).
  tlm::eth_port port;

  nic(const sc_core::sc_module_name& name, const nic_params& params);
  ~nic() override;

  // The wire hands a frame over when its last bit has arrived (the port calls this; tests
  // may call it directly).
  void mac_rx(const proto::wire_frame& frame);
  // The MAC's transmit side: puts a frame on the wire through the port, from a SystemC
  // thread, and returns when its last bit has reached the partner. The TX engine sends
  // through it; tests may call it directly.
  void mac_tx(const proto::wire_frame& frame);

  // Every register back to its reset value and what the units hold on chip dropped:
  // descriptor caches and write-back batches, pending MSI-X messages, the moderation
  // blocks' state. Frames in the packet buffer stay, and so do the counters in stats().
  // Meant for an idle receiver, as a driver resets the device (CTRL.RST) after disabling it.
  void reset();

  const nic_stats& stats() const { return m_stats; }
  const nic_params& params() const { return m_params; }
  // Frames held in the NIC (the packet buffer, including the one in DMA), for the
  // conservation check.
  uint64_t frames_held() const;
  uint64_t fifo_bytes_used() const;
  unsigned queues() const { return static_cast<unsigned>(m_q.size()); }
  const nic_queue_stats& queue_stats(unsigned q) const { return m_queue_stats.at(q); }
  uint32_t rdh(unsigned q = 0) const { return m_q.at(q)->ring.head; }
  // The transmit side: ethtool -S tx_queue_<n>_packets/_bytes, TDH/TDT, the TX FIFO.
  unsigned tx_queues() const { return m_tx->queues(); }
  const nic_queue_stats& tx_queue_stats(unsigned q) const { return m_tx->queue_stats(q); }
  uint32_t tdh(unsigned q = 0) const { return m_tx->tdh(q); }
  uint64_t tx_frames_held() const { return m_tx->fifo_frames(); }
  uint64_t tx_fifo_bytes_used() const { return m_tx->fifo_bytes(); }
  intr_moderation_rtl& moderation(unsigned q = 0);
  rx_frontend_rtl& frontend();
  // Report signals, timeline slices and frame stages to o (before the run starts).
  void attach(waves::observer* o);

 private:
  // One RX queue: its descriptor ring, SRRCTL, and the frames of its write-back batch.
  struct rx_queue {
    rx_queue(unsigned index, const nic_params& params, reg_file& regs, desc_ring_dma& dma,
             sc_core::sc_event& kick);
    desc_ring<abi::e1000_rx_desc> ring;
    reg srrctl;
    std::vector<uint64_t> wb_ids;  // frames whose descriptors wait in the batch (for observers)
    struct {
      waves::probe rdh, rdt, hw_free, masked, pending, timer_armed;
    } probe;
  };

  static const nic_params& checked(const nic_params& params, const char* name);
  void mmio_b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned mmio_transport_dbg(::tlm::tlm_generic_payload& trans);
  bool rx_enabled() const { return (rctl & abi::RCTL_EN) != 0; }

  // The RX DMA engine.
  void rx_dma_thread();
  void desc_prefetch_thread();
  void flush_writebacks(rx_queue& q, sc_core::sc_time& local);
  void flush_all_writebacks(sc_core::sc_time& local);
  // whole: one transaction for all len bytes (a frame's data); otherwise one per MPS.
  void dma_write(uint64_t addr, const uint8_t* data, unsigned len, sc_core::sc_time& local,
                 bool whole = false);
  // desc_ring_dma
  void read_descriptors(ring_dir dir, uint64_t addr, uint8_t* data, unsigned len,
                        sc_core::sc_time& local) override;
  void write_descriptors(ring_dir dir, uint64_t addr, const uint8_t* data, unsigned len,
                         sc_core::sc_time& local) override;
  // The DMA engine's generic payloads, reused (a non-posted read holds its own while other
  // threads issue theirs).
  tlm::payload_pool m_payloads{*this};
  // tx_dma
  void read_tx_data(uint64_t addr, uint8_t* data, unsigned len, sc_core::sc_time& local) override;
  void transmit(const proto::wire_frame& frame) override { mac_tx(frame); }
  sc_core::sc_time slot_time(size_t bytes) const override { return port.slot_time(bytes); }

  nic_params m_params;
  nic_stats m_stats;
  std::vector<nic_queue_stats> m_queue_stats;
  reg_file m_regs;
  sc_core::sc_event m_fifo_ev;           // a frame entered the packet buffer
  sc_core::sc_event m_tail_ev;           // the driver moved a ring or turned the receiver on
  sc_core::sc_event m_cache_ev;          // descriptors arrived in a cache
  sc_core::sc_event m_cache_drained_ev;  // one was taken from a cache
  std::unique_ptr<rx_mac> m_mac;
  std::unique_ptr<interrupts> m_irq;
  std::vector<std::unique_ptr<rx_queue>> m_q;
  std::unique_ptr<tx_engine> m_tx;

  waves::observer* m_obs = nullptr;
  int m_dma_track = -1;
  struct {
    waves::probe fifo_bytes, fifo_frames, dma_busy, dma_addr, dma_len, icr;
    waves::text_probe dma_kind, reg_write;
  } m_probe;
  void probe_ring();
};

}  // namespace nicsim::hw
