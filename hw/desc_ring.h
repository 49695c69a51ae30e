#pragma once
// A descriptor ring as the device sees it, for either direction: its registers (base,
// length, head, tail), an on-chip cache of fetched descriptors and a batch of finished ones
// waiting to be written back. After gem5's DescCache<T> (src/dev/net/i8254xGBe.hh): fetch,
// prefetch (PTHRESH), write-back batching (WTHRESH) and wrap-around are written once, with
// the descriptor type and the direction as parameters. What a descriptor means, and when
// to fetch or write back, is the user's: the RX engine in hw/nic.cpp, the TX engine in
// hw/tx_engine.cpp.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <systemc>
#include <vector>

#include "abi/e1000_regs.h"
#include "hw/reg_file.h"

namespace nicsim::hw {

enum class ring_dir { rx, tx };

// The device's DMA to its rings in host memory. Both calls may suspend the calling thread.
class desc_ring_dma {
 public:
  virtual ~desc_ring_dma() = default;
  virtual void read_descriptors(ring_dir dir, uint64_t addr, uint8_t* data, unsigned len,
                                sc_core::sc_time& local) = 0;
  virtual void write_descriptors(ring_dir dir, uint64_t addr, const uint8_t* data, unsigned len,
                                 sc_core::sc_time& local) = 0;
};

struct desc_ring_params {
  unsigned fetch_batch = 4;          // descriptors per read
  unsigned prefetch_threshold = 0;   // PTHRESH: prefetch while fewer are cached (0: only when empty)
  unsigned writeback_threshold = 1;  // WTHRESH: descriptors per write-back burst
};

template <class Desc>
class desc_ring {
 public:
  // Queue n's ring registers, at the 82576's queue block offsets (RDBAL(n) ... or TDBAL(n)
  // ...); queue 0 keeps the e1000's names.
  reg bal, bah, len, head, tail;

  // kick is notified when the driver moves head or tail.
  desc_ring(ring_dir dir, unsigned index, uint32_t block_base, const desc_ring_params& params, reg_file& regs,
            desc_ring_dma& dma, sc_core::sc_event& kick)
      : bal(name(dir, "BAL", index), block_base + abi::RDBAL_OFF),
        bah(name(dir, "BAH", index), block_base + abi::RDBAH_OFF),
        len(name(dir, "LEN", index), block_base + abi::RDLEN_OFF),
        head(name(dir, "H", index), block_base + abi::RDH_OFF),
        tail(name(dir, "T", index), block_base + abi::RDT_OFF),
        m_dir(dir),
        m_index(index),
        m_params(params),
        m_dma(dma),
        m_kick(kick) {
    static_assert(abi::RDBAL_OFF == abi::TDBAL_OFF && abi::RDLEN_OFF == abi::TDLEN_OFF &&
                  abi::RDH_OFF == abi::TDH_OFF && abi::RDT_OFF == abi::TDT_OFF);
    bal.write_mask(~0xFu);     // 16-byte aligned
    len.write_mask(0xFFF80u);  // a multiple of 128 bytes, bits 19:7
    head.on_write(this, &desc_ring::write_head);
    tail.on_write(this, &desc_ring::write_tail);
    for (reg* r : {&bal, &bah, &len, &head, &tail}) regs.add(*r);
  }
  desc_ring(const desc_ring&) = delete;
  desc_ring& operator=(const desc_ring&) = delete;

  ring_dir direction() const { return m_dir; }
  unsigned index() const { return m_index; }
  uint32_t size() const { return static_cast<uint32_t>(len / sizeof(Desc)); }
  uint64_t base() const { return (static_cast<uint64_t>(bah) << 32) | bal; }
  // Descriptors the driver has handed over that are not fetched yet.
  uint32_t unfetched() const {
    const uint32_t n = size();
    return n == 0 ? 0 : (tail + n - m_next_fetch) % n;
  }
  size_t cached() const { return m_cache.size(); }
  // PTHRESH: the cache runs low and the driver has more.
  bool wants_prefetch() const { return m_cache.size() < m_params.prefetch_threshold && unfetched() > 0; }

  // Reads up to a batch of descriptors into the cache, never across the end of the ring in
  // one read. False when there was nothing to fetch, or when head was rewritten while the
  // read was in flight (what it brought is stale and dropped).
  bool fetch(sc_core::sc_time& local) {
    const uint32_t n = size();
    const uint32_t available = unfetched();
    if (available == 0) return false;
    const uint32_t count = std::min({available, m_params.fetch_batch, n - m_next_fetch});
    const uint32_t start = m_next_fetch;
    const uint64_t generation = m_generation;
    m_fetch_buf.resize(count);  // a member: the read suspends the caller
    m_dma.read_descriptors(m_dir, base() + uint64_t{start} * sizeof(Desc), bytes(m_fetch_buf.data()),
                           static_cast<unsigned>(count * sizeof(Desc)), local);
    if (generation != m_generation) return false;
    m_cache.insert(m_cache.end(), m_fetch_buf.begin(), m_fetch_buf.end());
    m_next_fetch = (start + count) % n;
    return true;
  }
  // The oldest cached descriptor, which the device now owns.
  Desc take() {
    Desc d = m_cache.front();
    m_cache.pop_front();
    return d;
  }

  // A descriptor the device is done with, as it is to be written back.
  void complete(const Desc& d) {
    if (m_batch.size() <= m_batched) m_batch.resize(m_batched + 1);
    m_batch[m_batched++] = d;
  }
  unsigned batched() const { return m_batched; }
  // WTHRESH reached, or the batch ends at the ring's end (one burst never wraps).
  bool write_back_due() const {
    const uint32_t n = size();
    return m_batched != 0 &&
           (m_batched >= m_params.writeback_threshold || (n != 0 && (head + m_batched) % n == 0));
  }
  // Writes the batch back at head in one burst and moves head past it; returns how many.
  unsigned write_back(sc_core::sc_time& local) {
    const uint64_t addr = base() + uint64_t{head} * sizeof(Desc);
    // Sync first, so that the write-back books the link in time order with the host's
    // MMIO completions.
    sc_core::wait(local);
    local = sc_core::SC_ZERO_TIME;
    const unsigned count = m_batched;
    m_dma.write_descriptors(m_dir, addr, bytes(m_batch.data()), static_cast<unsigned>(count * sizeof(Desc)),
                            local);
    const uint32_t n = size();  // the driver may have shrunk the ring meanwhile
    head = n ? (head + count) % n : 0;
    m_batched = 0;
    return count;
  }

  // A descriptor done that needs no write-back (TX without RS): head moves past it with no
  // DMA. Only with nothing batched, so that head stays the start of the next burst.
  void retire() {
    const uint32_t n = size();
    if (m_batched == 0 && n != 0) head = (head + 1) % n;
  }
  // TXDCTL.WTHRESH as the driver programs it (0 acts as 1: each descriptor on its own).
  void set_writeback_threshold(unsigned n) { m_params.writeback_threshold = n == 0 ? 1 : n; }

  // Drops what the ring holds on chip (cache, batch, a fetch in flight); the registers are
  // the register file's to reset.
  void reset() {
    m_next_fetch = 0;
    m_cache.clear();
    ++m_generation;
    m_batched = 0;
  }

 private:
  static std::string name(ring_dir dir, const char* reg_name, unsigned index) {
    return (dir == ring_dir::rx ? "RD" : "TD") + std::string(reg_name) +
           (index == 0 ? "" : "(" + std::to_string(index) + ")");
  }
  static uint8_t* bytes(Desc* d) { return reinterpret_cast<uint8_t*>(d); }

  void write_head(uint32_t v) {
    head = v;
    m_next_fetch = v;
    m_cache.clear();
    ++m_generation;  // a descriptor read in flight lands in a cache that no longer is
    m_kick.notify(sc_core::SC_ZERO_TIME);
  }
  void write_tail(uint32_t v) {
    tail = size() ? v % size() : 0;
    m_kick.notify(sc_core::SC_ZERO_TIME);
  }

  ring_dir m_dir;
  unsigned m_index;
  desc_ring_params m_params;
  desc_ring_dma& m_dma;
  sc_core::sc_event& m_kick;
  uint32_t m_next_fetch = 0;  // ring index of the next descriptor to fetch
  uint64_t m_generation = 0;  // bumped by a head write: reads in flight are stale
  std::deque<Desc> m_cache;   // fetched, not yet taken
  std::vector<Desc> m_fetch_buf;
  std::vector<Desc> m_batch;  // done, not yet written back
  unsigned m_batched = 0;
};

}  // namespace nicsim::hw
