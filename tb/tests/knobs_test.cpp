// The knob table (tb/knobs.cpp): each knob declared once, its default its field's
// default, and every value config accepts reaching its field intact.
#include "tb/knobs.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tb/config.h"
#include "tb/system_top.h"

namespace {

using nicsim::tb::apply_knobs;
using nicsim::tb::config;
using nicsim::tb::knob_decl;
using nicsim::tb::knob_table;
using nicsim::tb::system_params;

// A knob's text from its field, canonicalized as config canonicalizes what it is given.
std::string read_back(const knob_decl& k, const system_params& p) {
  config c;
  c.set(k.key, k.get(p), "read back");
  return c.text(k.key);
}

const knob_decl& find(const std::string& key) {
  for (const auto& k : knob_table())
    if (k.key == key) return k;
  throw std::out_of_range(key);
}

TEST(knobs, each_key_declared_once_and_config_holds_exactly_the_table) {
  std::set<std::string> keys, aliases;
  for (const auto& k : knob_table()) {
    EXPECT_TRUE(keys.insert(k.key).second) << k.key << " declared twice";
    if (!k.alias.empty()) {
      EXPECT_TRUE(aliases.insert(k.alias).second) << k.alias << " aliases two knobs";
    }
  }
  const config cfg;
  EXPECT_EQ(cfg.knobs().size(), keys.size());
  for (const auto& key : keys) EXPECT_TRUE(cfg.has(key)) << key;
  EXPECT_EQ(nicsim::tb::key_aliases().size(), aliases.size());
}

TEST(knobs, the_default_is_what_make_system_params_sets_for_a_default_config) {
  const config cfg;
  const system_params made = make_system_params(cfg);
  const system_params fresh;
  for (const auto& k : knob_table()) {
    EXPECT_EQ(read_back(k, made), cfg.text(k.key)) << k.key;
    // The default is the field's own unless the declaration says otherwise.
    if (k.default_override.empty()) {
      EXPECT_EQ(read_back(k, fresh), cfg.text(k.key)) << k.key;
    } else {
      EXPECT_NE(read_back(k, fresh), cfg.text(k.key)) << k.key << ": defaults_to() says what the field has";
    }
  }
}

// Every bound of every numeric knob, and every word of every choice, reaches its field and
// reads back unchanged: a field too narrow for the declared range, or a binder that
// converts wrongly, fails here.
TEST(knobs, every_bound_and_every_choice_reaches_its_field) {
  for (const auto& k : knob_table()) {
    std::vector<std::string> values;
    if (k.type == config::kind::choice)
      values = k.choices;
    else if (k.type == config::kind::number || k.type == config::kind::integer)
      values = {config::format_number(k.min), config::format_number(k.max)};
    for (const auto& v : values) {
      config cfg;
      cfg.set(k.key, v, "test");
      system_params p;
      apply_knobs(cfg, p);  // no validate: bounds may break cross-knob checks
      EXPECT_EQ(read_back(k, p), cfg.text(k.key)) << k.key << " = " << v;
    }
  }
}

// The getter is the setter's own field; these check the fields themselves.
TEST(knobs, values_reach_the_fields_of_the_parts) {
  config cfg;
  cfg.set_assignment("rx=4096");
  cfg.set_assignment("nic.coalesce.min_interval_ns=4294967295");
  cfg.set_assignment("pcie.latency_ns=1234.5");
  cfg.set_assignment("app.busy_poll_us=100000");
  cfg.set_assignment("traffic.pattern=burst");
  cfg.set_assignment("nic.coalesce.mode=arm");
  cfg.set_assignment("app.mode=nonblocking");
  cfg.set_assignment("host.hz=250");
  cfg.set_assignment("nic.rx_queues=4");
  cfg.set_assignment("pcie.mps=512");
  cfg.set_assignment("nic.line_rate_gbps=40");
  cfg.set_assignment("seed=4294967295");
  cfg.set_assignment(
      "nic.rss_key=01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:"
      "1a:1b:1c:1d:1e:1f:20:21:22:23:24:25:26:27:ff");
  const system_params p = make_system_params(cfg);
  EXPECT_EQ(p.host.driver.rx_ring_size, 4096u);
  EXPECT_EQ(p.host.driver.min_interval_ns, 4294967295u);
  EXPECT_EQ(p.link.latency, sc_core::sc_time(1234.5, sc_core::SC_NS));
  EXPECT_EQ(p.host.app.busy_poll, sc_core::sc_time(100, sc_core::SC_MS));
  EXPECT_EQ(p.traffic.pattern, nicsim::tb::traffic_params::burst);
  EXPECT_EQ(p.host.driver.coalesce, nicsim::host::e1000_params::coalesce_mode::arm);
  EXPECT_TRUE(p.host.app.nonblocking);
  EXPECT_EQ(p.host.hz, 250u);
  EXPECT_EQ(p.traffic.seed, 4294967295u);
  EXPECT_EQ(p.host.driver.rss_key[0], 0x01);
  EXPECT_EQ(p.host.driver.rss_key[9], 0x0a);
  EXPECT_EQ(p.host.driver.rss_key[39], 0xff);
  // Copies and derived values, after the table.
  EXPECT_EQ(p.nic.rx_queues, 4u);
  EXPECT_EQ(p.host.driver.rx_queues, 4u);
  EXPECT_EQ(p.nic.max_payload_bytes, 512u);
  EXPECT_EQ(p.link.max_payload_bytes, 512u);
  EXPECT_EQ(p.traffic.line_rate_gbps, 40.0);
  EXPECT_EQ(p.host.net.local_ip, p.traffic.flow.dst_ip);
}

TEST(knobs, durations_keep_their_unit) {
  config cfg;
  cfg.set_assignment("duration=2.5");
  cfg.set_assignment("host.gro_flush_timeout_ns=7");
  cfg.set_assignment("traffic.start_us=3");
  const system_params p = make_system_params(cfg);
  EXPECT_EQ(p.duration, sc_core::sc_time(2500, sc_core::SC_NS));
  EXPECT_EQ(p.host.net.gro_flush_timeout, sc_core::sc_time(7, sc_core::SC_NS));
  EXPECT_EQ(p.traffic.start, sc_core::sc_time(3, sc_core::SC_US));
  EXPECT_EQ(find("sim.duration_us").unit, "us");
  EXPECT_EQ(find("app.work_ns").unit, "ns");
}

}  // namespace
