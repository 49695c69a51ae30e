#pragma once
// A register file on a TLM target: registers declared by name and offset with
// read/write callbacks, 32-bit aligned accesses only, errors answered in the
// generic payload's response status.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <systemc>
#include <tlm>

namespace nicsim::hw {

class reg_file {
 public:
  using read_fn = std::function<uint32_t()>;
  using write_fn = std::function<void(uint32_t)>;

  // A plain storage register when read/write are empty.
  void add(const std::string& name, uint32_t offset, uint32_t reset, read_fn rd = {}, write_fn wr = {});
  void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

  uint32_t value(uint32_t offset) const;  // storage of a plain register
  void set(uint32_t offset, uint32_t v);
  const std::string& name_of(uint32_t offset) const;

 private:
  struct reg {
    std::string name;
    uint32_t value;
    read_fn rd;
    write_fn wr;
  };
  std::map<uint32_t, reg> m_regs;
};

}  // namespace nicsim::hw
