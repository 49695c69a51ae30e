#pragma once
// Bit fields of the registers in abi/e1000_regs.h and of the descriptors in abi/e1000_hw.h.
// Names and values follow Linux drivers/net/ethernet/intel/igb/e1000_defines.h and
// e1000_82575.h (E1000_ICR_RXT0, E1000_SRRCTL_DROP_EN, E1000_ADVTXD_DCMD_EOP, ...), without
// the E1000_ prefix: the namespace stands for it.
#include <cstdint>

namespace nicsim::abi {

// ICR / ICS / IMS / IMC
inline constexpr uint32_t ICR_TXDW = 1u << 0;    // transmit descriptor written back
inline constexpr uint32_t ICR_RXDMT0 = 1u << 4;  // descriptor minimum threshold
inline constexpr uint32_t ICR_RXO = 1u << 6;     // receiver overrun (FIFO drop)
inline constexpr uint32_t ICR_RXT0 = 1u << 7;    // receiver timer: frames written back
inline constexpr uint32_t IMS_ENABLE_MASK = ICR_RXT0 | ICR_RXO | ICR_RXDMT0;

// RCTL
inline constexpr uint32_t RCTL_EN = 1u << 1;
inline constexpr uint32_t RCTL_SECRC = 1u << 26;  // strip the FCS before DMA

// RXCSUM (8254x): IPOFL/TUOFL turn on the front end's checks.
inline constexpr uint32_t RXCSUM_IPOFL = 1u << 8;
inline constexpr uint32_t RXCSUM_TUOFL = 1u << 9;

// SRRCTL(n)
inline constexpr uint32_t SRRCTL_DROP_EN = 1u << 31;  // drop a frame whose queue has no descriptor

// GPIE
inline constexpr uint32_t GPIE_MSIX_MODE = 1u << 4;  // per-queue causes go to MSI-X vectors
inline constexpr uint32_t GPIE_EIAME = 1u << 30;     // EIAM applies: a vector's cause masks itself

// MRQC
inline constexpr uint32_t MRQC_ENABLE_RSS = 0x2;  // MRQE = RSS (igb's E1000_MRQC_ENABLE_RSS_4Q)
inline constexpr uint32_t MRQC_ENABLE_MASK = 0x7;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4_TCP = 0x00010000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4 = 0x00020000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4_UDP = 0x00400000;

// MSI-X table entry, vector control word
inline constexpr uint32_t MSIX_VECTOR_CTRL_MASKED = 1u << 0;

// RXC_MODE (nicsim)
inline constexpr uint32_t RXC_MODE_ETHTOOL = 0;  // RXC_USECS / RXC_FRAMES
inline constexpr uint32_t RXC_MODE_E1000 = 1;    // ITR / RDTR / RADV
inline constexpr uint32_t RXC_MODE_ARM = 2;      // auto-mask on interrupt, RXC_MIN_INTERVAL apart
inline constexpr uint32_t RXC_MODE_MASK = 0x3;

// Receive descriptor status (e1000_rx_desc::status; the low byte of an advanced write-back's
// status_error)
inline constexpr uint8_t RXD_STAT_DD = 0x01;
inline constexpr uint8_t RXD_STAT_EOP = 0x02;
inline constexpr uint8_t RXD_STAT_IXSM = 0x04;  // ignore checksum indication
inline constexpr uint8_t RXD_STAT_UDPCS = 0x10;
inline constexpr uint8_t RXD_STAT_TCPCS = 0x20;
inline constexpr uint8_t RXD_STAT_IPCS = 0x40;
// Receive descriptor errors (e1000_rx_desc::errors)
inline constexpr uint8_t RXD_ERR_CE = 0x01;
inline constexpr uint8_t RXD_ERR_TCPE = 0x20;
inline constexpr uint8_t RXD_ERR_IPE = 0x40;

// Legacy transmit descriptor: command bits in lower.data, status in upper.data.
inline constexpr uint32_t TXD_CMD_EOP = 0x01000000;
inline constexpr uint32_t TXD_CMD_IFCS = 0x02000000;  // insert the FCS
inline constexpr uint32_t TXD_CMD_RS = 0x08000000;    // report status: write DD back
inline constexpr uint32_t TXD_STAT_DD = 0x00000001;
inline constexpr uint32_t TXD_CMD_IDE = 0x80000000;  // interrupt delay enable: TIDV/TADV apply

// TCTL (e1000_configure_tx: EN | PSP | CT | COLD; e1000_hw.h E1000_TCTL_*)
inline constexpr uint32_t TCTL_EN = 1u << 1;   // transmit enable
inline constexpr uint32_t TCTL_PSP = 1u << 3;  // pad short packets
inline constexpr unsigned TCTL_CT_SHIFT = 4;   // collision threshold
inline constexpr unsigned TCTL_COLD_SHIFT = 12;
inline constexpr uint32_t TCTL_RTLC = 1u << 24;  // re-transmit on late collision
// TIPG for copper (e1000_hw.h DEFAULT_82543_TIPG_*): IPGT 8, IPGR1 8, IPGR2 6.
inline constexpr uint32_t TIPG_DEFAULT = 8u | 8u << 10 | 6u << 20;

// Advanced transmit data descriptor (82576): read.cmd_type_len, read.olinfo_status; the
// write-back's status carries TXD_STAT_DD.
inline constexpr uint32_t ADVTXD_DTYP_DATA = 0x00300000;
inline constexpr uint32_t ADVTXD_DCMD_EOP = 0x01000000;
inline constexpr uint32_t ADVTXD_DCMD_IFCS = 0x02000000;
inline constexpr uint32_t ADVTXD_DCMD_RS = 0x08000000;
inline constexpr uint32_t ADVTXD_DCMD_DEXT = 0x20000000;  // descriptor extension: advanced format
inline constexpr unsigned ADVTXD_PAYLEN_SHIFT = 14;

}  // namespace nicsim::abi
