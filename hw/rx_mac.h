#pragma once
// The receive side of the MAC: the checks a frame passes as it streams in (FCS, length, and
// with the verilated front end the IPv4 header and L4 checksums and the RSS hash), receive
// filtering (the descriptor's checksum status, the RSS queue from MRQC and RETA) and the RX
// packet buffer the DMA engine drains.
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "abi/e1000_hw.h"
#include "hw/nic_params.h"
#include "hw/nic_stats.h"
#include "hw/reg_file.h"
#include "proto/frame.h"

namespace nicsim::hw {

class rx_frontend_rtl;
struct rx_status;

// A frame in the packet buffer, with what its descriptor will report.
struct rx_fifo_entry {
  proto::wire_frame frame;
  uint8_t status = 0, errors = 0;  // RXD_STAT_*, RXD_ERR_*
  unsigned queue = 0;              // where RSS sends it
};

enum class rx_drop { none, short_length, long_length, crc, missed };
// The ethtool -S counter a drop is counted in, as the observers name it ("nic.rx_crc_errors").
const char* drop_counter(rx_drop d);

class rx_mac {
 public:
  // Receive checksum offload (8254x RXCSUM) and RSS (82576 MRQC, RETA(0..31), RSSRK(0..9)).
  reg rxcsum, mrqc;
  std::deque<reg> reta, rssrk;
  // Statistics, read to clear.
  reg crcerrs, mpc;

  rx_mac(const nic_params& params, reg_file& regs, nic_stats& stats);
  ~rx_mac();
  rx_mac(const rx_mac&) = delete;
  rx_mac& operator=(const rx_mac&) = delete;

  // The frame's last bit has arrived: checks it and, unless it is dropped, queues it in the
  // packet buffer. The front end's verdict is ready a clock after the last beat, well inside
  // the inter-frame gap, so it takes no simulated time.
  rx_drop receive(const proto::wire_frame& frame);

  bool empty() const { return m_fifo.empty(); }
  rx_fifo_entry& front() { return m_fifo.front(); }
  void pop();
  uint64_t frames() const { return m_fifo.size(); }
  uint64_t bytes() const { return m_bytes; }
  unsigned frames_for(unsigned queue) const { return m_frames_for[queue]; }

  rx_frontend_rtl& frontend() { return *m_frontend; }
  // The front end back to what the reset registers say; frames in the buffer stay.
  void reset();

 private:
  unsigned rss_queue(const rx_status& st) const;
  abi::rss_key rss_key() const;
  void apply_registers();

  const nic_params& m_params;
  nic_stats& m_stats;
  std::unique_ptr<rx_frontend_rtl> m_frontend;
  std::deque<rx_fifo_entry> m_fifo;
  // Byte buffers of frames that left the FIFO, for the next frames' copies (a few suffice:
  // one leaves for each that arrives).
  static constexpr size_t max_spares = 8;
  std::vector<std::vector<uint8_t>> m_spare_bytes;
  uint64_t m_bytes = 0;
  std::vector<unsigned> m_frames_for;  // frames in the buffer bound for each queue
};

}  // namespace nicsim::hw
