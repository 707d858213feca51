#pragma once
// Chooses and builds the sampler the config asks for (auto: best available).
#include <memory>
#include <string>

#include "agent/features/feature_probe.h"
#include "agent/sampler/sampler.h"
#include "common/config/config.h"

namespace antiphase::agent {

struct SamplerSetup {
  std::unique_ptr<FeatureProbe> features;
  std::unique_ptr<Sampler> sampler;
  std::string reason;  // why this sampler (and why not the better ones)
};

// Throws std::runtime_error when a forced mode cannot work.
SamplerSetup make_configured_sampler(const config::Config& config);

}  // namespace antiphase::agent
