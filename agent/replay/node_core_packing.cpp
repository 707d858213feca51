#include "agent/replay/node_core_packing.h"

#include <stdexcept>

#include "common/node/node_core.h"
#include "common/shape/summary.h"

namespace antiphase::replay {
namespace {

// What the replay feeds each simulated host is what antiphased would have had:
//  - the host's aggregate is learned tick by tick from its tenants' measured sum over
//    the window the policy learns from (as if they had run there all along); the
//    calibrator (z) and the co-movement estimate warm up on those same ticks;
//  - a candidate was measured on another host, so it is sized from its gossip summary:
//    its own shape model over the same window, summarised, encoded (≤ 256 B) and
//    decoded again by the host's core, like any summary heard over gossip.
// The decision is NodeCore::admit, the code /v1/admit runs.
class NodeCorePolicy : public PackingPolicy {
  class Host : public HostModel {
   public:
    explicit Host(const NodeCorePolicy& p) : p_(p), core_(p.empty_host_) {}

    std::optional<double> headroom_if_added(size_t fn) override {
      core_.hear_function(p_.w_.names[fn], p_.summaries_[fn]);
      node::AdmitRequest r;
      r.function = p_.w_.names[fn];
      const node::Answer a = core_.admit(r, p_.decide_at_s_);
      if (!a.ok() || !a.decision.accept) return std::nullopt;
      return a.decision.headroom_cores;
    }

    void add(size_t fn) override {
      tenants_.push_back(fn);
      core_ = p_.learned_host(tenants_);
    }

   private:
    const NodeCorePolicy& p_;
    node::NodeCore core_;
    std::vector<size_t> tenants_;
  };

 public:
  NodeCorePolicy(const Workload& w, node::NodeConfig config)
      : w_(w), config_(std::move(config)), empty_host_(config_, "replay-host") {
    const FoldGrid& g = w.fit_grid;
    if (w.fit_steps() == 0) throw std::runtime_error("the learning window holds no steps");
    // Decisions are taken right after the last tick of the learning window.
    decide_at_s_ = static_cast<double>(g.start_s + static_cast<int64_t>(w.fit_steps() - 1) * g.step_s);
    for (size_t f = 0; f < w.size(); ++f) summaries_.push_back(summary_of(f));
    empty_host_ = learned_host({});
  }
  std::unique_ptr<HostModel> new_host() const override { return std::make_unique<Host>(*this); }

 private:
  int64_t unix_s_of(size_t step) const {
    return w_.fit_grid.start_s + static_cast<int64_t>(step) * w_.fit_grid.step_s;
  }

  std::string summary_of(size_t fn) const {
    shape::ShapeModel model(config_.shape);
    for (size_t i = 0; i < w_.fit_steps(); ++i)
      model.add_sample(unix_s_of(i), w_.fit[fn][i], static_cast<double>(w_.fit_grid.step_s));
    return shape::encode(shape::summarize(w_.names[fn], model, 1, 1));
  }

  // A host that ran `tenants` over the whole learning window.
  node::NodeCore learned_host(const std::vector<size_t>& tenants) const {
    node::NodeCore core(config_, "replay-host");
    node::Tick t;
    t.dt_s = static_cast<double>(w_.fit_grid.step_s);
    std::vector<std::pair<node::FunctionTick*, const std::vector<float>*>> slots;
    for (size_t fn : tenants) slots.push_back({&t.functions[w_.names[fn]], &w_.fit[fn]});
    for (size_t i = 0; i < w_.fit_steps(); ++i) {
      t.unix_ms = unix_s_of(i) * 1000;
      for (auto& [tick, series] : slots) tick->cores = (*series)[i];
      core.observe(t, static_cast<double>(unix_s_of(i)));
    }
    return core;
  }

  const Workload& w_;
  node::NodeConfig config_;
  node::NodeCore empty_host_;
  std::vector<std::string> summaries_;
  double decide_at_s_ = 0;
};

}  // namespace

std::unique_ptr<PackingPolicy> make_node_core_packing(const Workload& w, const node::NodeConfig& config,
                                                      double capacity, double target_overload_rate) {
  node::NodeConfig c = config;
  c.capacity_cores = capacity;
  c.policy.target_overload_rate = target_overload_rate;
  c.calibrator.target_overload_rate = target_overload_rate;
  // CPU traces carry no memory: the replay judges CPU decisions, the memory guard is off.
  c.memory.guard.mode = admission::CommittedMemoryMode::Off;
  return std::make_unique<NodeCorePolicy>(w, std::move(c));
}

}  // namespace antiphase::replay
