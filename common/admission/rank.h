#pragma once
// Orders options by fit. One code path serves both questions the agent answers:
// "which of these candidates fits this host best?" and "which of these (peer) hosts
// fits this candidate best?" — a host summary is just capacity + aggregate profile.
#include <string>
#include <vector>

#include "common/admission/policy.h"

namespace antiphase::admission {

enum class FitOrder {
  Tightest,      // least headroom left first (best-fit: fills hosts, fewer hosts used)
  MostHeadroom,  // most headroom left first (worst-fit: spreads load, least risk)
};

struct Ranked {
  size_t index = 0;  // position in the caller's input
  Decision decision;
};

// Accepted options first, ordered by headroom per `order`; rejected ones last, least
// over the limit first. Ties keep input order, so rankings are reproducible.
std::vector<Ranked> rank_decisions(std::vector<Decision> decisions, FitOrder order = FitOrder::Tightest);

// Ranks candidates for one host.
std::vector<Ranked> rank_candidates(const AdmissionPolicy& policy, const HostView& host,
                                    const std::vector<Candidate>& candidates, double z,
                                    FitOrder order = FitOrder::Tightest);

// Ranks hosts (e.g. peers known from gossip) for one candidate.
std::vector<Ranked> rank_hosts(const AdmissionPolicy& policy, const std::vector<HostView>& hosts,
                               const Candidate& candidate, double z, FitOrder order = FitOrder::Tightest);

}  // namespace antiphase::admission
