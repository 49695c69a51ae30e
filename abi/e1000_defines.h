#pragma once
// Bit fields of the registers in abi/e1000_regs.h and of the descriptors in abi/e1000_hw.h.
// Names and values follow Linux drivers/net/ethernet/intel/igb/e1000_defines.h and
// e1000_82575.h (E1000_ICR_RXT0, E1000_SRRCTL_DROP_EN, E1000_ADVTXD_DCMD_EOP, ...), without
// the E1000_ prefix: the namespace stands for it.
#include <cstdint>

namespace nicsim::abi {

// ICR / ICS / IMS / IMC
inline constexpr uint32_t ICR_TXDW = 1u << 0;    // transmit descriptor written back (after TIDV/TADV)
inline constexpr uint32_t ICR_TXQE = 1u << 1;    // transmit queue empty (latched only)
inline constexpr uint32_t ICR_RXDMT0 = 1u << 4;  // descriptor minimum threshold
inline constexpr uint32_t ICR_RXO = 1u << 6;     // receiver overrun (FIFO drop)
inline constexpr uint32_t ICR_RXT0 = 1u << 7;    // receiver timer: frames written back
// e1000's E1000_IMS_ENABLE_MASK less the causes the model never raises (RXSEQ, LSC).
inline constexpr uint32_t IMS_ENABLE_MASK = ICR_RXT0 | ICR_TXDW | ICR_RXO | ICR_RXDMT0;

// RCTL
inline constexpr uint32_t RCTL_EN = 1u << 1;
inline constexpr uint32_t RCTL_SECRC = 1u << 26;  // strip the FCS before DMA

// TCTL (8254x): EN and PSP act; CT, COLD, SWXOFF and RTLC are stored (no collisions on a
// full-duplex link).
inline constexpr uint32_t TCTL_EN = 1u << 1;
inline constexpr uint32_t TCTL_PSP = 1u << 3;  // pad short packets to 64 bytes (with IFCS)
inline constexpr uint32_t TCTL_CT = 0x00000FF0;
inline constexpr uint32_t TCTL_COLD = 0x003FF000;
inline constexpr uint32_t TCTL_SWXOFF = 1u << 22;
inline constexpr uint32_t TCTL_RTLC = 1u << 24;
inline constexpr unsigned CT_SHIFT = 4;
inline constexpr unsigned COLD_SHIFT = 12;

// TIDV: bit 31 flushes the pending delayed TX interrupt (Linux E1000_TIDV_FPD).
inline constexpr uint32_t TIDV_FPD = 1u << 31;

// TXDCTL(n): prefetch, host and write-back thresholds; igb's queue enable.
inline constexpr uint32_t TXDCTL_PTHRESH = 0x0000003F;
inline constexpr uint32_t TXDCTL_HTHRESH = 0x00003F00;
inline constexpr uint32_t TXDCTL_WTHRESH = 0x003F0000;
inline constexpr unsigned TXDCTL_WTHRESH_SHIFT = 16;
inline constexpr uint32_t TXDCTL_QUEUE_ENABLE = 0x02000000;

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
inline constexpr uint32_t RXC_MODE_ITR = 3;      // EITR(n): a minimum gap between interrupts
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
inline constexpr uint32_t TXD_CMD_IC = 0x04000000;    // insert checksum (cso/css; not implemented)
inline constexpr uint32_t TXD_CMD_RS = 0x08000000;    // report status: write DD back
inline constexpr uint32_t TXD_CMD_RPS = 0x10000000;   // report packet sent (82544; treated as RS)
inline constexpr uint32_t TXD_CMD_DEXT = 0x20000000;  // descriptor extension (context / advanced data)
inline constexpr uint32_t TXD_CMD_VLE = 0x40000000;   // VLAN insert (not implemented)
inline constexpr uint32_t TXD_CMD_IDE = 0x80000000;   // interrupt delay enable: TIDV/TADV apply
inline constexpr uint32_t TXD_LENGTH_MASK = 0x0000FFFF;
inline constexpr uint32_t TXD_STAT_DD = 0x00000001;

// Advanced transmit data descriptor (82576): read.cmd_type_len, read.olinfo_status; the
// write-back's status carries TXD_STAT_DD.
inline constexpr uint32_t ADVTXD_DTYP_CTXT = 0x00200000;  // advanced context descriptor
inline constexpr uint32_t ADVTXD_DTYP_DATA = 0x00300000;
inline constexpr uint32_t ADVTXD_DTYP_MASK = 0x00F00000;
inline constexpr uint32_t ADVTXD_DCMD_EOP = 0x01000000;
inline constexpr uint32_t ADVTXD_DCMD_IFCS = 0x02000000;
inline constexpr uint32_t ADVTXD_DCMD_RS = 0x08000000;
inline constexpr uint32_t ADVTXD_DCMD_DEXT = 0x20000000;  // descriptor extension: advanced format
inline constexpr unsigned ADVTXD_PAYLEN_SHIFT = 14;

}  // namespace nicsim::abi
