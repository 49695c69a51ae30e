#pragma once
// Device registers after VCML's reg<u32>: each register is a member of the unit it belongs
// to, declared with its datasheet name, offset and reset value, with its access rules and
// read/write callbacks attached in that unit's constructor. The register file decodes
// BAR0 onto them: 32-bit aligned accesses only, errors answered in the generic payload's
// response status, and a debug path without side effects.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <systemc>
#include <tlm>

namespace nicsim::hw {

class reg {
 public:
  using read_fn = std::function<uint32_t()>;
  using write_fn = std::function<void(uint32_t)>;

  reg(std::string name, uint32_t offset, uint32_t reset_value = 0);
  reg(const reg&) = delete;
  reg& operator=(const reg&) = delete;

  // ---- access rules, from the datasheet's register table
  // Bits a write reaches; the others are reserved and read as they were (0).
  reg& write_mask(uint32_t bits);
  // RC: a bus read returns the contents and clears them.
  reg& read_to_clear();
  // RO: writes are ignored, on the bus and on the debug path.
  reg& read_only();
  // What a read returns when it is not the contents: another register (an alias), or 0 for
  // a write-only one. It must change nothing, since the debug path calls it too.
  reg& on_read(read_fn fn);
  // Runs on a bus write instead of storing the (masked) value; it stores what it keeps.
  reg& on_write(write_fn fn);
  template <class T>
  reg& on_write(T* host, void (T::*fn)(uint32_t)) {
    return on_write([host, fn](uint32_t v) { (host->*fn)(v); });
  }

  const std::string& name() const { return m_name; }
  uint32_t offset() const { return m_offset; }

  // ---- the model's view of the contents
  uint32_t get() const { return m_value; }
  operator uint32_t() const { return m_value; }  // a register reads as its contents
  reg& operator=(uint32_t v) {
    m_value = v;
    return *this;
  }
  reg& operator|=(uint32_t v) {
    m_value |= v;
    return *this;
  }
  reg& operator&=(uint32_t v) {
    m_value &= v;
    return *this;
  }
  reg& operator++() {
    ++m_value;
    return *this;
  }
  void reset() { m_value = m_reset; }

  // ---- the bus's view
  uint32_t read();
  void write(uint32_t v);
  // Debug path (transport_dbg): a read that clears nothing, and a write that stores the
  // value and runs none of the register's actions. poke is false for a read-only register.
  uint32_t peek() const;
  bool poke(uint32_t v);

 private:
  std::string m_name;
  uint32_t m_offset;
  uint32_t m_reset;
  uint32_t m_value;
  uint32_t m_write_mask = ~0u;
  bool m_read_to_clear = false;
  bool m_read_only = false;
  read_fn m_read;
  write_fn m_write;
};

class reg_file {
 public:
  // Maps r at its offset; r must outlive the register file.
  void add(reg& r);
  void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  // Reads or writes whole registers from the payload's address on, without side effects;
  // returns the bytes transferred (it stops at an unmapped or read-only register).
  unsigned transport_dbg(::tlm::tlm_generic_payload& trans);
  // Every register to its reset value.
  void reset();

  reg* find(uint32_t offset) const;
  const std::string& name_of(uint32_t offset) const;

 private:
  std::map<uint32_t, reg*> m_regs;
};

}  // namespace nicsim::hw
