#pragma once
// The register map moved to abi/ (abi/e1000_hw.h), which device and driver share. This
// alias keeps tb/system_top.cpp building until it includes abi/ itself; nothing in hw/
// uses it.
#include "abi/e1000_hw.h"

namespace nicsim::hw {
namespace regs = nicsim::abi;
}  // namespace nicsim::hw
