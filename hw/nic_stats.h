#pragma once
// The NIC's counters, as ethtool -S names them. Every unit of the NIC counts into one
// nic_stats; the register file's statistics registers (CRCERRS, MPC, ...) are the
// driver-visible, read-to-clear copies.
#include <cstdint>

namespace nicsim::hw {

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
  uint64_t tx_packets = 0;              // frames whose last bit has left the port
  uint64_t tx_bytes = 0;                // their bytes as read from host memory (no FCS, no padding)
  uint64_t tx_desc_fetches = 0;         // TX descriptor read requests
  uint64_t tx_desc_writebacks = 0;      // TX descriptor write-back TLP bursts
  uint64_t tx_fifo_stalls = 0;          // packets that waited for room in the TX FIFO
  uint64_t interrupts = 0;              // MSI / MSI-X messages sent
  uint64_t frames_in = 0;               // frames the MAC saw
};

// ethtool -S rx_queue_<n>_* and tx_queue_<n>_* (igb). A TX queue counts packets and bytes
// only; its interrupts are its vector's, counted with the RX queue of its pair.
struct nic_queue_stats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t drops = 0;       // RQDPC: dropped for want of a descriptor (DROP_EN)
  uint64_t interrupts = 0;  // messages sent for this queue's cause (a held MSI-X message counts when sent)
};

}  // namespace nicsim::hw
