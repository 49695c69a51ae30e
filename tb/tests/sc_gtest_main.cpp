#include <gtest/gtest.h>

#include <cstdlib>
#include <systemc>

#include "tb/system_top.h"

// SystemC owns main(); tests start from sc_main. SystemC warnings are test failures.
int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
  testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  // Unwind the stacks of threads a test left suspended, so leak checks see only real leaks.
  if (sc_core::sc_get_status() == sc_core::SC_PAUSED) nicsim::tb::unwind_threads();
  return rc;
}

int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
