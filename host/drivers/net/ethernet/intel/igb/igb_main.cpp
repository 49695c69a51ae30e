// igb's multi-queue parts (drivers/net/ethernet/intel/igb/igb_main.c, v6.x) on the
// e1000 adapter: RSS setup and the per-queue MSI-X handler.
#include "abi/e1000_hw.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"

namespace nicsim::host {

namespace regs = nicsim::abi;

// igb_setup_mrqc: the key, the indirection table spread evenly over the queues
// (ethtool_rxfh_indir_default), and which fields are hashed.
void e1000_adapter::igb_setup_mrqc() {
  for (unsigned i = 0; i < regs::RSS_KEY_BYTES / 4; ++i)
    ew32(regs::RSSRK_BASE + 4 * i, regs::rssrk_word(m_params.rss_key, i));
  regs::rss_reta reta{};
  for (unsigned i = 0; i < regs::RETA_ENTRIES; ++i) reta[i] = static_cast<uint8_t>(i % m_params.rx_queues);
  for (unsigned i = 0; i < regs::RETA_ENTRIES / 4; ++i)
    ew32(regs::RETA_BASE + 4 * i, regs::reta_word(reta, i));
  uint32_t mrqc = regs::MRQC_ENABLE_RSS | regs::MRQC_RSS_FIELD_IPV4 | regs::MRQC_RSS_FIELD_IPV4_TCP;
  if (m_params.rss_udp4_l4) mrqc |= regs::MRQC_RSS_FIELD_IPV4_UDP;
  ew32(regs::MRQC, mrqc);
}

// igb_msix_ring: the vector is the queue's alone, so there is no cause register to
// read; the NIC has already masked the cause (EIAM).
void e1000_adapter::igb_msix_ring(e1000_rx_ring& ring) {
  cpu::this_cpu().charge(cost::e1000_intr);
  if (m_core.napi_schedule_prep(ring.napi)) m_core.__napi_schedule(ring.napi);
}
}  // namespace nicsim::host
