// The choice of a unit's model and the registry of RTL models (models/core/unit_model.h): an RTL
// model is found by its unit's name, gets the waveforms only where asked, and a unit without one
// in this build is an Error naming the parameter and the unit.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "models/core/unit_model.h"

using namespace xpusim;
using Catch::Matchers::Contains;

namespace {

// A unit whose operations take `latency` cycles, as a stand-in RTL model.
struct Config {
  uint64_t latency;
};
using Model = UnitModel<int, uint64_t>;

class Fake final : public Model {
 public:
  Fake(const Config& c, const VcdWindow& w) : latency(c.latency), vcd(w) {}
  bool computes_values() const override { return true; }
  void offer(uint64_t, int, uint64_t, uint64_t, std::vector<Event>&) override {}
  bool clocked() const override { return true; }
  bool busy() const override { return false; }
  void step(uint64_t, std::vector<Event>&) override {}
  uint64_t latency;
  VcdWindow vcd;
};

const std::vector<ParamSpec>& specs() {
  static const std::vector<ParamSpec> s =
      unit_model_params("unit", "a formula", "an RTL", "operations");
  return s;
}

ParamValues values(const std::string& model, const std::string& vcd) {
  ParamValues v(&specs());
  v.set("unit.model", model, {});
  v.set("unit.vcd", vcd, {});
  v.set("unit.vcd_first", "2", {});
  v.set("unit.vcd_last", "5", {});
  return v;
}

}  // namespace

TEST_CASE("unit model: an RTL model is found by its unit's name", "[unit]") {
  register_rtl_unit<Model, Config>("test.fake", [](const Config& c, const VcdWindow& vcd) {
    return std::make_unique<Fake>(c, vcd);
  });
  const UnitModelChoice choice(values("rtl", "w.vcd"), "unit");
  CHECK(choice.rtl);
  const auto traced = choice.make_rtl<Model, Config>("test.fake", Config{7}, true);
  const auto& fake = dynamic_cast<const Fake&>(*traced);
  CHECK(fake.latency == 7);
  CHECK(fake.vcd.path == "w.vcd");
  CHECK(fake.vcd.first == 2);
  CHECK(fake.vcd.last == 5);
  const auto untraced = choice.make_rtl<Model, Config>("test.fake", Config{7}, false);
  CHECK(dynamic_cast<const Fake&>(*untraced).vcd.path.empty());

  auto again = [] {
    register_rtl_unit<Model, Config>("test.fake", [](const Config& c, const VcdWindow& vcd) {
      return std::make_unique<Fake>(c, vcd);
    });
  };
  CHECK_THROWS_WITH(again(), Contains("RTL unit 'test.fake' is registered twice"));
  // Asked for with another interface: a bug, not a user's error.
  CHECK_THROWS_WITH((choice.make_rtl<UnitModel<int, int>, Config>("test.fake", Config{7}, false)),
                    Contains("internal: the RTL unit 'test.fake' has a factory of another type"));
}

TEST_CASE("unit model: a unit without RTL in this build is an error naming it", "[unit]") {
  const UnitModelChoice choice(values("rtl", ""), "unit");
  CHECK_THROWS_WITH((choice.make_rtl<Model, Config>("test.none", Config{1}, false)),
                    Contains("unit.model rtl (--rtl): this build has no RTL of the unit "
                             "'test.none'"));
}

TEST_CASE("unit model: the RTL's own errors name the parameter", "[unit]") {
  register_rtl_unit<Model, Config>("test.broken",
                                   [](const Config&, const VcdWindow&) -> std::unique_ptr<Model> {
                                     throw Error("no such shape");
                                   });
  const UnitModelChoice choice(values("rtl", ""), "unit");
  CHECK_THROWS_WITH((choice.make_rtl<Model, Config>("test.broken", Config{1}, false)),
                    Contains("unit.model rtl (--rtl): no such shape"));
}

TEST_CASE("unit model: waveforms need the RTL model", "[unit]") {
  CHECK_FALSE(UnitModelChoice(values("formula", ""), "unit").rtl);
  CHECK_THROWS_WITH(UnitModelChoice(values("formula", "w.vcd"), "unit"),
                    Contains("unit.vcd (--vcd) needs the RTL model: unit.model rtl (--rtl)"));
}
