#pragma once
// When a host stays above its capacity, admission cannot help any more: the overload is
// made of tenants already here (a function that idled when admitted and now runs hot,
// several that jumped together). What helps is moving one of them. The node core says
// which (NodeCore::relief); the platform moves it, or not. The fleet replay asks the
// same rule for every policy (`--relieve`), so moving is judged alike for all of them.
//
// Sans-IO: the caller passes each tick's measurements and its length.
#include <optional>
#include <string>
#include <vector>

namespace antiphase::node {

struct TenantUsage {
  std::string function;
  double cores = 0;  // all its instances here, in the last tick
};

struct Relief {
  std::string function;   // the tenant to move
  double cores = 0;       // what it used in the last tick
  double host_cores = 0;  // the host's measured total in the last tick
  double capacity_cores = 0;
  double over_s = 0;      // how long the host has been above capacity without a break
  std::string explanation;
};

// The tenant whose move brings the host back under capacity while moving the least
// work (the smallest one that is at least the excess); when no single tenant is, the
// largest. Ties go to the first name. Nothing when the host is not above capacity or
// holds one tenant only (moving it alone changes nothing: it is too big for any host).
std::optional<Relief> choose_relief(const std::vector<TenantUsage>& tenants, double capacity_cores, double over_s);

// One host's relief, tick by tick: how long it has been above capacity without a tick
// under it, and its tenants' usage in the last tick (asked for only while above: most
// ticks copy nothing). A single hot tick is not worth a move (a restart costs more than
// a blip); `after_s` of them is. The node core and the fleet replay's scheduler-side
// rules both judge through this.
class ReliefWatch {
 public:
  // `usage()` gives the tenants' TenantUsage list of this tick.
  template <typename Usage>
  void tick(double host_cores, double capacity_cores, double dt_s, Usage&& usage) {
    capacity_cores_ = capacity_cores;
    over_s_ = host_cores > capacity_cores ? over_s_ + dt_s : 0.0;
    if (over_s_ > 0) last_ = usage();
    else last_.clear();
  }
  double over_s() const { return over_s_; }
  // The tenant to move once the spell has lasted `after_s` (0: never).
  std::optional<Relief> relief(double after_s) const {
    if (!(after_s > 0) || over_s_ < after_s) return std::nullopt;
    return choose_relief(last_, capacity_cores_, over_s_);
  }

 private:
  double over_s_ = 0, capacity_cores_ = 0;
  std::vector<TenantUsage> last_;
};

}  // namespace antiphase::node
