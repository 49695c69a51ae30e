#pragma once
// Register offsets on BAR0, as the device decodes them and the driver writes them.
//
// Where the function is the e1000's, offset and name are the 8254x's: Linux
// drivers/net/ethernet/intel/e1000/e1000_hw.h (E1000_ICR, ...), Intel 8254x Family
// Software Developer's Manual, chapter 13 "General Register Descriptions". The multi-queue
// registers (queue blocks beyond queue 0, RSS, extended interrupts, MSI-X) are the 82576's:
// drivers/net/ethernet/intel/igb/e1000_regs.h, 82576 datasheet chapter 8 "Programming
// Interface". Registers marked nicsim have no Intel counterpart. abi/REGISTERS.md gives
// each register's access rules and behaviour.
#include <cstdint>

namespace nicsim::abi {

inline constexpr uint64_t BAR0_SIZE = 0x20000;  // the 82576's memory BAR: 128 KiB

inline constexpr uint32_t CTRL = 0x0000;
inline constexpr uint32_t STATUS = 0x0008;
inline constexpr uint32_t ICR = 0x00C0;  // interrupt cause, read to clear
inline constexpr uint32_t ITR = 0x00C4;  // interrupt throttling: minimum gap, 256 ns units (RXC_MODE e1000)
inline constexpr uint32_t ICS = 0x00C8;  // interrupt cause set
inline constexpr uint32_t IMS = 0x00D0;  // interrupt mask set (enable) / read
inline constexpr uint32_t IMC = 0x00D8;  // interrupt mask clear (disable)
inline constexpr uint32_t RCTL = 0x0100;
inline constexpr uint32_t TCTL = 0x0400;  // transmit control
inline constexpr uint32_t TIPG =
    0x0410;  // transmit inter-packet gap (stored; the port keeps the 12-byte IFG)
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
// Statistics, read to clear.
inline constexpr uint32_t CRCERRS = 0x4000;
inline constexpr uint32_t MPC = 0x4010;
inline constexpr uint32_t GPRC = 0x4074;
inline constexpr uint32_t GPTC = 0x4080;   // good packets transmitted
inline constexpr uint32_t GOTCL = 0x4090;  // good octets transmitted, low (DA to FCS)
inline constexpr uint32_t GOTCH = 0x4094;  // good octets transmitted, high
inline constexpr uint32_t RNBC = 0x40A0;
inline constexpr uint32_t RXCSUM = 0x5000;  // RX checksum control
// nicsim: the MSI capability's address/data, which on real hardware live in config space.
inline constexpr uint32_t MSI_ADDR_LO = 0x5F00;
inline constexpr uint32_t MSI_ADDR_HI = 0x5F04;
inline constexpr uint32_t MSI_DATA = 0x5F08;

// ---- Multi-queue, after the 82576 (igb): queue n's ring registers, RSS and MSI-X.
inline constexpr unsigned MAX_RX_QUEUES = 16;
// Queue n's block: RDBAL at +0x0, RDBAH +0x4, RDLEN +0x8, SRRCTL +0xC, RDH +0x10, RDT +0x18
// (igb's E1000_RDBAL(n) ...). Queue 0's block is the e1000's, so RDBAL(0) == RDBAL.
inline constexpr uint32_t RXQ_BASE(unsigned n) { return n < 4 ? 0x2800 + 0x100 * n : 0xC000 + 0x40 * n; }
inline constexpr uint32_t RDBAL_OFF = 0x0, RDBAH_OFF = 0x4, RDLEN_OFF = 0x8, SRRCTL_OFF = 0xC, RDH_OFF = 0x10,
                          RDT_OFF = 0x18;
// Extended interrupt registers: bit n is queue n's cause (one MSI-X vector per queue).
inline constexpr uint32_t GPIE = 0x1514;
inline constexpr uint32_t EICS = 0x1520;
inline constexpr uint32_t EIMS = 0x1524;
inline constexpr uint32_t EIMC = 0x1528;
inline constexpr uint32_t EIAC = 0x152C;  // causes cleared from EICR when their vector fires
inline constexpr uint32_t EIAM = 0x1530;  // causes masked (EIMS bit cleared) when their vector fires
inline constexpr uint32_t EICR = 0x1580;
// EITR(n): vector n's interrupt throttle (82576 E1000_EITR(n) = 0x1680 + 4n). Its interval
// field, bits 14:2, is the minimum gap between the vector's interrupts in 0.25 us steps of
// the driver's itr_val (igb: itr_val = usecs << 2, EITR = itr_val & 0x7FFC; ixgbe writes
// q_vector->itr & IXGBE_MAX_EITR = 0xFF8, 2 us granularity on the 82599). RXC_MODE itr.
inline constexpr uint32_t EITR(unsigned n) { return 0x1680 + 4 * n; }
inline constexpr uint32_t EITR_INTERVAL_MASK = 0x7FFC;
inline constexpr uint32_t EITR_NS_PER_UNIT = 250;
// RSS: MRQC enables it and picks the hashed fields; RETA maps hash[6:0] to a queue.
inline constexpr uint32_t MRQC = 0x5818;
inline constexpr uint32_t RETA_BASE = 0x5C00;  // RETA(i) at RETA_BASE + 4i: 32 registers, 4 entries each
inline constexpr unsigned RETA_ENTRIES = 128;
inline constexpr uint32_t RSSRK_BASE = 0x5C80;  // RSSRK(i) at RSSRK_BASE + 4i: 10 registers, 4 key bytes each
inline constexpr unsigned RSS_KEY_BYTES = 40;
// The MSI-X table (the 82576 has it in BAR3; here it is in BAR0): 16 bytes per vector,
// message address low/high, message data, vector control.
inline constexpr uint32_t MSIX_TABLE = 0x10000;
inline constexpr uint32_t MSIX_ENTRY_SIZE = 16;

// ---- Transmit. Queue n's block (igb's E1000_TDBAL(n) ...) has the receive block's shape,
// TDH/TDT where RDH/RDT are, and TXDCTL(n) at +0x28 (igb's E1000_TXDCTL(n)). As many TX
// queues as RX queues: igb pairs TX queue n with RX queue n in one q_vector.
inline constexpr uint32_t TXQ_BASE(unsigned n) { return n < 4 ? 0x3800 + 0x100 * n : 0xE000 + 0x40 * n; }
inline constexpr uint32_t TDBAL_OFF = 0x0, TDBAH_OFF = 0x4, TDLEN_OFF = 0x8, TDH_OFF = 0x10, TDT_OFF = 0x18,
                          TXDCTL_OFF = 0x28;
inline constexpr uint32_t TDBAL = 0x3800;
inline constexpr uint32_t TDBAH = 0x3804;
inline constexpr uint32_t TDLEN = 0x3808;
inline constexpr uint32_t TDH = 0x3810;
inline constexpr uint32_t TDT = 0x3818;
inline constexpr uint32_t TIDV = 0x3820;    // transmit interrupt delay, 1.024 us units
inline constexpr uint32_t TXDCTL = 0x3828;  // transmit descriptor control (queue 0)
inline constexpr uint32_t TADV = 0x382C;    // transmit absolute interrupt delay, 1.024 us units

}  // namespace nicsim::abi
