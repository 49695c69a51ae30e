#pragma once
// The NIC: MAC receive, RX FIFO, RX DMA engine over a legacy e1000 descriptor
// ring, the register file on BAR0, and MSI. Interrupt moderation is RTL
// (rtl/intr_moderation.v) behind hw/intr_moderation_rtl.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <array>
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
struct rx_status;

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
  // MAC checks only the FCS, in C++: faster, with no checksum offload, length checks or RSS.
  bool rtl_frontend = true;
  // RX queues the hardware has, each a descriptor ring with its own moderation block and
  // MSI-X vector (ethtool -l: pre-set maximum). The driver enables as many as it wants.
  unsigned rx_queues = 1;
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
  uint64_t rx_no_dma_resources = 0;     // dropped: its queue had no descriptor and SRRCTL.DROP_EN
  uint64_t interrupts = 0;              // MSI / MSI-X messages sent
  uint64_t frames_in = 0;               // frames the MAC saw
};

// ethtool -S rx_queue_<n>_* (igb).
struct nic_queue_stats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t drops = 0;       // RQDPC: dropped for want of a descriptor (DROP_EN)
  uint64_t interrupts = 0;  // messages sent for this queue's cause (a held MSI-X message counts when sent)
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
  unsigned queues() const { return static_cast<unsigned>(m_q.size()); }
  const nic_queue_stats& queue_stats(unsigned q) const { return m_q.at(q)->stats; }
  uint32_t rdh(unsigned q = 0) const { return m_q.at(q)->rdh; }
  intr_moderation_rtl& moderation(unsigned q = 0) { return *m_q.at(q)->moderation; }
  rx_frontend_rtl& frontend() { return *m_frontend; }
  // Report signals, timeline slices and frame stages to o (before the run starts).
  void attach(waves::observer* o);

 private:
  struct fifo_entry {
    proto::wire_frame frame;
    uint8_t status = 0, errors = 0;  // the descriptor's bits, from the front end
    unsigned queue = 0;              // where RSS sends it
  };
  // One RX queue: its ring registers, descriptor cache, write-back batch, moderation block
  // and MSI-X table entry.
  struct rx_queue {
    unsigned index = 0;
    uint32_t rdbal = 0, rdbah = 0, rdlen = 0, rdh = 0, rdt = 0, srrctl = 0;
    uint32_t next_fetch = 0;              // ring index of the next descriptor to fetch
    uint64_t fetch_generation = 0;        // bumped by an RDH write: reads in flight are stale
    std::deque<uint64_t> desc_cache;      // prefetched buffer addresses
    std::vector<uint8_t> desc_fetch_buf;  // a descriptor read lands here (the thread suspends)
    std::vector<uint8_t> wb_buf;          // descriptors done, not yet written back
    std::vector<uint64_t> wb_ids;         // their frames (for observers)
    unsigned wb_count = 0;
    unsigned fifo_frames = 0;  // frames in the FIFO bound for this queue
    std::unique_ptr<intr_moderation_rtl> moderation;
    uint32_t msix_addr_lo = 0, msix_addr_hi = 0, msix_data = 0, msix_ctrl = MSIX_CTRL_RESET;
    bool msix_pending = false;  // fired while its vector was masked (the PBA bit)
    nic_queue_stats stats;
    struct {
      waves::probe rdh, rdt, hw_free, masked, pending, timer_armed;
    } probe;
    uint32_t ring_size() const { return rdlen / regs::RX_DESC_SIZE; }
    uint64_t ring_base() const { return (static_cast<uint64_t>(rdbah) << 32) | rdbal; }
    static constexpr uint32_t MSIX_CTRL_RESET = regs::MSIX_VECTOR_CTRL_MASKED;
  };

  void add_queue_registers(rx_queue& q);
  void mmio_b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void rx_dma_thread();
  void desc_prefetch_thread();
  uint32_t descriptors_available(const rx_queue& q) const;
  void flush_writebacks(rx_queue& q, sc_core::sc_time& local);
  bool fetch_descriptors(rx_queue& q, sc_core::sc_time& local);
  void dma_write(uint64_t addr, const uint8_t* data, unsigned len, sc_core::sc_time& local);
  unsigned rss_queue(const rx_status& st) const;
  void queue_irq(rx_queue& q);
  bool send_msi();
  void fire_msix(rx_queue& q);
  bool post_message(uint64_t addr, uint32_t data);  // false: no address programmed, nothing sent
  void sync_queue_masks();
  void flush_all_writebacks(sc_core::sc_time& local);
  bool msix_mode() const { return (m_gpie & regs::GPIE_MSIX_MODE) != 0; }

  nic_params m_params;
  reg_file m_regs;
  std::vector<std::unique_ptr<rx_queue>> m_q;
  std::unique_ptr<rx_frontend_rtl> m_frontend;
  uint32_t m_rxcsum = 0;

  // Register state with side effects on the model.
  uint32_t m_icr = 0, m_ims = 0, m_rctl = 0;
  uint32_t m_msi_addr_lo = 0, m_msi_addr_hi = 0, m_msi_data = 0;
  uint32_t m_gpie = 0, m_eicr = 0, m_eims = 0, m_eiac = 0, m_eiam = 0;
  uint32_t m_mrqc = 0;
  std::array<uint8_t, regs::RETA_ENTRIES> m_reta{};
  std::array<uint32_t, regs::RSS_KEY_BYTES / 4> m_rssrk{};

  std::deque<fifo_entry> m_fifo;
  uint64_t m_fifo_used = 0;
  sc_core::sc_event m_fifo_ev, m_tail_ev;
  sc_core::sc_event m_cache_ev;                               // descriptors arrived in a cache
  sc_core::sc_event m_cache_drained_ev;                       // one was taken from a cache
  uint32_t m_crcerrs = 0, m_mpc = 0, m_gprc = 0, m_rnbc = 0;  // read-to-clear statistic registers
  nic_stats m_stats;

  waves::observer* m_obs = nullptr;
  int m_dma_track = -1;
  struct {
    waves::probe fifo_bytes, fifo_frames, dma_busy, dma_addr, dma_len, msis, icr;
    waves::text_probe dma_kind, reg_write;
  } m_probe;
  void probe_ring();
};

}  // namespace nicsim::hw
