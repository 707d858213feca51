#include "common/admission/rank.h"

#include <algorithm>

namespace antiphase::admission {

std::vector<Ranked> rank_decisions(std::vector<Decision> decisions, FitOrder order) {
  std::vector<Ranked> ranked;
  ranked.reserve(decisions.size());
  for (size_t i = 0; i < decisions.size(); ++i) ranked.push_back({i, std::move(decisions[i])});
  std::stable_sort(ranked.begin(), ranked.end(), [order](const Ranked& a, const Ranked& b) {
    if (a.decision.accept != b.decision.accept) return a.decision.accept;
    if (!a.decision.accept) return a.decision.headroom_cores > b.decision.headroom_cores;
    return order == FitOrder::Tightest ? a.decision.headroom_cores < b.decision.headroom_cores
                                       : a.decision.headroom_cores > b.decision.headroom_cores;
  });
  return ranked;
}

std::vector<Ranked> rank_candidates(const AdmissionPolicy& policy, const HostView& host,
                                    const std::vector<Candidate>& candidates, double z, FitOrder order) {
  std::vector<Decision> decisions;
  decisions.reserve(candidates.size());
  for (const Candidate& c : candidates) decisions.push_back(policy.decide(host, c, z));
  return rank_decisions(std::move(decisions), order);
}

std::vector<Ranked> rank_hosts(const AdmissionPolicy& policy, const std::vector<HostView>& hosts,
                               const Candidate& candidate, double z, FitOrder order) {
  std::vector<Decision> decisions;
  decisions.reserve(hosts.size());
  for (const HostView& h : hosts) decisions.push_back(policy.decide(h, candidate, z));
  return rank_decisions(std::move(decisions), order);
}

}  // namespace antiphase::admission
