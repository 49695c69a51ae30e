#include <gtest/gtest.h>
#include <systemc>

// SystemC owns main(); tests start from sc_main. SystemC warnings are test failures.
int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
