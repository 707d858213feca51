#include "agent/daemon/sampler_setup.h"

#include <stdexcept>

#include "agent/sampler/make_sampler.h"

namespace antiphase::agent {

SamplerSetup make_configured_sampler(const config::Config& config) {
  SamplerMode mode;
  if (!parse_sampler_mode(config.sampler.mode, mode))
    throw std::runtime_error("sampler.mode: unknown mode \"" + config.sampler.mode + "\"");
  SamplerSetup setup;
  setup.features = std::make_unique<FeatureProbe>();
  SamplerOptions options;
  options.mode = mode;
  options.perf_hz = config.sampler.perf_frequency_hz;
  options.max_cgroups = config.sampler.max_cgroups;
  setup.sampler = make_sampler(options, *setup.features, &setup.reason);
  return setup;
}

}  // namespace antiphase::agent
