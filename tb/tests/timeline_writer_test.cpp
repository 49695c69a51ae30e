// The timeline writer's exact text: Chrome trace events with picosecond timestamps printed
// as microseconds with six decimals, names JSON-escaped (quotes and backslashes escaped,
// control characters dropped), flow arrows with their binding point.
#include "waves/timeline_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "tb/tests/cli_harness.h"

TEST(timeline_writer, writes_each_event_exactly) {
  const std::string path = nicsim::test::scratch_path("timeline_writer", "t.json");
  {
    nicsim::waves::timeline_writer w(path);
    const int cpu = w.track("cpu0", "cpu0");
    const int nic = w.track("nic", "rx \"q0\"");
    w.begin(cpu, 0, "do_IRQ");
    w.begin(cpu, 1000042, "a\\b\"c\x01");
    w.flow(nic, 12345678901234, 7, 's', "frame");
    w.flow(cpu, 12345678901235, 7, 'f', "frame");
    w.flow(nic, 987654321012345, 10101, 't', "frame");  // odd digit counts
    w.end(cpu, 2000000);
    w.close(3000001);            // ends the slice still open
    EXPECT_EQ(w.events(), 13u);  // six metadata, seven events
  }
  const std::string want =
      "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
      "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"cpu0\"}},\n"
      "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":1,\"args\":{\"sort_index\":1}},\n"
      "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"cpu0\"}},\n"
      "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":2,\"args\":{\"name\":\"nic\"}},\n"
      "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":2,\"args\":{\"sort_index\":2}},\n"
      "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":2,\"tid\":2,\"args\":{\"name\":\"rx \\\"q0\\\"\"}},\n"
      "{\"ph\":\"B\",\"name\":\"do_IRQ\",\"pid\":1,\"tid\":1,\"ts\":0.000000},\n"
      "{\"ph\":\"B\",\"name\":\"a\\\\b\\\"c\",\"pid\":1,\"tid\":1,\"ts\":1.000042},\n"
      "{\"ph\":\"s\",\"name\":\"frame\",\"cat\":\"frame\",\"id\":7,\"pid\":2,\"tid\":2,\"ts\":12345678."
      "901234},\n"
      "{\"ph\":\"f\",\"name\":\"frame\",\"cat\":\"frame\",\"id\":7,\"pid\":1,\"tid\":1,\"bp\":\"e\",\"ts\":"
      "12345678.901235},\n"
      "{\"ph\":\"t\",\"name\":\"frame\",\"cat\":\"frame\",\"id\":10101,\"pid\":2,\"tid\":2,\"ts\":"
      "987654321.012345},\n"
      "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":2.000000},\n"
      "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":3.000001}\n"
      "]}\n";
  EXPECT_EQ(nicsim::test::read_file(path), want);
}

// Events wait in a buffer: a track declared after them still follows them in the file, and
// bytes() counts what waits, so it equals the file's size once closed.
TEST(timeline_writer, a_track_declared_after_buffered_events_follows_them) {
  const std::string path = nicsim::test::scratch_path("timeline_writer", "order.json");
  uint64_t bytes = 0;
  {
    nicsim::waves::timeline_writer w(path);
    const int a = w.track("cpu0", "first");
    for (uint64_t i = 0; i < 3000; ++i) {  // past one 64 KiB buffer
      w.begin(a, i * 1000, "work");
      w.end(a, i * 1000 + 500);
    }
    const int b = w.track("cpu1", "second");
    w.begin(b, 5000000, "late");
    w.close(6000000);
    bytes = w.bytes();
  }
  const std::string text = nicsim::test::read_file(path);
  EXPECT_EQ(bytes, text.size());
  const size_t last_a = text.rfind("\"ts\":2.999500}");
  const size_t track_b = text.find("{\"name\":\"second\"}");
  const size_t late = text.find("\"name\":\"late\"");
  ASSERT_NE(last_a, std::string::npos);
  ASSERT_NE(track_b, std::string::npos);
  ASSERT_NE(late, std::string::npos);
  EXPECT_LT(last_a, track_b);
  EXPECT_LT(track_b, late);
}

// Events on the same picosecond (on one track or several), a new time, and an earlier time
// again: each event carries its own track and its own time.
TEST(timeline_writer, events_on_the_same_picosecond_and_back_keep_their_times_and_tracks) {
  const std::string path = nicsim::test::scratch_path("timeline_writer", "same_time.json");
  {
    nicsim::waves::timeline_writer w(path);
    const int a = w.track("cpu0", "a");
    const int b = w.track("cpu1", "b");
    w.begin(a, 7000001, "x");
    w.begin(b, 7000001, "y");
    w.end(a, 7000001);
    w.end(b, 8000000);
    w.begin(a, 7000001, "z");  // an earlier time than the last event's
    w.close(9000000);
  }
  const std::string text = nicsim::test::read_file(path);
  const std::string events = text.substr(text.find("{\"ph\":\"B\""));
  EXPECT_EQ(events,
            "{\"ph\":\"B\",\"name\":\"x\",\"pid\":1,\"tid\":1,\"ts\":7.000001},\n"
            "{\"ph\":\"B\",\"name\":\"y\",\"pid\":2,\"tid\":2,\"ts\":7.000001},\n"
            "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":7.000001},\n"
            "{\"ph\":\"E\",\"pid\":2,\"tid\":2,\"ts\":8.000000},\n"
            "{\"ph\":\"B\",\"name\":\"z\",\"pid\":1,\"tid\":1,\"ts\":7.000001},\n"
            "{\"ph\":\"E\",\"pid\":1,\"tid\":1,\"ts\":9.000000}\n"
            "]}\n");
}
