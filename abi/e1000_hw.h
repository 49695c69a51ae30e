#pragma once
// The device/driver ABI in one include: register offsets (abi/e1000_regs.h), bit fields
// (abi/e1000_defines.h), the descriptor layouts in host memory and the RSS key and
// redirection table as the registers hold them.
//
// Descriptors follow Linux drivers/net/ethernet/intel/e1000/e1000_hw.h (struct
// e1000_rx_desc, struct e1000_tx_desc; 8254x Software Developer's Manual chapter 3,
// "Receive and Transmit Description") and drivers/net/ethernet/intel/igb/e1000_82575.h
// (union e1000_adv_rx_desc, union e1000_adv_tx_desc; 82576 datasheet chapter 7, "Inline
// Functions"). Fields are little-endian in memory (__le64, __le16 in the kernel).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "abi/e1000_defines.h"
#include "abi/e1000_regs.h"

namespace nicsim::abi {

// The structs are the in-memory layout only where the host is little-endian, as PCIe is;
// a big-endian host would need the kernel's le*_to_cpu conversions.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "descriptor structs assume a little-endian host");

// Legacy receive descriptor: the driver fills buffer_addr, the device writes the rest back.
struct e1000_rx_desc {
  uint64_t buffer_addr;
  uint16_t length;  // bytes DMA-written to the buffer
  uint16_t csum;    // packet checksum
  uint8_t status;   // RXD_STAT_*
  uint8_t errors;   // RXD_ERR_*
  uint16_t special;
};

// Legacy transmit descriptor.
struct e1000_tx_desc {
  uint64_t buffer_addr;
  union {
    uint32_t data;  // TXD_CMD_* | length
    struct {
      uint16_t length;
      uint8_t cso;  // checksum offset
      uint8_t cmd;
    } flags;
  } lower;
  union {
    uint32_t data;  // TXD_STAT_*
    struct {
      uint8_t status;
      uint8_t css;  // checksum start
      uint16_t special;
    } fields;
  } upper;
};

// Advanced receive descriptor (82576, SRRCTL.DESCTYPE advanced one-buffer): the driver
// writes the read format, the device overwrites it with the write-back format.
union e1000_adv_rx_desc {
  struct {
    uint64_t pkt_addr;
    uint64_t hdr_addr;
  } read;
  struct {
    struct {
      struct {
        uint16_t pkt_info;  // RSS type, packet type
        uint16_t hdr_info;  // split header, header buffer length
      } lo_dword;
      union {
        uint32_t rss;  // RSS hash
        struct {
          uint16_t ip_id;
          uint16_t csum;
        } csum_ip;
      } hi_dword;
    } lower;
    struct {
      uint32_t status_error;  // RXD_STAT_* in the low byte, errors above
      uint16_t length;
      uint16_t vlan;
    } upper;
  } wb;
};

// Advanced transmit data descriptor (82576).
union e1000_adv_tx_desc {
  struct {
    uint64_t buffer_addr;
    uint32_t cmd_type_len;   // ADVTXD_DTYP_* | ADVTXD_DCMD_* | length
    uint32_t olinfo_status;  // payload length << ADVTXD_PAYLEN_SHIFT
  } read;
  struct {
    uint64_t rsvd;
    uint32_t nxtseq_seed;
    uint32_t status;  // TXD_STAT_DD
  } wb;
};

static_assert(sizeof(e1000_rx_desc) == 16 && offsetof(e1000_rx_desc, length) == 8 &&
              offsetof(e1000_rx_desc, csum) == 10 && offsetof(e1000_rx_desc, status) == 12 &&
              offsetof(e1000_rx_desc, errors) == 13 && offsetof(e1000_rx_desc, special) == 14);
static_assert(sizeof(e1000_tx_desc) == 16 && offsetof(e1000_tx_desc, lower) == 8 &&
              offsetof(e1000_tx_desc, upper) == 12);
static_assert(sizeof(e1000_adv_rx_desc) == 16 && sizeof(e1000_adv_tx_desc) == 16);

inline constexpr unsigned RX_DESC_SIZE = sizeof(e1000_rx_desc);
inline constexpr unsigned TX_DESC_SIZE = sizeof(e1000_tx_desc);

// Descriptor i of a ring in memory the CPU sees as bytes (the kernel's E1000_RX_DESC(R, i)).
// A copy in or out rather than a cast keeps C++'s aliasing rules, as the kernel's
// le*_to_cpu keep its endianness rules.
template <class Desc>
Desc read_desc(const uint8_t* ring, unsigned i) {
  Desc d;
  std::memcpy(&d, ring + size_t{i} * sizeof(Desc), sizeof(Desc));
  return d;
}
template <class Desc>
void write_desc(uint8_t* ring, unsigned i, const Desc& d) {
  std::memcpy(ring + size_t{i} * sizeof(Desc), &d, sizeof(Desc));
}

// ---- RSS. RSSRK(i) holds key bytes 4i..4i+3 and RETA(i) table entries 4i..4i+3, the
// lowest-numbered in bits 7:0 (igb_setup_mrqc, igb_write_rss_indir_tbl).
using rss_key = std::array<uint8_t, RSS_KEY_BYTES>;  // byte 0 first, as ethtool -X hkey shows it
using rss_reta = std::array<uint8_t, RETA_ENTRIES>;  // hash[6:0] -> queue

namespace detail {
inline constexpr uint32_t pack4(const uint8_t* b) {
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}
}  // namespace detail

// The value of RSSRK(i) for a key.
inline constexpr uint32_t rssrk_word(const rss_key& key, unsigned i) { return detail::pack4(&key[4 * i]); }
// The key the ten RSSRK values hold.
inline constexpr rss_key rss_key_from_rssrk(const std::array<uint32_t, RSS_KEY_BYTES / 4>& rssrk) {
  rss_key key{};
  for (unsigned k = 0; k < RSS_KEY_BYTES; ++k) key[k] = static_cast<uint8_t>(rssrk[k / 4] >> (8 * (k % 4)));
  return key;
}
// The value of RETA(i) for a table.
inline constexpr uint32_t reta_word(const rss_reta& reta, unsigned i) { return detail::pack4(&reta[4 * i]); }
// Entry e of the table, from the value of RETA(e / 4).
inline constexpr uint8_t reta_entry(uint32_t reta_word_value, unsigned e) {
  return static_cast<uint8_t>(reta_word_value >> (8 * (e % 4)));
}

}  // namespace nicsim::abi
