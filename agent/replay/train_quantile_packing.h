#pragma once
// Experimental reference policy: an oracle on the *training* window (see .cpp).
#include <memory>

#include "agent/replay/packing_policy.h"

namespace antiphase::replay {

// The measured training sum of host + candidate may exceed capacity on at most a
// fraction `allowed_fraction` of training steps.
std::unique_ptr<PackingPolicy> make_train_quantile_packing(const Workload& w, double allowed_fraction, double capacity);

}  // namespace antiphase::replay
