#pragma once
#include <nlohmann/json.hpp>
#include <ostream>

namespace nicsim::tb {
// The human summary of a run's statistics document.
void print_summary(std::ostream& os, const nlohmann::ordered_json& results);
}  // namespace nicsim::tb
