// The wave writer's exact VCD text: each value as its bits, the most significant first, at
// every width (a partial first byte, 64 bits, wider than 64), text values with their spaces
// made underscores, and a window that opens with the values from before the change that
// opened it.
#include "waves/wave_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "tb/tests/cli_harness.h"

TEST(wave_writer, writes_each_value_as_its_bits_most_significant_first) {
  nicsim::waves::wave_options o;
  o.path = nicsim::test::scratch_path("wave_writer", "bits.vcd");
  {
    nicsim::waves::wave_writer w(o);
    const int one = w.declare("x.one", 1, false), three = w.declare("x.three", 3, false);
    const int ten = w.declare("x.ten", 10, false), w64 = w.declare("x.w64", 64, false);
    const int w70 = w.declare("x.w70", 70, false), txt = w.declare("x.txt", 0, true);
    w.change(one, 1000, 1);
    w.change(three, 1000, 5);
    w.change(ten, 1000, 0x2A5);
    w.change(w64, 1000, 0x8000000000000001ull);
    w.change(w70, 1000, 0xF0);
    w.change_text(txt, 1000, "two words");
    w.change(three, 2000, 0xFF);  // only the low 3 bits
    w.change_text(txt, 2000, "");
    w.close();
  }
  const std::string text = nicsim::test::read_file(o.path);
  const std::string changes = text.substr(text.find("#1000\n"));
  EXPECT_EQ(changes,
            "#1000\n"
            "1!\n"
            "b101 \"\n"
            "b1010100101 #\n"
            "b1000000000000000000000000000000000000000000000000000000000000001 $\n"
            "b0000000000000000000000000000000000000000000000000000000000000011110000 %\n"
            "stwo_words &\n"
            "#2000\n"
            "b111 \"\n"
            "s- &\n");
}

TEST(wave_writer, the_window_opens_with_the_values_before_the_change_that_opens_it) {
  nicsim::waves::wave_options o;
  o.path = nicsim::test::scratch_path("wave_writer", "window.vcd");
  {
    nicsim::waves::wave_writer w(o);
    const int a = w.declare("x.a", 4, false), b = w.declare("x.b", 4, false);
    w.change(a, 0, 5);  // values at time 0, before the window opens
    w.change(b, 0, 9);
    w.change(a, 1000, 6);  // the first change after time 0 opens the window at 0
    w.close();
  }
  const std::string text = nicsim::test::read_file(o.path);
  const std::string changes = text.substr(text.find("#0\n"));
  EXPECT_EQ(changes,
            "#0\n"
            "b0101 !\n"
            "b1001 \"\n"
            "#1000\n"
            "b0110 !\n");
}
