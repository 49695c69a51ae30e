#pragma once
// Register map of the nicsim NIC (see hw/REGISTERS.md). Offsets and bits carry
// the Intel 8254x (e1000) datasheet names where the function is the same.
#include <cstdint>

namespace nicsim::hw::regs {

inline constexpr uint64_t BAR0_SIZE = 0x20000;

inline constexpr uint32_t CTRL = 0x0000;
inline constexpr uint32_t STATUS = 0x0008;
inline constexpr uint32_t ICR = 0x00C0;  // interrupt cause, read to clear
inline constexpr uint32_t ICS = 0x00C8;  // interrupt cause set
inline constexpr uint32_t IMS = 0x00D0;  // interrupt mask set (enable) / read
inline constexpr uint32_t IMC = 0x00D8;  // interrupt mask clear (disable)
inline constexpr uint32_t ITR = 0x00C4;  // interrupt throttling: minimum gap, 256 ns units (RXC_MODE e1000)
inline constexpr uint32_t RCTL = 0x0100;
inline constexpr uint32_t CRCERRS = 0x4000;  // statistics, read to clear
inline constexpr uint32_t MPC = 0x4010;
inline constexpr uint32_t GPRC = 0x4074;
inline constexpr uint32_t RNBC = 0x40A0;
inline constexpr uint32_t RDBAL = 0x2800;
inline constexpr uint32_t RDBAH = 0x2804;
inline constexpr uint32_t RDLEN = 0x2808;
inline constexpr uint32_t RDH = 0x2810;
inline constexpr uint32_t RDT = 0x2818;
inline constexpr uint32_t RDTR = 0x2820;  // receive delay timer, 1.024 us units (RXC_MODE e1000)
inline constexpr uint32_t RADV = 0x282C;  // receive absolute delay timer, 1.024 us units (RXC_MODE e1000)
// nicsim: ethtool -C style moderation, evaluated by rtl/intr_moderation.v.
inline constexpr uint32_t RXC_USECS = 0x2830;
inline constexpr uint32_t RXC_FRAMES = 0x2834;
// nicsim: which moderation scheme rtl/intr_moderation.v applies, and the arm mode's gap in ns.
inline constexpr uint32_t RXC_MODE = 0x2838;
inline constexpr uint32_t RXC_MIN_INTERVAL = 0x283C;
// nicsim: the MSI capability's address/data, which on real hardware live in config space.
inline constexpr uint32_t MSI_ADDR_LO = 0x5F00;
inline constexpr uint32_t MSI_ADDR_HI = 0x5F04;
inline constexpr uint32_t MSI_DATA = 0x5F08;
// RX checksum control (8254x RXCSUM): IPOFL/TUOFL turn on the front end's checks.
inline constexpr uint32_t RXCSUM = 0x5000;
inline constexpr uint32_t RXCSUM_IPOFL = 1u << 8;
inline constexpr uint32_t RXCSUM_TUOFL = 1u << 9;

// ---- Multi-queue, after the 82576 (igb): queue n's ring registers, RSS and MSI-X.
inline constexpr unsigned MAX_RX_QUEUES = 16;
// Queue n's block: RDBAL at +0x0, RDBAH +0x4, RDLEN +0x8, SRRCTL +0xC, RDH +0x10, RDT +0x18.
// Queue 0's block is the e1000's, so RDBAL(0) == RDBAL.
inline constexpr uint32_t RXQ_BASE(unsigned n) { return n < 4 ? 0x2800 + 0x100 * n : 0xC000 + 0x40 * n; }
inline constexpr uint32_t RDBAL_OFF = 0x0, RDBAH_OFF = 0x4, RDLEN_OFF = 0x8, SRRCTL_OFF = 0xC, RDH_OFF = 0x10,
                          RDT_OFF = 0x18;
inline constexpr uint32_t SRRCTL_DROP_EN = 1u << 31;  // drop a frame whose queue has no descriptor
// Extended interrupt registers: bit n is queue n's cause (one MSI-X vector per queue).
inline constexpr uint32_t GPIE = 0x1514;
inline constexpr uint32_t GPIE_MSIX_MODE = 1u << 4;  // per-queue causes go to MSI-X vectors
inline constexpr uint32_t GPIE_EIAME = 1u << 30;     // EIAM applies: a vector's cause masks itself
inline constexpr uint32_t EICS = 0x1520;
inline constexpr uint32_t EIMS = 0x1524;
inline constexpr uint32_t EIMC = 0x1528;
inline constexpr uint32_t EIAC = 0x152C;  // causes cleared from EICR when their vector fires
inline constexpr uint32_t EIAM = 0x1530;  // causes masked (EIMS bit cleared) when their vector fires
inline constexpr uint32_t EICR = 0x1580;
// RSS: MRQC enables it and picks the hashed fields; RETA maps hash[6:0] to a queue.
inline constexpr uint32_t MRQC = 0x5818;
inline constexpr uint32_t MRQC_ENABLE_RSS = 0x2;  // MRQE = RSS (igb's E1000_MRQC_ENABLE_RSS_4Q)
inline constexpr uint32_t MRQC_ENABLE_MASK = 0x7;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4_TCP = 0x00010000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4 = 0x00020000;
inline constexpr uint32_t MRQC_RSS_FIELD_IPV4_UDP = 0x00400000;
inline constexpr uint32_t RETA_BASE = 0x5C00;  // 32 registers, 4 one-byte entries each (entry 4i in bits 7:0)
inline constexpr unsigned RETA_ENTRIES = 128;
inline constexpr uint32_t RSSRK_BASE = 0x5C80;  // 10 registers; key byte 4i is bits 7:0 of RSSRK(i)
inline constexpr unsigned RSS_KEY_BYTES = 40;
// The MSI-X table (the 82576 has it in BAR3; here it is in BAR0): 16 bytes per vector,
// message address low/high, message data, vector control (bit 0 masks the vector).
inline constexpr uint32_t MSIX_TABLE = 0x10000;
inline constexpr uint32_t MSIX_ENTRY_SIZE = 16;
inline constexpr uint32_t MSIX_VECTOR_CTRL_MASKED = 1u << 0;

// Descriptor error bits
inline constexpr uint8_t RXD_ERR_CE = 0x01;
inline constexpr uint8_t RXD_ERR_TCPE = 0x20;
inline constexpr uint8_t RXD_ERR_IPE = 0x40;

// ICR/IMS/IMC bits
inline constexpr uint32_t ICR_RXDMT0 = 1u << 4;  // descriptor minimum threshold
inline constexpr uint32_t ICR_RXO = 1u << 6;     // receiver overrun (FIFO drop)
inline constexpr uint32_t ICR_RXT0 = 1u << 7;    // receiver timer: frames written back
inline constexpr uint32_t IMS_ENABLE_MASK = ICR_RXT0 | ICR_RXO | ICR_RXDMT0;

// RXC_MODE values
inline constexpr uint32_t RXC_MODE_ETHTOOL = 0;  // RXC_USECS / RXC_FRAMES
inline constexpr uint32_t RXC_MODE_E1000 = 1;    // ITR / RDTR / RADV
inline constexpr uint32_t RXC_MODE_ARM = 2;      // auto-mask on interrupt, RXC_MIN_INTERVAL apart
inline constexpr uint32_t RXC_MODE_MASK = 0x3;

// RCTL bits
inline constexpr uint32_t RCTL_EN = 1u << 1;
inline constexpr uint32_t RCTL_SECRC = 1u << 26;  // strip the FCS before DMA

// Legacy receive descriptor (16 bytes), e1000 layout.
inline constexpr unsigned RX_DESC_SIZE = 16;
inline constexpr unsigned RXD_BUFFER_ADDR = 0;  // u64
inline constexpr unsigned RXD_LENGTH = 8;       // u16
inline constexpr unsigned RXD_CSUM = 10;        // u16
inline constexpr unsigned RXD_STATUS = 12;      // u8
inline constexpr unsigned RXD_ERRORS = 13;      // u8
inline constexpr uint8_t RXD_STAT_DD = 0x01;
inline constexpr uint8_t RXD_STAT_EOP = 0x02;
inline constexpr uint8_t RXD_STAT_IXSM = 0x04;  // ignore checksum indication
inline constexpr uint8_t RXD_STAT_UDPCS = 0x10;
inline constexpr uint8_t RXD_STAT_TCPCS = 0x20;
inline constexpr uint8_t RXD_STAT_IPCS = 0x40;

}  // namespace nicsim::hw::regs
