#pragma once
// The NIC's parameters: what a scenario chooses about the hardware, kept apart from its
// behaviour.
#include <cstdint>
#include <systemc>

namespace nicsim::hw {

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
  // The TX share of the packet buffer (the 8254x PBA: e1000_reset sets E1000_PBA_48K,
  // "48K for Rx, 16K for Tx" of its 64 KiB). There are as many TX queues as RX queues.
  uint64_t tx_fifo_bytes = 16 * 1024;
};

}  // namespace nicsim::hw
