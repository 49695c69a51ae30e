#pragma once
// The scenario knobs, each declared once (tb/knobs.cpp): its key, the field of
// system_params it sets (a binder: a setter from the knob's text and a getter back
// to text), its kind, range or choices, unit and help. tb::config builds its
// registry from this table (validation, `nicsim knobs`, the README table, the
// aliases) and make_system_params applies it; a knob's default is its field's
// default in a default-constructed system_params, read back through the getter.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tb/config.h"

namespace nicsim::tb {

struct system_params;

struct knob_decl {
  std::string key;
  config::kind type;
  double min = 0, max = 0;  // hex: both the byte count
  std::vector<std::string> choices;
  std::string unit;
  std::string help;
  // Sets the bound field from the knob's canonical text (config has validated it).
  std::function<void(system_params&, const std::string&)> set;
  // The bound field as knob text; of a default-constructed system_params, the default.
  std::function<std::string(const system_params&)> get;
  // Non-empty: the default when it must differ from the field's default (the
  // declaration says why).
  std::string default_override;
  std::string alias;  // a short name for run --set and sweep --grid (key_aliases())

  // Declaration helpers, chained: integer(...).aka("rx").
  knob_decl aka(std::string short_name) && {
    alias = std::move(short_name);
    return std::move(*this);
  }
  knob_decl defaults_to(std::string text) && {
    default_override = std::move(text);
    return std::move(*this);
  }
};

// The knob defaults nic.model = model sets (empty for generic and unknown names).
const std::vector<std::pair<std::string, std::string>>& model_defaults(const std::string& model);

// The defaults each nic.model sets, as a Markdown table (key; generic, e1000, igb, ixgbe).
std::string model_defaults_markdown();

// Every knob, in declaration order (aliases are listed in this order).
const std::vector<knob_decl>& knob_table();

// A knob's default text: default_override, or its field in a default system_params.
std::string knob_default(const knob_decl& k);

// Sets every bound field of p from cfg's knobs (cfg validated or not: no cross-knob
// checks here; make_system_params does those, then derives what follows from several).
void apply_knobs(const config& cfg, system_params& p);

}  // namespace nicsim::tb
