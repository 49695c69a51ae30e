#pragma once
// The NIC: MAC receive, RX FIFO, RX DMA engine over a legacy e1000 descriptor
// ring, the register file on BAR0, and MSI. Interrupt moderation is RTL
// (rtl/intr_moderation.v) behind hw/intr_moderation_rtl.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "hw/nic_regs.h"
#include "hw/reg_file.h"
#include "proto/frame.h"
#include "waves/observer.h"

namespace nicsim::hw {

class intr_moderation_rtl;
class rx_frontend_rtl;

struct nic_params {
  uint64_t rx_fifo_bytes = 64 * 1024;  // 82574's RX packet buffer is 20–40 KiB; modern NICs 256 KiB+
  unsigned desc_fetch_batch = 4;       // descriptors fetched per read (e1000 fetches in groups)
  // RXDCTL.PTHRESH: a prefetcher refills the on-chip cache whenever it holds fewer than this
  // many descriptors, overlapping fetches with data DMA; 0 = fetch only when the cache is empty.
  unsigned desc_prefetch_threshold = 0;
  // RXDCTL.WTHRESH: write back up to this many descriptors in one TLP while frames keep
  // coming; a batch is flushed as soon as no frame waits (1 = one write-back per frame).
  unsigned desc_wb_batch = 1;
  unsigned max_payload_bytes = 256;  // MPS for DMA writes
  sc_core::sc_time fifo_to_dma{20, sc_core::SC_NS};
  // The verilated RX front end checks every frame (and can offload checksums). Off, the
  // MAC checks only the FCS, in C++: faster, with no checksum offload or length checks.
  bool rtl_frontend = true;  // internal pipeline from FIFO head to the DMA engine
};

// ethtool -S style counters.
struct nic_stats {
  uint64_t rx_packets = 0;  // frames written to host memory
  uint64_t rx_bytes = 0;
  uint64_t rx_crc_errors = 0;           // bad FCS, dropped at the MAC
  uint64_t rx_short_length_errors = 0;  // runts (< 64 bytes), dropped at the MAC
  uint64_t rx_long_length_errors = 0;   // longer than 1518 bytes, dropped at the MAC
  uint64_t rx_csum_offload_good = 0;    // L4 checksums the front end verified
  uint64_t rx_csum_offload_errors = 0;  // L4 checksum errors it reported (TCPE)
  uint64_t rx_missed_errors = 0;        // RX FIFO full, dropped (MPC)
  uint64_t rx_no_buffer_count = 0;      // frames that found no free descriptor and waited (RNBC)
  uint64_t rx_desc_fetches = 0;         // descriptor read requests
  uint64_t rx_desc_fetch_stalls = 0;    // frames that waited for a descriptor fetch in flight
  uint64_t rx_desc_writebacks = 0;      // descriptor write-back TLP bursts
  uint64_t interrupts = 0;              // MSIs sent
  uint64_t frames_in = 0;               // frames the MAC saw
};

class nic : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<nic> mmio;    // BAR0
  tlm_utils::simple_initiator_socket<nic> dma;  // toward the PCIe link

  nic(const sc_core::sc_module_name& name, const nic_params& params);
  ~nic() override;

  // The wire hands a frame over when its last bit has arrived.
  void mac_rx(const proto::wire_frame& frame);

  const nic_stats& stats() const { return m_stats; }
  const nic_params& params() const { return m_params; }
  // Frames held in the NIC (FIFO and the one in DMA), for the conservation check.
  uint64_t frames_held() const { return m_fifo.size(); }
  uint64_t fifo_bytes_used() const { return m_fifo_used; }
  uint32_t rdh() const { return m_rdh; }
  uint32_t rdt() const { return m_rdt; }
  intr_moderation_rtl& moderation() { return *m_moderation; }
  rx_frontend_rtl& frontend() { return *m_frontend; }
  // Report signals, timeline slices and frame stages to o (before the run starts).
  void attach(waves::observer* o);

 private:
  void mmio_b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void rx_dma_thread();
  void desc_prefetch_thread();
  uint32_t descriptors_available() const;
  void flush_writebacks(sc_core::sc_time& local);
  bool fetch_descriptors(sc_core::sc_time& local);
  void dma_write(uint64_t addr, const uint8_t* data, unsigned len, sc_core::sc_time& local);
  void send_msi();
  uint32_t ring_size() const { return m_rdlen / regs::RX_DESC_SIZE; }
  uint64_t ring_base() const { return (static_cast<uint64_t>(m_rdbah) << 32) | m_rdbal; }

  nic_params m_params;
  reg_file m_regs;
  std::unique_ptr<intr_moderation_rtl> m_moderation;
  std::unique_ptr<rx_frontend_rtl> m_frontend;
  uint32_t m_rxcsum = 0;

  // Register state with side effects on the model.
  uint32_t m_icr = 0, m_ims = 0, m_rctl = 0;
  uint32_t m_rdbal = 0, m_rdbah = 0, m_rdlen = 0, m_rdh = 0, m_rdt = 0;
  uint32_t m_msi_addr_lo = 0, m_msi_addr_hi = 0, m_msi_data = 0;

  std::deque<proto::wire_frame> m_fifo;
  // Per FIFO entry: the descriptor's status and error bits from the front end.
  std::deque<std::pair<uint8_t, uint8_t>> m_fifo_desc_bits;
  uint64_t m_fifo_used = 0;
  sc_core::sc_event m_fifo_ev, m_tail_ev;
  std::deque<uint64_t> m_desc_cache;      // prefetched buffer addresses
  std::vector<uint8_t> m_desc_fetch_buf;  // a descriptor read lands here (the thread suspends)
  sc_core::sc_event m_cache_ev;           // descriptors arrived in the cache
  sc_core::sc_event m_cache_drained_ev;   // one was taken from it
  std::vector<uint8_t> m_wb_buf;          // descriptors done, not yet written back
  std::vector<uint64_t> m_wb_ids;         // their frames (for observers)
  unsigned m_wb_count = 0;
  uint32_t m_next_fetch = 0;                                  // ring index of the next descriptor to fetch
  uint32_t m_crcerrs = 0, m_mpc = 0, m_gprc = 0, m_rnbc = 0;  // read-to-clear statistic registers
  nic_stats m_stats;

  waves::observer* m_obs = nullptr;
  int m_dma_track = -1;
  struct {
    waves::probe fifo_bytes, fifo_frames, rdh, rdt, hw_free, dma_busy, dma_addr, dma_len, msis, masked,
        pending, timer_armed, icr;
    waves::text_probe dma_kind, reg_write;
  } m_probe;
  void probe_ring();
};

}  // namespace nicsim::hw
