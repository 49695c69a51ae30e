#pragma once
// Strict loading of the YAML a user hands in (scenarios, cost tables, sweep
// sections): exactly one document, every map key a plain scalar that appears
// once in its map. yaml-cpp alone keeps only the first of several documents,
// lets a later duplicate key win over an earlier one in our walks, and throws
// a bad-conversion error (not a parse error) on a key such as `? [a, b]`.
// Errors are std::invalid_argument, "ORIGIN:LINE:COLUMN: what".
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace nicsim::host::yaml_input {

// "ORIGIN:LINE:COLUMN" (1-based), or ORIGIN alone when yaml-cpp has no position.
inline std::string at(const std::string& origin, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return origin;
  return origin + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// "line L, column C" for pointing at an earlier place in the same file.
inline std::string line_of(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return "an earlier line";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

namespace detail {

// Far deeper than any input of ours (a scenario nests three levels); it bounds
// the walk over aliases that refer back to themselves.
inline constexpr int max_depth = 32;
// Aliases share nodes, so a small file can describe a huge tree (the "billion
// laughs"); the walk gives up instead of visiting it.
inline constexpr size_t max_nodes = 100000;

inline void check_node(const YAML::Node& node, const std::string& origin, int depth, size_t& visited) {
  if (depth > max_depth)
    throw std::invalid_argument(at(origin, node.Mark()) + ": nested deeper than " +
                                std::to_string(max_depth) + " levels (or an alias inside its own anchor)");
  if (++visited > max_nodes)
    throw std::invalid_argument(origin + ": more than " + std::to_string(max_nodes) +
                                " YAML nodes (aliases expanding?)");
  if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : node) {
      const YAML::Node& key = kv.first;
      if (key.IsNull()) throw std::invalid_argument(at(origin, key.Mark()) + ": a key is empty");
      if (!key.IsScalar())
        throw std::invalid_argument(at(origin, key.Mark()) + ": a key must be a plain name, not a " +
                                    (key.IsSequence() ? "list" : "map") +
                                    " (`? ...` complex keys are not allowed)");
      const auto [it, fresh] = seen.emplace(key.Scalar(), key.Mark());
      if (!fresh)
        throw std::invalid_argument(at(origin, key.Mark()) + ": key '" + key.Scalar() +
                                    "' appears twice in one map (first at " + line_of(it->second) + ")");
      check_node(kv.second, origin, depth + 1, visited);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check_node(item, origin, depth + 1, visited);
  }
}

}  // namespace detail

namespace detail {

// Records where each document's root node starts; the pre-pass that counts
// documents.
class document_marks final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> roots;
  void OnDocumentStart(const YAML::Mark&) override { m_root_seen = false; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (m_root_seen) return;
    m_root_seen = true;
    roots.push_back(mark);
  }
  bool m_root_seen = false;
};

}  // namespace detail

// The one document of `text` (a null node when the text holds none), checked
// as described above.
//
// Documents are counted with our own bounded loop, not YAML::LoadAll: in
// yaml-cpp 0.7.0 (Debian 12) a token that starts no node, such as a leading
// ',', makes HandleNextDocument report a new, empty document without consuming
// anything, so LoadAll loops forever and allocates until the process dies
// (jbeder/yaml-cpp#1040, fixed upstream by PR #1319 after 0.8.0).
inline YAML::Node load(const std::string& text, const std::string& origin) {
  YAML::Node doc;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    detail::document_marks marks;
    for (int call = 0; call < 3 && marks.roots.size() < 2 && parser.HandleNextDocument(marks); ++call) {
    }
    if (marks.roots.empty()) return YAML::Node();
    if (marks.roots.size() > 1) {
      const YAML::Mark& second = marks.roots[1];
      if (second.pos == marks.roots[0].pos) {
        const size_t pos = static_cast<size_t>(second.pos);
        const std::string token = pos < text.size() ? std::string(1, text[pos]) : std::string("end of input");
        throw std::invalid_argument(at(origin, second) + ": '" + token +
                                    "' starts no YAML value (a stray flow indicator?)");
      }
      throw std::invalid_argument(at(origin, second) + ": a second YAML document (after '---'); the file " +
                                  "must hold exactly one");
    }
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(at(origin, e.mark) + ": " + e.msg);
  }
  size_t visited = 0;
  detail::check_node(doc, origin, 0, visited);
  return doc;
}

}  // namespace nicsim::host::yaml_input
