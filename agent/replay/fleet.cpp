#include "agent/replay/fleet.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "agent/replay/packing_policy.h"
#include "common/gossip/protocol.h"
#include "common/node/node_core.h"
#include "common/node/peer_sync.h"

namespace antiphase::replay {
namespace {

constexpr int64_t kDay = 86400;
constexpr size_t kNone = SIZE_MAX;

// ---------------------------------------------------------------- the trace on one grid

struct FleetTrace {
  int64_t start_s = 0, step_s = 300;
  size_t steps = 0;
  std::vector<std::string> names;
  std::vector<std::vector<float>> series;  // gaps repeat the previous sample
  std::vector<size_t> first, last;         // steps of the first and last real sample
  int64_t time_of(size_t step) const { return start_s + static_cast<int64_t>(step) * step_s; }
  size_t steps_per_day() const { return static_cast<size_t>(kDay / step_s); }
  size_t days() const { return (steps + steps_per_day() - 1) / steps_per_day(); }  // the last one may be partial
};

FleetTrace fleet_trace(const Trace& trace, int64_t step_s, std::optional<double> days) {
  if (trace.rows.empty()) throw std::runtime_error("the trace has no rows");
  if (step_s <= 0 || kDay % step_s != 0)
    throw std::runtime_error("--fleet needs a sampling step that divides a day; this one is " + std::to_string(step_s) +
                             " s (give --step)");
  FleetTrace t;
  t.step_s = step_s;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const TraceRow& r : trace.rows) {
    lo = std::min(lo, r.timestamp);
    hi = std::max(hi, r.timestamp);
  }
  t.start_s = lo - ((lo % kDay) + kDay) % kDay;  // midnight UTC: days align with the shape folds
  int64_t end = hi + step_s;
  if (days) end = std::min(end, t.start_s + static_cast<int64_t>(std::llround(*days * kDay)));
  t.steps = static_cast<size_t>((end - t.start_s) / step_s);
  const size_t n = trace.functions.size();
  std::vector<std::vector<float>> sum(n);
  std::vector<std::vector<uint16_t>> count(n);
  t.first.assign(n, kNone);
  t.last.assign(n, 0);
  for (const TraceRow& r : trace.rows) {
    if (r.timestamp < t.start_s || r.timestamp >= end) continue;
    const size_t i = static_cast<size_t>((r.timestamp - t.start_s) / step_s);
    if (sum[r.function].empty()) {
      sum[r.function].assign(t.steps, 0.0f);
      count[r.function].assign(t.steps, 0);
    }
    sum[r.function][i] += r.cpu;
    ++count[r.function][i];
    t.first[r.function] = std::min(t.first[r.function], i);
    t.last[r.function] = std::max(t.last[r.function], i);
  }
  // Name order, like the static replay, so the seeded orders do not depend on the file.
  std::vector<size_t> order;
  for (size_t f = 0; f < n; ++f)
    if (t.first[f] != kNone) order.push_back(f);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return trace.functions[a] < trace.functions[b]; });
  FleetTrace out = t;
  out.first.clear();
  out.last.clear();
  for (size_t f : order) {
    std::vector<float> s(t.steps, 0.0f);
    float previous = sum[f][t.first[f]] / count[f][t.first[f]];
    for (size_t i = t.first[f]; i <= t.last[f]; ++i) {
      if (count[f][i]) previous = sum[f][i] / count[f][i];
      s[i] = previous;
    }
    out.names.push_back(trace.functions[f]);
    out.series.push_back(std::move(s));
    out.first.push_back(t.first[f]);
    out.last.push_back(t.last[f]);
  }
  if (out.names.empty()) throw std::runtime_error("no function has a sample in the fleet window");
  return out;
}

// ---------------------------------------------------------------- the harness

struct SimHost {
  std::vector<size_t> tenants;
  bool active = true;
  bool accepting = true;  // false while a tenant moves off it (relief): not back onto it
};

// One active host as measured at a step, before relief moves anything.
struct Measured {
  size_t host = 0;
  double load = 0.0;            // the tenants' summed usage
  std::vector<size_t> tenants;  // kept only above capacity, where relief asks for them
};

std::vector<size_t> active_hosts(const std::vector<SimHost>& hosts) {
  std::vector<size_t> out;
  for (size_t h = 0; h < hosts.size(); ++h)
    if (hosts[h].active) out.push_back(h);
  return out;
}

// What the harness gives a scheduler to judge relief with (node/relief.h).
struct ReliefSetting {
  double capacity = 0, dt_s = 0, after_s = 0;
};

struct DecisionCounters {
  uint64_t requests = 0;  // placements asked for (arrivals and recycled instances)
  uint64_t admits = 0, accepted = 0, rejected = 0;
  uint64_t new_hosts = 0, forced = 0;
  uint64_t moved = 0;  // instances moved off a host above capacity (relief), each also a request
  nlohmann::json json() const {
    return {{"requests", requests}, {"admits", admits},       {"accepted", accepted}, {"rejected", rejected},
            {"new_hosts", new_hosts}, {"forced", forced}, {"moved", moved}};
  }
};

// One policy's decisions and learning. The harness owns hosts and events.
class Scheduler {
 public:
  explicit Scheduler(const std::vector<SimHost>& hosts) : hosts_(hosts) {}
  virtual ~Scheduler() = default;
  // An active host for the function's instance, which stays until stay_end (a step,
  // exclusive), or kNone: open a new host.
  virtual size_t choose(size_t fn, size_t step, size_t stay_end) = 0;
  virtual void opened(size_t /*host*/, size_t /*step*/) {}
  // On a host opened for it: would it have admitted the function? (false: forced there)
  virtual bool admitted_on_new(size_t /*fn*/, size_t /*host*/, size_t /*step*/) { return true; }
  virtual void joined(size_t /*fn*/, size_t /*host*/, size_t /*step*/, size_t /*stay_end*/) {}
  virtual void left(size_t /*fn*/, size_t /*host*/, size_t /*step*/) {}
  virtual void retired(size_t /*host*/, size_t /*step*/) {}
  virtual void observed(size_t /*step*/) {}  // every active host's usage at `step` is in
  // With relief on, after each step, per active host: the tenant to move, or nothing.
  // Scheduler-side rules judge what the host measured (`total`, and `usage()` while
  // above capacity) with the node core's relief rule; antiphase asks the host's own
  // node core.
  using UsageOf = std::function<std::vector<node::TenantUsage>()>;
  virtual std::optional<node::Relief> relief(size_t host, double total, const UsageOf& usage,
                                             const ReliefSetting& setting) {
    node::ReliefWatch& watch = watches_[host];
    watch.tick(total, setting.capacity, setting.dt_s, usage);
    return watch.relief(setting.after_s);
  }
  virtual nlohmann::json extra() const { return nlohmann::json::object(); }
  DecisionCounters counters;

 protected:
  const std::vector<SimHost>& hosts_;

 private:
  std::unordered_map<size_t, node::ReliefWatch> watches_;
};

struct DayStats {
  double host_steps = 0;
  size_t hosts_max = 0;
  size_t overloaded = 0;
  size_t unavoidable = 0;  // overloaded host-steps where one tenant alone was above capacity
  DecisionCounters decisions;
};

class Harness {
 public:
  Harness(const FleetTrace& t, const FleetOptions& o) : t_(t), o_(o), rng_(o.seed) {}

  std::vector<SimHost>& hosts() { return hosts_; }

  std::vector<DayStats> run(Scheduler& s) {
    const size_t n = t_.names.size();
    host_of_.assign(n, kNone);
    expiry_.assign(n, kNone);
    std::vector<std::vector<size_t>> arriving(t_.steps);
    for (size_t f = 0; f < n; ++f) arriving[t_.first[f]].push_back(f);
    std::vector<DayStats> days(t_.days());
    for (size_t i = 0; i < t_.steps; ++i) {
      DayStats& day = days[i / t_.steps_per_day()];
      const DecisionCounters before = s.counters;
      // Departures after the last sample, then instances at the end of their lifetime,
      // then arrivals; simultaneous requests in a seeded order.
      std::vector<size_t> requests;
      for (size_t f = 0; f < n; ++f) {
        if (host_of_[f] == kNone) continue;
        if (t_.last[f] < i) leave(s, f, i);
        else if (expiry_[f] <= i) {
          leave(s, f, i);
          requests.push_back(f);
        }
      }
      requests.insert(requests.end(), arriving[i].begin(), arriving[i].end());
      std::shuffle(requests.begin(), requests.end(), rng_);
      for (size_t f : requests) place(s, f, i);
      s.observed(i);
      std::vector<Measured> measured;
      for (size_t h = 0; h < hosts_.size(); ++h) {
        if (!hosts_[h].active) continue;
        Measured m{h, 0.0, {}};
        double largest = 0;
        for (size_t f : hosts_[h].tenants) {
          m.load += t_.series[f][i];
          largest = std::max<double>(largest, t_.series[f][i]);
        }
        if (m.load > o_.capacity) m.tenants = hosts_[h].tenants;  // ReliefWatch's test
        if (m.load > o_.capacity + 1e-9) {
          ++day.overloaded;
          if (largest > o_.capacity + 1e-9) ++day.unavoidable;
        }
        measured.push_back(std::move(m));
      }
      day.host_steps += static_cast<double>(measured.size());
      day.hosts_max = std::max(day.hosts_max, measured.size());
      if (o_.relieve) relieve(s, i, measured);
      add(day.decisions, s.counters, before);
    }
    return days;
  }

 private:
  static void add(DecisionCounters& into, const DecisionCounters& now, const DecisionCounters& before) {
    into.requests += now.requests - before.requests;
    into.admits += now.admits - before.admits;
    into.accepted += now.accepted - before.accepted;
    into.rejected += now.rejected - before.rejected;
    into.new_hosts += now.new_hosts - before.new_hosts;
    into.forced += now.forced - before.forced;
    into.moved += now.moved - before.moved;
  }

  size_t stay_end(size_t f, size_t i) {
    size_t end = t_.last[f] + 1;
    if (o_.instance_lifetime_s > 0) {
      const double life_steps = o_.instance_lifetime_s / static_cast<double>(t_.step_s);
      // First instances are staggered over one lifetime, so that a fleet that starts at
      // once does not recycle at once; later ones live a full lifetime.
      const double life = expiry_[f] == kNone ? std::uniform_real_distribution<double>(0.0, life_steps)(rng_) : life_steps;
      end = std::min(end, i + std::max<size_t>(1, static_cast<size_t>(std::llround(life))));
    }
    return end;
  }

  void place(Scheduler& s, size_t f, size_t i) {
    ++s.counters.requests;
    const size_t end = stay_end(f, i);
    size_t h = s.choose(f, i, end);
    if (h == kNone) {
      h = hosts_.size();
      hosts_.push_back({});
      ++s.counters.new_hosts;
      s.opened(h, i);
      if (!s.admitted_on_new(f, h, i)) ++s.counters.forced;
    }
    hosts_[h].tenants.push_back(f);
    host_of_[f] = h;
    expiry_[f] = end <= t_.last[f] ? end : kNone - 1;  // kNone - 1: lives to its last sample
    s.joined(f, h, i, end);
  }

  // A platform that moves a tenant off a host its node names as overloaded: the
  // instance leaves and is placed again (anywhere but there), from the next step on.
  // Every host is judged on what was measured on it this step, before any move (as
  // antiphase's hosts judge what their node core observed): a tenant moved onto a host
  // in this pass counts there from the next step, like any arrival.
  void relieve(Scheduler& s, size_t i, const std::vector<Measured>& measured) {
    const ReliefSetting setting{o_.capacity, static_cast<double>(t_.step_s), o_.node.relief_after_s};
    for (const Measured& m : measured) {
      const std::optional<node::Relief> r = s.relief(m.host, m.load, [&] {
        std::vector<node::TenantUsage> usage;
        for (size_t f : m.tenants) usage.push_back({t_.names[f], t_.series[f][i]});
        return usage;
      }, setting);
      if (!r) continue;
      const auto& tenants = hosts_[m.host].tenants;
      const auto it = std::find_if(tenants.begin(), tenants.end(), [&](size_t f) { return t_.names[f] == r->function; });
      if (it == tenants.end()) continue;  // a name the host does not hold: nothing to move
      const size_t f = *it;
      hosts_[m.host].accepting = false;
      leave(s, f, i);
      place(s, f, i);
      hosts_[m.host].accepting = true;
      ++s.counters.moved;
    }
  }

  void leave(Scheduler& s, size_t f, size_t i) {
    const size_t h = host_of_[f];
    auto& tenants = hosts_[h].tenants;
    tenants.erase(std::find(tenants.begin(), tenants.end(), f));
    host_of_[f] = kNone;
    s.left(f, h, i);
    if (tenants.empty()) {
      hosts_[h].active = false;
      s.retired(h, i);
    }
  }

  const FleetTrace& t_;
  const FleetOptions& o_;
  std::mt19937_64 rng_;
  std::vector<SimHost> hosts_;
  std::vector<size_t> host_of_, expiry_;
};

// ---------------------------------------------------------------- antiphase: node cores + gossip

// With function homes a host keeps a summary it read for a decision for interest_s after
// the last read, refreshing it when read again after interest_refresh_s (10 minutes and
// a minute at the defaults), so a daemon decides on a copy at most minutes old. On the
// compressed gossip clock (one probe interval per trace step, 300 trace seconds a
// second) those timers would keep a copy 50 trace hours and decisions would read
// summaries hours old (the day-and-night test fleet, seeds 1-6: 4.31 hosts with one home
// against 4.13 with every summary everywhere; 4.10 with the timers below). So they are
// counted in trace seconds, as the publisher's intervals are; with --gossip-speed the
// daemons' clocks are compressed alike and the protocol runs as they do.
// Trace seconds per gossip-clock second: one probe interval per trace step unless a
// replay speed is given (the real-process comparison runs the daemons at that speed).
double gossip_clock_speed(const FleetOptions& o, int64_t step_s) {
  return o.gossip_speed > 0 ? o.gossip_speed : static_cast<double>(step_s) / o.gossip_interval_s;
}

gossip::ProtocolConfig protocol_on_the_gossip_clock(const FleetOptions& o, double speed) {
  gossip::ProtocolConfig p = o.gossip;
  if (o.gossip_speed > 0) return p;
  p.interest_s /= speed;
  p.interest_refresh_s /= speed;
  return p;
}

class AntiphaseScheduler : public Scheduler {
  struct Host {
    Host(const node::NodeConfig& c, const std::string& id, const std::string& endpoint,
         const gossip::ProtocolConfig& g, std::vector<gossip::Seed> seeds, uint64_t rng_seed,
         const node::PublisherConfig& p)
        : core(c, id, endpoint), gossip(g, gossip::Identity{id, endpoint, "", 1}, std::move(seeds), rng_seed),
          publisher(p) {}
    node::NodeCore core;
    gossip::Protocol gossip;
    node::Publisher publisher;
  };

 public:
  AntiphaseScheduler(const std::vector<SimHost>& hosts, const FleetTrace& t, const FleetOptions& o)
      : Scheduler(hosts), t_(t), o_(o), node_(o.node), rng_(o.seed ^ 0x9e3779b97f4a7c15ull) {
    node_.capacity_cores = o.capacity;
    node_.memory.guard.mode = admission::CommittedMemoryMode::Off;  // CPU traces carry no memory
    speed_ = gossip_clock_speed(o, t.step_s);
    gossip_ = protocol_on_the_gossip_clock(o, speed_);
  }

  size_t choose(size_t fn, size_t step, size_t) override {
    const std::vector<size_t> active = active_hosts(hosts_);
    if (active.empty()) return kNone;
    const double now = clock(step);
    const node::AdmitRequest request = request_for(fn);
    // A scheduler asks any node where the function fits...
    Host& entry = *hosts_of_[active[std::uniform_int_distribution<size_t>(0, active.size() - 1)(rng_)]];
    sync_peers(entry, now);
    hear_about(entry, request.function, now);
    const node::PlaceAnswer answer = entry.core.place(request, now);
    std::vector<size_t> options, refused, judged;
    for (const node::PlaceOption& o : answer.hosts) {
      const auto it = by_id_.find(o.node_id);
      if (it == by_id_.end()) continue;
      judged.push_back(it->second);
      if (!hosts_[it->second].active || !hosts_[it->second].accepting) continue;
      (o.decision.accept ? options : refused).push_back(it->second);
    }
    if (!o_.best_fit) {  // first fit: the oldest host
      std::sort(options.begin(), options.end());
      std::sort(refused.begin(), refused.end());
    }
    // Hosts the entry judged full are asked next, before a host is opened: the entry
    // judged them from their adverts, which can predate this step's departures, and a
    // host judges on its own, current view (the baselines' scheduler-side rules see
    // every host as it is now, so this is the same scheduler for every policy).
    options.insert(options.end(), refused.begin(), refused.end());
    // Hosts the entry could not judge (gossip has not brought it their advert yet, e.g.
    // in a burst of arrivals at start-up) are still the scheduler's: it asks them last,
    // oldest first, before it opens a new host.
    for (size_t h : active)
      if (hosts_[h].accepting && std::find(judged.begin(), judged.end(), h) == judged.end()) options.push_back(h);
    // ...then asks the chosen host itself, which judges on its own, fresher view.
    for (size_t h : options) {
      Host& target = *hosts_of_[h];
      hear_about(target, request.function, now);
      const node::Answer a = target.core.admit_and_reserve(request, now);
      ++counters.admits;
      if (a.ok() && a.decision.accept) {
        ++counters.accepted;
        count_accepted(a.decision);
        return h;
      }
      ++counters.rejected;
    }
    return kNone;
  }

  void opened(size_t h, size_t step) override {
    const std::string id = "host-" + std::to_string(h);
    std::vector<gossip::Seed> seeds;
    for (size_t other : active_hosts(hosts_))
      if (other != h && seeds.size() < 3) seeds.push_back({endpoint_of(other), ""});
    if (hosts_of_.size() <= h) hosts_of_.resize(h + 1);
    hosts_of_[h] = std::make_unique<Host>(node_, id, endpoint_of(h), gossip_, seeds, o_.seed * 1000003 + h, o_.publisher);
    by_id_[id] = h;
    by_endpoint_[endpoint_of(h)] = h;
    // A real host's agent starts, joins the fleet (its first anti-entropy with a seed
    // brings every record, in as many pushes as they take: catch_up) and measures
    // (nothing) before the scheduler sends it work.
    deliver(hosts_of_[h]->gossip.tick(clock(step)), clock(step));
    if (!catch_up(*hosts_of_[h], clock(step))) ++joins_not_caught_up_;
    sync_peers(*hosts_of_[h], clock(step));
    node::Tick empty;
    empty.unix_ms = t_.time_of(step) * 1000;
    empty.dt_s = static_cast<double>(t_.step_s);
    hosts_of_[h]->core.observe(empty, clock(step));
  }

  bool admitted_on_new(size_t fn, size_t h, size_t step) override {
    hear_about(*hosts_of_[h], t_.names[fn], clock(step));
    const node::Answer a = hosts_of_[h]->core.admit_and_reserve(request_for(fn), clock(step));
    ++counters.admits;
    ++(a.ok() && a.decision.accept ? counters.accepted : counters.rejected);
    if (a.ok() && a.decision.accept) count_accepted(a.decision);
    return a.ok() && a.decision.accept;
  }

  // A daemon sees an instance gone at its next tick, a second later; this host's next
  // tick is a trace step away, so it is told now (else a recycled instance would be
  // judged on top of its own previous one).
  void left(size_t fn, size_t h, size_t) override { hosts_of_[h]->core.departed(t_.names[fn]); }

  // A retired host is never asked again (every path checks `active`), so what the run
  // reports of it is kept and the rest freed: each host's gossip state holds every
  // function's record, and keeping every host a long run opened made memory grow with
  // hosts opened × functions (9.4 GB for 1,446 functions, 2,076 hosts opened).
  void retired(size_t h, size_t step) override {
    deliver(hosts_of_[h]->gossip.leave(clock(step)), clock(step));
    newcomers_of_retired_.add(hosts_of_[h]->core.newcomers());
    hosts_of_[h].reset();
  }

  // The host's node core already observed this step (observed()): it judges itself.
  std::optional<node::Relief> relief(size_t h, double, const UsageOf&, const ReliefSetting&) override {
    return hosts_of_[h]->core.relief();
  }

  void observed(size_t step) override {
    const double now = clock(step);
    const std::vector<size_t> active = active_hosts(hosts_);
    for (size_t h : active) {
      Host& host = *hosts_of_[h];
      node::Tick tick;
      tick.unix_ms = t_.time_of(step) * 1000;
      tick.dt_s = static_cast<double>(t_.step_s);
      for (size_t f : hosts_[h].tenants) {
        node::FunctionTick& usage = tick.functions[t_.names[f]];
        usage.cores = t_.series[f][step];
        usage.instances = 1;  // the trace has CPU only: memory stays unmeasured
      }
      host.core.observe(tick, now, [&](const std::string& name) { return blob_of(host, name, now); });
      // (Peers are synced before a host places, not here as the daemon does every tick:
      // only place() reads them, and the latest advert is the same either way. Most
      // adverts are replaced before anyone places, so decoding each cost a tenth of the run.)
      const node::Publication due = host.publisher.due(
          host.core, publisher_clock(step), [&](const std::string& name) { return host.gossip.state().function(name) != nullptr; },
          host.gossip.caught_up());
      published_.count(due);
      if (due.advert) host.gossip.set_node_state({host.core.capacity_cores(), *due.advert}, now);
      for (const auto& [name, blob] : due.functions) host.gossip.publish_function(name, blob, now);
    }
    published_.host_hours += static_cast<double>(active.size() * t_.step_s) / 3600.0;
    run_gossip_until(now);
  }

  nlohmann::json extra() const override {
    return {{"gossip_messages", messages_}, {"gossip_clock_speed", speed_}, {"joins_not_caught_up", joins_not_caught_up_},
            {"accepted_sized_by", sized_by_},
            {"accepted_because_peaks_fit", by_peaks_}, {"published", published_.json()}, {"newcomers", newcomers_json()}};
  }

 private:
  // How far the hosts had learned what unmeasured functions use per core requested
  // (node::NewcomerSizing), over every host the run opened.
  struct NewcomerTally {
    size_t hosts = 0, scaling = 0, samples = 0;
    double factor_sum = 0;
    void add(const node::NewcomerSizing& n) {
      ++hosts;
      samples += n.samples();
      scaling += n.factor() > 1.0;
      factor_sum += n.factor();
    }
  };
  nlohmann::json newcomers_json() const {
    NewcomerTally t = newcomers_of_retired_;
    for (const auto& h : hosts_of_)
      if (h) t.add(h->core.newcomers());
    return {{"hosts", t.hosts}, {"hosts_scaling_requests", t.scaling},
            {"samples_mean", t.hosts ? double(t.samples) / t.hosts : 0.0},
            {"factor_mean", t.hosts ? t.factor_sum / t.hosts : 1.0}};
  }
  // Where each accepted candidate's size came from ("learned here", "gossiped summary",
  // "requested peak": the declared stand-in), so a run shows how much it sized blind.
  void count_accepted(const admission::Decision& d) {
    ++sized_by_[d.sizing.substr(0, d.sizing.find_first_of("(0123456789"))];
    by_peaks_ += d.accepted_because_peaks_fit;
  }
  double clock(size_t step) const { return static_cast<double>(t_.time_of(step) - t_.start_s) / speed_; }
  // The publisher's intervals are an agent's wall-clock seconds. With one gossip round
  // per trace step the gossip clock is compressed (a step of 300 s is one 1 s round),
  // and 30 s on it would be 2.5 trace hours: adverts far staler than any agent's. So the
  // publisher runs on trace time there; at a given replay speed (the real-process
  // comparison) it runs on the daemons' clock, as they do.
  double publisher_clock(size_t step) const {
    return o_.gossip_speed > 0 ? clock(step) : static_cast<double>(t_.time_of(step) - t_.start_s);
  }
  static std::string endpoint_of(size_t h) { return "sim://host-" + std::to_string(h); }

  node::AdmitRequest request_for(size_t fn) const {
    node::AdmitRequest r;
    r.function = t_.names[fn];
    r.peak_cores = o_.declared_cores;  // used only while nobody has measured it
    return r;
  }

  // What the daemon's gossip bridge does each tick and before a decision.
  static void sync_peers(Host& host, double now) {
    const gossip::Changes changes = host.gossip.take_changes();
    node::apply_peer_changes(host.core, changes.nodes, [&](const std::string& id) {
      std::optional<node::PeerUpdate> update;
      if (const auto p = host.gossip.peer(id, now))
        update = node::PeerUpdate{id, p->endpoint, p->state == gossip::PeerState::Alive, p->host_summary};
      return update;
    });
  }
  // What the daemon's gossip bridge does before a decision (fetch_if_unheard, then
  // function_blob): with function homes a host lacking the candidate's summary pulls it
  // from a home; the fleet's timers run up to now, the pull among them, and the answer
  // arrives within the exchange (the daemon waits up to 50 ms for it). Without homes
  // every host holds every summary and want_function does nothing.
  void hear_about(Host& host, const std::string& function, double now) {
    if (host.gossip.homed() && !host.gossip.state().function(function) && host.gossip.want_function(function, now))
      run_gossip_until(now);
    host.core.hear_gossiped(function, [&](const std::string& name) { return blob_of(host, name, now); });
  }
  // function_blob: a function looked up stays of interest to this host (with homes).
  static std::optional<std::string> blob_of(Host& host, const std::string& function, double now) {
    host.gossip.want_function(function, now);
    return host.gossip.function_summary(function);
  }

  // A daemon that joins has caught up with the fleet's records (gossip::Protocol::caught_up)
  // within a second, before a scheduler sends it work: what one push does not carry (about
  // 3,000 summaries) it pulls again a retry interval (0.4 s) later. On the compressed
  // gossip clock that second would be a trace step or two in which the new host decides on
  // and starts functions without their records (at ten times Bitbrains' functions, 4 days,
  // seed 1: 288 more instances admitted as unknown, at their requested size, than with
  // the catch-up). So the joiner's own timers run here until it has caught up;
  // the members it asks answer at its clock (they only reply to pulls and probes).
  bool catch_up(Host& host, double now) {
    constexpr double kWithinS = 2;  // a daemon's seconds: several retry intervals
    for (double at = now; !host.gossip.caught_up();) {
      at = std::max(at + 1e-6, host.gossip.next_deadline());
      if (at > now + kWithinS) return false;
      deliver(host.gossip.tick(at), at);
    }
    return true;
  }

  // Every host's protocol timers that fall due up to `now`, earliest first, as each
  // agent's loop runs them at its next_deadline().
  void run_gossip_until(double now) {
    for (;;) {
      size_t due = kNone;
      double earliest = now;
      for (size_t h : active_hosts(hosts_)) {
        const double at = std::max(hosts_of_[h]->gossip.next_deadline(), gossip_clock_);
        if (at <= earliest) earliest = at, due = h;
      }
      if (due == kNone) break;
      gossip_clock_ = earliest;
      gossip::Protocol& protocol = hosts_of_[due]->gossip;
      std::vector<gossip::Outgoing> out = protocol.tick(earliest);
      // (Answers delivered below may set a timer at `earliest` again; a tick alone must not.)
      if (protocol.next_deadline() <= earliest)  // would spin forever: a protocol bug, say so
        throw std::logic_error("gossip: next_deadline() did not advance past a tick at " + std::to_string(earliest) +
                               " (" + protocol.timers() + ")");
      deliver(std::move(out), earliest);
    }
    gossip_clock_ = now;
  }

  // Synchronous delivery (no loss, no delay within a round): each message and every
  // answer it causes, until the exchange is done.
  void deliver(std::vector<gossip::Outgoing> out, double now) {
    std::deque<gossip::Outgoing> queue(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
    while (!queue.empty()) {
      gossip::Outgoing m = std::move(queue.front());
      queue.pop_front();
      ++messages_;
      const auto it = by_endpoint_.find(m.endpoint);
      if (it == by_endpoint_.end() || !hosts_[it->second].active) continue;
      for (auto& reply : hosts_of_[it->second]->gossip.handle(m.message, /*authenticated_key=*/"", now)) queue.push_back(std::move(reply));
    }
  }

  const FleetTrace& t_;
  const FleetOptions& o_;
  node::NodeConfig node_;
  std::mt19937_64 rng_;
  double speed_ = 1;
  gossip::ProtocolConfig gossip_;
  double gossip_clock_ = 0;
  std::map<std::string, uint64_t> sized_by_;
  uint64_t by_peaks_ = 0;
  uint64_t messages_ = 0;
  uint64_t joins_not_caught_up_ = 0;  // hosts that had not caught up when first asked (catch_up)
  // What the hosts' publishers sent over the whole run: the gossip simulator's workload
  // (docs/benchmarks/gossip.md) takes its advert size and rate from these.
  struct Published {
    uint64_t adverts = 0, advert_bytes = 0, summaries = 0, summary_bytes = 0;
    double host_hours = 0;
    void count(const node::Publication& due) {
      if (due.advert) ++adverts, advert_bytes += due.advert->size();
      for (const auto& [name, blob] : due.functions) ++summaries, summary_bytes += blob.size();
    }
    nlohmann::json json() const {
      const auto per = [](double n, double d) { return d > 0 ? n / d : 0.0; };
      return {{"adverts_per_host_hour", per(adverts, host_hours)}, {"advert_bytes_mean", per(advert_bytes, adverts)},
              {"summaries_per_host_hour", per(summaries, host_hours)}, {"summary_bytes_mean", per(summary_bytes, summaries)}};
    }
  } published_;
  std::vector<std::unique_ptr<Host>> hosts_of_;  // null once retired
  NewcomerTally newcomers_of_retired_;
  std::unordered_map<std::string, size_t> by_id_, by_endpoint_;
};

// ---------------------------------------------------------------- scheduler-side rules and the oracle

// Oracle knows each instance's usage until it leaves, step by step; OraclePeaks only how
// high it will go in that time, not when — packing by peaks with perfect foresight, which
// splits the oracle's lead into knowing the size and knowing the timing.
// RecentPeak sizes a function by its peak over the last `knob` hours only (a moving-window
// limit, as autoscalers recommend), forgetting older bursts.
enum class Rule { PeakSum, PercentileSum, SlotPercentileSum, RecentPeak, Oracle, OraclePeaks };

class RuleScheduler : public Scheduler {
 public:
  RuleScheduler(const std::vector<SimHost>& hosts, const FleetTrace& t, const FleetOptions& o, Rule rule, double knob)
      : Scheduler(hosts), t_(t), o_(o), rule_(rule), q_(knob / 100.0),
        window_steps_(static_cast<size_t>(std::clamp(knob * 3600 / static_cast<double>(t.step_s), 1.0, 1e15))),
        dims_(rule == Rule::SlotPercentileSum ? kSlots : 1) {
    size_.assign(t.names.size(), std::vector<double>(dims_, o.declared_cores));
    history_.resize(t.names.size());
  }

  size_t choose(size_t fn, size_t step, size_t stay_end) override {
    if (learns()) refresh(fn, step);
    if (rule_ == Rule::OraclePeaks) size_[fn][0] = future_peak(fn, step, stay_end);
    size_t best = kNone;
    double best_room = INFINITY;
    for (size_t h : active_hosts(hosts_)) {
      if (!hosts_[h].accepting) continue;
      const double room = room_left(h, fn, step, stay_end);
      ++counters.admits;
      if (room < -1e-9) {
        ++counters.rejected;
        continue;
      }
      ++counters.accepted;
      if (!o_.best_fit) return h;
      if (room < best_room) best_room = room, best = h;
    }
    return best;
  }

  void joined(size_t fn, size_t h, size_t step, size_t stay_end) override {
    if (rule_ == Rule::OraclePeaks) size_[fn][0] = future_peak(fn, step, stay_end);
    if (rule_ != Rule::Oracle) {
      auto& total = totals_[h];
      if (total.empty()) total.assign(dims_, 0.0);
      for (size_t d = 0; d < dims_; ++d) total[d] += size_[fn][d];
      return;
    }
    auto& future = future_[h];
    if (future.empty()) future.assign(t_.steps, 0.0);
    for (size_t i = step; i < stay_end; ++i) future[i] += t_.series[fn][i];
    stay_[fn] = {step, stay_end};
  }
  void left(size_t fn, size_t h, size_t) override {
    if (rule_ != Rule::Oracle) {
      for (size_t d = 0; d < dims_; ++d) totals_[h][d] -= size_[fn][d];
      return;
    }
    const auto [from, to] = stay_[fn];
    for (size_t i = from; i < to; ++i) future_[h][i] -= t_.series[fn][i];
  }
  void observed(size_t step) override {
    // Sizes of running tenants follow what has been measured, at every step: a
    // scheduler-side rule sees the usage its hosts measure when antiphase's node cores do
    // (until session 32 once a day, so a tenant's new peak counted only from midnight).
    if (!learns()) return;
    for (size_t h : active_hosts(hosts_)) {
      std::vector<double>& total = totals_[h];
      total.assign(dims_, 0.0);
      for (size_t f : hosts_[h].tenants) {
        refresh(f, step + 1);
        for (size_t d = 0; d < dims_; ++d) total[d] += size_[f][d];
      }
    }
  }

 private:
  static constexpr size_t kSlots = 96;

  // A function's usage so far, kept sorted (overall and per slot of the day), so a size
  // is read at every step without sorting its whole history again.
  struct History {
    size_t seen_to = 0;  // steps before this are in
    std::vector<double> all;
    std::vector<std::vector<double>> by_slot;
  };

  bool learns() const { return rule_ != Rule::Oracle && rule_ != Rule::OraclePeaks; }

  double future_peak(size_t fn, size_t step, size_t stay_end) const {
    double peak = 0;
    for (size_t i = step; i < stay_end; ++i) peak = std::max<double>(peak, t_.series[fn][i]);
    return peak;
  }

  static void insert_sorted(std::vector<double>& v, double x) { v.insert(std::upper_bound(v.begin(), v.end(), x), x); }

  // The function's size from its usage observed before `step` (declared if none yet), and
  // any it was already seen to use since: a tenant moved off an overloaded host keeps the
  // sample that moved it.
  void refresh(size_t fn, size_t step) {
    const size_t from = t_.first[fn], to = std::min(step, t_.last[fn] + 1);
    if (to <= from) return;
    const std::vector<float>& s = t_.series[fn];
    History& h = history_[fn];
    if (rule_ == Rule::RecentPeak) {
      h.seen_to = std::max(h.seen_to, to);
      const size_t end = h.seen_to, begin = std::max(from, end - std::min(end, window_steps_));
      size_[fn][0] = *std::max_element(s.begin() + static_cast<ptrdiff_t>(begin), s.begin() + static_cast<ptrdiff_t>(end));
      return;
    }
    const bool slots = rule_ == Rule::SlotPercentileSum;
    if (slots && h.by_slot.empty()) h.by_slot.resize(kSlots);
    const size_t per_slot = std::max<size_t>(1, t_.steps_per_day() / kSlots);
    for (size_t i = std::max(from, h.seen_to); i < to; ++i) {
      insert_sorted(h.all, s[i]);
      if (slots) insert_sorted(h.by_slot[(i % t_.steps_per_day()) / per_slot], s[i]);
    }
    h.seen_to = std::max(h.seen_to, to);
    const double overall = quantile_of_sorted(h.all, rule_ == Rule::PeakSum ? 1.0 : q_);
    if (!slots) {
      size_[fn][0] = overall;
      return;
    }
    for (size_t w = 0; w < kSlots; ++w) size_[fn][w] = h.by_slot[w].empty() ? overall : quantile_of_sorted(h.by_slot[w], q_);
  }

  double room_left(size_t h, size_t fn, size_t step, size_t stay_end) const {
    if (rule_ == Rule::Oracle) {
      const auto it = future_.find(h);
      double worst = -INFINITY;
      for (size_t i = step; i < stay_end; ++i)
        worst = std::max(worst, (it == future_.end() ? 0.0 : it->second[i]) + t_.series[fn][i]);
      return o_.capacity - worst;
    }
    const auto it = totals_.find(h);
    double worst = -INFINITY;
    for (size_t d = 0; d < dims_; ++d) worst = std::max(worst, (it == totals_.end() ? 0.0 : it->second[d]) + size_[fn][d]);
    return o_.capacity - worst;
  }

  const FleetTrace& t_;
  const FleetOptions& o_;
  Rule rule_;
  double q_;             // percentile rules: the quantile
  size_t window_steps_;  // RecentPeak: the window
  size_t dims_;
  std::vector<std::vector<double>> size_;
  std::vector<History> history_;
  std::unordered_map<size_t, std::vector<double>> totals_;        // rules: per host, sizes as of their last refresh
  std::unordered_map<size_t, std::vector<double>> future_;        // oracle: per host (double: it packs to the last 1e-9 core)
  std::unordered_map<size_t, std::pair<size_t, size_t>> stay_;    // oracle: per function
};

// ---------------------------------------------------------------- report

struct PolicyRun {
  FleetPolicySpec spec;
  std::vector<DayStats> days;
  DecisionCounters total;
  nlohmann::json extra;
  double seconds = 0;
};

struct Summary {
  double hosts_mean = 0;
  size_t hosts_max = 0;
  double overload_rate = 0;
  size_t overloaded = 0;
  size_t unavoidable = 0;
  double host_steps = 0;
};

Summary summarise(const std::vector<DayStats>& days, size_t from, size_t to, size_t steps_per_day) {
  Summary s;
  size_t steps = 0;
  for (size_t d = from; d < to && d < days.size(); ++d) {
    s.host_steps += days[d].host_steps;
    s.overloaded += days[d].overloaded;
    s.unavoidable += days[d].unavoidable;
    s.hosts_max = std::max(s.hosts_max, days[d].hosts_max);
    steps += steps_per_day;
  }
  s.hosts_mean = steps ? s.host_steps / static_cast<double>(steps) : 0;
  s.overload_rate = s.host_steps > 0 ? static_cast<double>(s.overloaded) / s.host_steps : 0;
  return s;
}

nlohmann::json summary_json(const Summary& s) {
  return {{"hosts_mean", s.hosts_mean}, {"hosts_max", s.hosts_max}, {"overload_rate", s.overload_rate},
          {"overloaded_host_steps", s.overloaded}, {"unavoidable_overloaded_host_steps", s.unavoidable},
          {"host_steps", s.host_steps}};
}

std::string path_of(const std::string& policy) {
  if (policy == "antiphase") return "node-core (what antiphased runs), gossip through common/gossip in memory";
  if (policy == "oracle") return "replay-only bound (sees each function's future)";
  if (policy == "oracle-peaks") return "replay-only bound (sees how high each function will go, not when)";
  return "scheduler-side rule on usage measured so far";
}

std::unique_ptr<Scheduler> make_scheduler(const FleetPolicySpec& p, const std::vector<SimHost>& hosts,
                                          const FleetTrace& t, const FleetOptions& o) {
  if (p.name == "antiphase") return std::make_unique<AntiphaseScheduler>(hosts, t, o);
  if (p.name == "peak-sum") return std::make_unique<RuleScheduler>(hosts, t, o, Rule::PeakSum, 100);
  if (p.name == "pXX-sum") return std::make_unique<RuleScheduler>(hosts, t, o, Rule::PercentileSum, p.knob);
  if (p.name == "slot-pXX-sum") return std::make_unique<RuleScheduler>(hosts, t, o, Rule::SlotPercentileSum, p.knob);
  if (p.name == "recent-peak") return std::make_unique<RuleScheduler>(hosts, t, o, Rule::RecentPeak, p.knob);
  if (p.name == "oracle") return std::make_unique<RuleScheduler>(hosts, t, o, Rule::Oracle, 100);
  if (p.name == "oracle-peaks") return std::make_unique<RuleScheduler>(hosts, t, o, Rule::OraclePeaks, 100);
  throw std::runtime_error("unknown fleet policy " + p.name);
}

std::string label(const FleetPolicySpec& p) {
  if (p.name == "pXX-sum" || p.name == "slot-pXX-sum" || p.name == "recent-peak") {
    std::ostringstream os;
    os << p.name << ":" << p.knob;
    return os.str();
  }
  return p.name;
}

}  // namespace

std::optional<std::vector<FleetPolicySpec>> parse_fleet_policies(const std::string& list) {
  std::vector<FleetPolicySpec> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    FleetPolicySpec p;
    const size_t colon = item.find(':');
    p.name = item.substr(0, colon);
    if (colon != std::string::npos) {
      try {
        p.knob = std::stod(item.substr(colon + 1));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
    const bool percentile = p.name == "pXX-sum" || p.name == "slot-pXX-sum";
    const bool window = p.name == "recent-peak";  // knob: hours
    if (colon == std::string::npos) p.knob = percentile ? 95 : window ? 24 : 0;
    if (percentile && !(p.knob > 0 && p.knob <= 100)) return std::nullopt;
    if (window && !(p.knob > 0 && std::isfinite(p.knob))) return std::nullopt;
    if (!percentile && !window && colon != std::string::npos) return std::nullopt;
    const bool plain = p.name == "antiphase" || p.name == "peak-sum" || p.name == "oracle" || p.name == "oracle-peaks";
    if (!percentile && !window && !plain) return std::nullopt;
    out.push_back(p);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

namespace {

// A function that alone uses more than a host's capacity overloads whichever host takes
// it, under every policy (the oracle too): say so beside the table, which counts those
// host-steps in overload% (unavoidable_overloaded_host_steps in the JSON). Usually a
// unit mismatch (percent for cores) or a --capacity below the trace's largest machine.
std::string oversized_note(const FleetTrace& t, double capacity) {
  size_t oversized = 0, largest = kNone;
  float largest_cores = 0;
  for (size_t f = 0; f < t.series.size(); ++f) {
    const float peak = t.series[f].empty() ? 0.0f : *std::max_element(t.series[f].begin(), t.series[f].end());
    if (peak <= capacity + 1e-9) continue;
    ++oversized;
    if (peak > largest_cores) largest_cores = peak, largest = f;
  }
  if (oversized == 0) return {};
  char line[320];
  std::snprintf(line, sizeof line,
                "note: %zu function(s) alone use more than a host's %g cores (largest: %s at %.3g cores); the host-steps "
                "they overload are unavoidable for every policy and counted in overload%% "
                "(unavoidable_overloaded_host_steps in the JSON)\n",
                oversized, capacity, t.names[largest].substr(0, 64).c_str(), static_cast<double>(largest_cores));
  return line;
}

// The simulated agents' clock moves a trace step divided by the gossip speed per step,
// and a node core ticked less often than admission.stale_after refuses every decision as
// blind (rightly: a daemon does too). A run like that would print a host per function,
// which reads as a result; say what to change instead.
void check_agent_clock(int64_t step_s, const FleetOptions& o) {
  const bool runs_node_cores = std::any_of(o.policies.begin(), o.policies.end(),
                                           [](const FleetPolicySpec& p) { return p.name == "antiphase"; });
  const double speed = gossip_clock_speed(o, step_s);
  const double tick_gap_s = static_cast<double>(step_s) / speed;
  const double stale_after_s = o.node.policy.max_telemetry_age_s;
  if (!runs_node_cores || tick_gap_s <= stale_after_s) return;
  char cause[96];
  if (o.gossip_speed > 0)
    std::snprintf(cause, sizeof cause, "--gossip-speed %g", o.gossip_speed);
  else
    std::snprintf(cause, sizeof cause, "one gossip.interval of %g s per step", o.gossip_interval_s);
  char text[512];
  std::snprintf(text, sizeof text,
                "each %lld s trace step is %.0f s on the simulated agents' clock (%s), beyond "
                "admission.stale_after (%.0f s): every host would refuse to decide on telemetry that old; give "
                "--gossip-speed %g or more",
                static_cast<long long>(step_s), tick_gap_s, cause, stale_after_s,
                std::ceil(static_cast<double>(step_s) / stale_after_s));
  throw std::runtime_error(text);
}

}  // namespace

FleetResult run_fleet(const Trace& trace, int64_t step_s, const FleetOptions& o) {
  if (!(o.capacity > 0)) throw std::runtime_error("--capacity must be positive");
  if (!(o.declared_cores >= 0)) throw std::runtime_error("--declared-cores must not be negative");
  if (o.warmup_days < 0) throw std::runtime_error("--warmup-days must not be negative");
  const FleetTrace t = fleet_trace(trace, step_s, o.days);
  const size_t days = t.days();
  // A short held-out trace must not print a judged row of zeros that reads as "no hosts, no overload".
  if (static_cast<size_t>(o.warmup_days) >= days)
    throw std::runtime_error("the trace spans " + std::to_string(days) + " day(s), all of them inside the " +
                             std::to_string(o.warmup_days) +
                             " warm-up days: nothing would be judged; give --warmup-days below " +
                             std::to_string(days) + " (0 judges every day)");
  check_agent_clock(step_s, o);
  std::vector<PolicyRun> runs;
  for (const FleetPolicySpec& spec : o.policies) {
    const auto t0 = std::chrono::steady_clock::now();
    Harness harness(t, o);
    const std::unique_ptr<Scheduler> s = make_scheduler(spec, harness.hosts(), t, o);
    PolicyRun r;
    r.spec = spec;
    r.days = harness.run(*s);
    r.total = s->counters;
    r.extra = s->extra();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    runs.push_back(std::move(r));
  }

  FleetResult result;
  nlohmann::json& j = result.json;
  const size_t spd = t.steps_per_day();
  const size_t warm = static_cast<size_t>(o.warmup_days);
  j["mode"] = "fleet";
  j["functions"] = t.names.size();
  j["days"] = days;
  j["step_s"] = t.step_s;
  j["capacity_cores"] = o.capacity;
  j["seed"] = o.seed;
  j["fit"] = o.best_fit ? "best" : "first";
  j["declared_cores"] = o.declared_cores;
  j["instance_lifetime_s"] = o.instance_lifetime_s;
  j["relieve_after_s"] = o.relieve ? nlohmann::json(o.node.relief_after_s) : nlohmann::json(nullptr);
  j["warmup_days"] = warm;
  j["policies"] = nlohmann::json::array();
  std::ostringstream text;
  char line[256];
  std::snprintf(line, sizeof line,
                "fleet: %zu functions, %zu days, %g-core hosts, declared %g cores, lifetime %s, %s-fit, seed %llu, relief %s\n",
                t.names.size(), static_cast<size_t>(j["days"]), o.capacity, o.declared_cores,
                o.instance_lifetime_s > 0 ? (std::to_string(o.instance_lifetime_s / 3600.0) + " h").c_str() : "whole trace",
                o.best_fit ? "best" : "first", static_cast<unsigned long long>(o.seed),
                o.relieve ? ("after " + std::to_string(static_cast<long>(o.node.relief_after_s)) + " s").c_str() : "off");
  text << line;
  std::snprintf(line, sizeof line, "%-18s %12s %10s %12s | %12s %12s %10s %7s %8s\n", "policy", "hosts(mean)", "hosts(max)",
                "overload%", "warm hosts", "warm over%", "requests", "moved", "time s");
  text << line;
  for (const PolicyRun& r : runs) {
    const Summary judged = summarise(r.days, warm, r.days.size(), spd);
    const Summary warmup = summarise(r.days, 0, warm, spd);
    nlohmann::json days = nlohmann::json::array();
    for (size_t d = 0; d < r.days.size(); ++d) {
      const DayStats& s = r.days[d];
      days.push_back({{"day", d + 1},
                      {"hosts_mean", s.host_steps / static_cast<double>(spd)},
                      {"hosts_max", s.hosts_max},
                      {"overloaded_host_steps", s.overloaded},
                      {"unavoidable_overloaded_host_steps", s.unavoidable},
                      {"overload_rate", s.host_steps > 0 ? static_cast<double>(s.overloaded) / s.host_steps : 0.0},
                      {"decisions", s.decisions.json()}});
    }
    nlohmann::json p = summary_json(judged);
    p["policy"] = label(r.spec);
    p["path"] = path_of(r.spec.name);
    p["warmup"] = summary_json(warmup);
    p["decisions"] = r.total.json();
    p["days"] = days;
    p["seconds"] = r.seconds;
    p["extra"] = r.extra;
    j["policies"].push_back(p);
    std::snprintf(line, sizeof line, "%-18s %12.1f %10zu %12.4f | %12.1f %12.4f %10llu %7llu %8.1f\n", label(r.spec).c_str(),
                  judged.hosts_mean, judged.hosts_max, 100 * judged.overload_rate, warmup.hosts_mean,
                  100 * warmup.overload_rate, static_cast<unsigned long long>(r.total.requests),
                  static_cast<unsigned long long>(r.total.moved), r.seconds);
    text << line;
  }
  text << oversized_note(t, o.capacity);
  result.text = text.str();
  return result;
}

}  // namespace antiphase::replay
