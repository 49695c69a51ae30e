#include "tlm/local_time.h"

namespace nicsim::tlm {

sc_core::sc_time decoupling::offset{sc_core::SC_ZERO_TIME};
sc_core::sc_time decoupling::horizon{sc_core::SC_ZERO_TIME};
uint64_t decoupling::deferred = 0;
uint64_t decoupling::waited = 0;
sc_core::sc_time decoupling::s_next{sc_core::SC_ZERO_TIME};
sc_core::sc_time decoupling::s_at{sc_core::sc_max_time()};
sc_dt::uint64 decoupling::s_delta = ~sc_dt::uint64{0};

void decoupling::start(const sc_core::sc_time& t, bool defer) {
  horizon = defer ? sc_core::sc_time_stamp() + t : sc_core::SC_ZERO_TIME;
  struct reset {
    ~reset() { horizon = sc_core::SC_ZERO_TIME; }
  } on_exit;
  sc_core::sc_start(t);
}

}  // namespace nicsim::tlm
